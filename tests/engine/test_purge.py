"""PurgeQueue: deletes every message, at most once per queue every 60 seconds."""

from __future__ import annotations

from consumerkit.engine import Engine, ManualClock
from tests.engine.expect import fails

COUNTERS = [
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
]


async def counters(engine: Engine, url: str) -> tuple[int, ...]:
    attributes = await engine.get_queue_attributes(url, COUNTERS)
    return tuple(int(attributes[name]) for name in COUNTERS)


async def test_purge_deletes_visible_in_flight_and_delayed_messages(
    engine: Engine, queue: str, clock: ManualClock
) -> None:
    for body in ("a", "b", "c"):
        await engine.send_message(queue, body)
    await engine.send_message(queue, "delayed", delay_seconds=60)
    assert len(await engine.receive_message(queue, visibility_timeout=120)) == 1
    assert await counters(engine, queue) == (2, 1, 1)
    await engine.purge_queue(queue)
    assert await counters(engine, queue) == (0, 0, 0)
    clock.advance(900)  # neither the delayed nor the in-flight message comes back
    assert await counters(engine, queue) == (0, 0, 0)
    assert await engine.receive_message(queue, max_messages=10) == []


async def test_purge_empties_a_fifo_queue(engine: Engine, fifo: str, clock: ManualClock) -> None:
    await engine.send_message(fifo, "a", group_id="g")
    await engine.send_message(fifo, "b", group_id="g")
    await engine.send_message(fifo, "c", group_id="h")
    assert len(await engine.receive_message(fifo, visibility_timeout=120)) == 1
    await engine.purge_queue(fifo)
    clock.advance(200)
    assert await counters(engine, fifo) == (0, 0, 0)
    assert await engine.receive_message(fifo, max_messages=10) == []


async def test_second_purge_within_60_seconds_is_purge_queue_in_progress(
    engine: Engine, queue: str, clock: ManualClock
) -> None:
    await engine.purge_queue(queue)
    clock.advance(59)
    error = await fails(engine.purge_queue(queue))
    assert error.shape == "PurgeQueueInProgress"
    assert error.code == "AWS.SimpleQueueService.PurgeQueueInProgress"
    assert error.status == 403
    assert error.message == "Only one PurgeQueue operation on jobs is allowed every 60 seconds."


async def test_purge_is_allowed_again_after_60_seconds(engine: Engine, queue: str, clock: ManualClock) -> None:
    await engine.purge_queue(queue)
    clock.advance(60)
    await engine.send_message(queue, "x")
    await engine.purge_queue(queue)
    assert await counters(engine, queue) == (0, 0, 0)


async def test_rejected_purge_deletes_nothing(engine: Engine, queue: str, clock: ManualClock) -> None:
    await engine.purge_queue(queue)
    clock.advance(1)
    await engine.send_message(queue, "kept")
    await fails(engine.purge_queue(queue))
    assert [m.body for m in await engine.receive_message(queue)] == ["kept"]


async def test_rejected_purge_does_not_restart_the_60_seconds(engine: Engine, queue: str, clock: ManualClock) -> None:
    await engine.purge_queue(queue)
    clock.advance(30)
    await fails(engine.purge_queue(queue))
    clock.advance(30)
    await engine.purge_queue(queue)


async def test_purge_limit_is_per_queue(engine: Engine, queue: str) -> None:
    other = await engine.create_queue("other")
    await engine.send_message(other, "x")
    await engine.purge_queue(queue)
    await engine.purge_queue(other)
    assert await counters(engine, other) == (0, 0, 0)


async def test_messages_sent_after_purge_survive(engine: Engine, queue: str, clock: ManualClock) -> None:
    await engine.send_message(queue, "before")
    await engine.purge_queue(queue)
    await engine.send_message(queue, "after")
    clock.advance(1)
    await engine.send_message(queue, "later")
    assert await counters(engine, queue) == (2, 0, 0)
    received = await engine.receive_message(queue, max_messages=10)
    assert sorted(m.body for m in received) == ["after", "later"]


async def test_purge_leaves_other_queues_alone(engine: Engine, queue: str) -> None:
    other = await engine.create_queue("other")
    await engine.send_message(queue, "x")
    await engine.send_message(other, "y")
    await engine.purge_queue(queue)
    assert await counters(engine, other) == (1, 0, 0)


async def test_deleting_a_purged_message_by_its_old_handle_succeeds_silently(engine: Engine, queue: str) -> None:
    """SQS accepts any receipt handle it issued; the message is simply gone."""
    await engine.send_message(queue, "x")
    [message] = await engine.receive_message(queue)
    await engine.purge_queue(queue)
    await engine.delete_message(queue, message.receipt_handle)
    assert await counters(engine, queue) == (0, 0, 0)


async def test_purge_unknown_queue_is_queue_does_not_exist(engine: Engine) -> None:
    error = await fails(engine.purge_queue("http://localhost:9324/000000000000/nope"))
    assert error.shape == "QueueDoesNotExist"
