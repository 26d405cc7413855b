"""Retention: a message older than MessageRetentionPeriod is gone — never received, never counted."""

from __future__ import annotations

from consumerkit.engine import Engine, ManualClock, QueueStats


async def short_lived(engine: Engine, name: str = "brief", **extra: str) -> str:
    return await engine.create_queue(name, {"MessageRetentionPeriod": "60", **extra})


def counts(stats: QueueStats) -> tuple[int, int, int]:
    return stats.visible, stats.in_flight, stats.delayed


async def test_message_within_retention_is_received(engine: Engine, clock: ManualClock) -> None:
    url = await short_lived(engine)
    await engine.send_message(url, "x")
    clock.advance(59)
    assert [m.body for m in await engine.receive_message(url)] == ["x"]


async def test_message_past_retention_is_never_received(engine: Engine, clock: ManualClock) -> None:
    url = await short_lived(engine)
    await engine.send_message(url, "old")
    clock.advance(61)
    assert await engine.receive_message(url, max_messages=10) == []
    assert counts(await engine.queue_stats(url)) == (0, 0, 0)
    attributes = await engine.get_queue_attributes(url, ["ApproximateNumberOfMessages"])
    assert attributes == {"ApproximateNumberOfMessages": "0"}


async def test_expired_messages_are_skipped_for_live_ones(engine: Engine, clock: ManualClock) -> None:
    url = await short_lived(engine)
    for i in range(5):
        await engine.send_message(url, f"old{i}")
    clock.advance(30)
    await engine.send_message(url, "young")
    clock.advance(31)
    assert [m.body for m in await engine.receive_message(url)] == ["young"]


async def test_one_receive_returns_each_message_once_past_expired_ones(engine: Engine, clock: ManualClock) -> None:
    url = await short_lived(engine, VisibilityTimeout="0")
    await engine.send_message(url, "old")
    clock.advance(30)
    await engine.send_message(url, "young")
    clock.advance(31)
    got = await engine.receive_message(url, max_messages=10)
    assert [m.body for m in got] == ["young"]


async def test_in_flight_message_expires_too(engine: Engine, clock: ManualClock) -> None:
    url = await short_lived(engine)
    await engine.send_message(url, "x")
    clock.advance(10)
    await engine.receive_message(url, visibility_timeout=100)
    assert counts(await engine.queue_stats(url)) == (0, 1, 0)
    clock.advance(51)
    assert counts(await engine.queue_stats(url)) == (0, 0, 0)
    clock.advance(60)
    assert await engine.receive_message(url) == []


async def test_delayed_message_expires_from_its_send(engine: Engine, clock: ManualClock) -> None:
    url = await short_lived(engine)
    await engine.send_message(url, "x", delay_seconds=120)
    assert counts(await engine.queue_stats(url)) == (0, 0, 1)
    clock.advance(61)
    assert counts(await engine.queue_stats(url)) == (0, 0, 0)
    clock.advance(60)
    assert await engine.receive_message(url) == []


async def test_retention_reduction_applies_to_stored_messages(engine: Engine, clock: ManualClock, queue: str) -> None:
    await engine.send_message(queue, "x")
    clock.advance(100)
    await engine.set_queue_attributes(queue, {"MessageRetentionPeriod": "60"})
    assert counts(await engine.queue_stats(queue)) == (0, 0, 0)
    assert await engine.receive_message(queue) == []


async def test_fifo_expired_message_does_not_block_its_group(engine: Engine, clock: ManualClock) -> None:
    url = await short_lived(engine, "brief.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    await engine.send_message(url, "old", group_id="g")
    await engine.receive_message(url, visibility_timeout=1000)
    clock.advance(61)
    await engine.send_message(url, "new", group_id="g")
    assert [m.body for m in await engine.receive_message(url)] == ["new"]


# -- oldest message age -----------------------------------------------------------------------------------------


async def test_oldest_age_is_none_for_an_empty_queue(engine: Engine, queue: str) -> None:
    assert (await engine.queue_stats(queue)).oldest_age is None


async def test_oldest_age_counts_from_the_oldest_enqueue(engine: Engine, clock: ManualClock, queue: str) -> None:
    await engine.send_message(queue, "first")
    clock.advance(7)
    await engine.send_message(queue, "second")
    clock.advance(3)
    assert (await engine.queue_stats(queue)).oldest_age == 10.0


async def test_oldest_age_includes_in_flight_and_delayed_messages(
    engine: Engine, clock: ManualClock, queue: str
) -> None:
    await engine.send_message(queue, "held")
    await engine.receive_message(queue, visibility_timeout=100)
    clock.advance(4)
    await engine.send_message(queue, "later", delay_seconds=60)
    clock.advance(1)
    assert (await engine.queue_stats(queue)).oldest_age == 5.0


async def test_oldest_age_follows_deletion(engine: Engine, clock: ManualClock, queue: str) -> None:
    await engine.send_message(queue, "first")
    clock.advance(7)
    await engine.send_message(queue, "second")
    clock.advance(3)
    held = {m.body: m for m in await engine.receive_message(queue, max_messages=2)}
    await engine.delete_message(queue, held["first"].receipt_handle)
    assert (await engine.queue_stats(queue)).oldest_age == 3.0
    await engine.delete_message(queue, held["second"].receipt_handle)
    assert (await engine.queue_stats(queue)).oldest_age is None


async def test_oldest_age_ignores_expired_messages(engine: Engine, clock: ManualClock) -> None:
    url = await short_lived(engine)
    await engine.send_message(url, "old")
    clock.advance(40)
    await engine.send_message(url, "young")
    clock.advance(25)
    assert (await engine.queue_stats(url)).oldest_age == 25.0
