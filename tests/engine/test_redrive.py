"""Dead-letter queues: a message received maxReceiveCount times moves to the DLQ instead of its next delivery."""

from __future__ import annotations

import json

import anyio
import pytest

from consumerkit.engine import Engine, ManualClock, MessageAttributeValue, ReceivedMessage, SqsError
from tests.engine.conftest import parked

T0 = 1_700_000_000.0


async def arn(engine: Engine, url: str) -> str:
    return (await engine.get_queue_attributes(url, ["QueueArn"]))["QueueArn"]


async def redrive_to(engine: Engine, dlq: str, max_receives: int) -> str:
    return json.dumps({"deadLetterTargetArn": await arn(engine, dlq), "maxReceiveCount": max_receives})


async def standard_pair(
    engine: Engine, max_receives: int = 3, source: dict[str, str] | None = None, dead: dict[str, str] | None = None
) -> tuple[str, str]:
    dlq = await engine.create_queue("dead", dead)
    src = await engine.create_queue(
        "source",
        {"VisibilityTimeout": "0", "RedrivePolicy": await redrive_to(engine, dlq, max_receives), **(source or {})},
    )
    return src, dlq


async def fifo_pair(
    engine: Engine, max_receives: int = 1, source: dict[str, str] | None = None, dead: dict[str, str] | None = None
) -> tuple[str, str]:
    fifo = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    dlq = await engine.create_queue("dead.fifo", {**fifo, **(dead or {})})
    src = await engine.create_queue(
        "source.fifo",
        {
            **fifo,
            "VisibilityTimeout": "0",
            "RedrivePolicy": await redrive_to(engine, dlq, max_receives),
            **(source or {}),
        },
    )
    return src, dlq


async def receive_all(engine: Engine, url: str) -> list[ReceivedMessage]:
    return await engine.receive_message(url, max_messages=10, attribute_names=["All"], message_attribute_names=["All"])


async def test_message_moves_on_the_receive_after_max_receive_count(engine: Engine) -> None:
    src, dlq = await standard_pair(engine, max_receives=3)
    sent = await engine.send_message(src, "poison")
    for count in ("1", "2", "3"):
        [got] = await receive_all(engine, src)
        assert (got.message_id, got.attributes["ApproximateReceiveCount"]) == (sent.message_id, count)
    assert await receive_all(engine, src) == []
    assert (await engine.queue_stats(src)).visible == 0
    [dead] = await receive_all(engine, dlq)
    assert (dead.message_id, dead.body) == (sent.message_id, "poison")


async def test_max_receive_count_of_one(engine: Engine) -> None:
    src, dlq = await standard_pair(engine, max_receives=1)
    await engine.send_message(src, "x")
    assert len(await receive_all(engine, src)) == 1
    assert await receive_all(engine, src) == []
    assert len(await receive_all(engine, dlq)) == 1


async def test_receives_that_time_out_count(engine: Engine, clock: ManualClock) -> None:
    src, dlq = await standard_pair(engine, max_receives=2, source={"VisibilityTimeout": "30"})
    await engine.send_message(src, "x")
    await receive_all(engine, src)
    clock.advance(30)
    await receive_all(engine, src)
    clock.advance(30)
    assert await receive_all(engine, src) == []
    assert len(await receive_all(engine, dlq)) == 1


async def test_dead_letter_keeps_identity_attributes_and_names_its_source(engine: Engine) -> None:
    src, dlq = await standard_pair(engine, max_receives=1)
    attributes = {"kind": MessageAttributeValue("String", "order"), "n": MessageAttributeValue("Number", "7")}
    sent = await engine.send_message(src, "body", attributes=attributes, trace_header="Root=1-abc")
    await receive_all(engine, src)
    await receive_all(engine, src)
    [dead] = await receive_all(engine, dlq)
    assert dead.message_id == sent.message_id
    assert dead.body == "body"
    assert dead.md5_of_body == sent.md5_of_body
    assert dead.message_attributes == attributes
    assert dead.md5_of_message_attributes == sent.md5_of_attributes
    assert dead.attributes["DeadLetterQueueSourceArn"] == await arn(engine, src)
    assert dead.attributes["SentTimestamp"] == "1700000000000"
    assert dead.attributes["AWSTraceHeader"] == "Root=1-abc"


async def test_source_arn_is_absent_outside_a_dlq(engine: Engine, queue: str) -> None:
    await engine.send_message(queue, "x")
    [got] = await receive_all(engine, queue)
    assert "DeadLetterQueueSourceArn" not in got.attributes


async def test_other_messages_are_still_delivered(engine: Engine, clock: ManualClock) -> None:
    src, dlq = await standard_pair(engine, max_receives=1, source={"VisibilityTimeout": "30"})
    await engine.send_message(src, "poison")
    await receive_all(engine, src)
    clock.advance(30)
    await engine.send_message(src, "fresh")
    assert [m.body for m in await receive_all(engine, src)] == ["fresh"]
    assert [m.body for m in await receive_all(engine, dlq)] == ["poison"]


async def test_one_receive_returns_each_message_once(engine: Engine) -> None:
    """A message delivered with visibility 0 is visible again at once, but not to the receive that just took it:
    that receive must neither return it twice nor dead-letter the copy it is returning."""
    src, dlq = await standard_pair(engine, max_receives=3)
    await engine.send_message(src, "poison")
    for _ in range(3):
        await receive_all(engine, src)
    await engine.send_message(src, "fresh")
    got = await receive_all(engine, src)
    assert [(m.body, m.attributes["ApproximateReceiveCount"]) for m in got] == [("fresh", "1")]
    assert [m.body for m in await receive_all(engine, dlq)] == ["poison"]


async def test_a_parked_receive_on_the_dlq_wakes_on_the_move(engine: Engine, clock: ManualClock) -> None:
    src, dlq = await standard_pair(engine, max_receives=1)
    await engine.send_message(src, "poison")
    await receive_all(engine, src)
    got: list[list[ReceivedMessage]] = []

    async def wait_on_dlq() -> None:
        got.append(await engine.receive_message(dlq, wait_time_seconds=20))

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(wait_on_dlq)
            await parked(clock)
            assert await receive_all(engine, src) == []
    assert [m.body for m in got[0]] == ["poison"]
    assert clock.now() == T0


# -- retention in the DLQ --------------------------------------------------------------------------------------


async def moved_at_50(engine: Engine, clock: ManualClock, src: str, **send: str) -> None:
    """Send at T0, receive once, and let the next receive move the message to the DLQ at T0 + 50."""
    await engine.send_message(src, "x", **send)
    await receive_all(engine, src)
    clock.advance(50)
    assert await receive_all(engine, src) == []


async def test_standard_dlq_expiry_counts_from_the_original_send(engine: Engine, clock: ManualClock) -> None:
    src, dlq = await standard_pair(
        engine, max_receives=1, source={"VisibilityTimeout": "50"}, dead={"MessageRetentionPeriod": "120"}
    )
    await moved_at_50(engine, clock, src)
    clock.advance(69)  # T0 + 119
    assert (await engine.queue_stats(dlq)).visible == 1
    clock.advance(2)  # T0 + 121: past the DLQ's retention counted from the original send
    stats = await engine.queue_stats(dlq)
    assert (stats.visible, stats.oldest_age) == (0, None)
    assert await receive_all(engine, dlq) == []


async def test_standard_dlq_age_counts_from_the_move(engine: Engine, clock: ManualClock) -> None:
    """SQS: in a standard DLQ "the ApproximateAgeOfOldestMessage metric indicates when the message moved to the
    dead-letter queue, not when the message was originally sent" (setting-up-dead-letter-queue-retention)."""
    src, dlq = await standard_pair(engine, max_receives=1, source={"VisibilityTimeout": "50"})
    await moved_at_50(engine, clock, src)
    clock.advance(50)  # T0 + 100
    assert (await engine.queue_stats(dlq)).oldest_age == 50.0


async def test_fifo_dlq_resets_the_enqueue_time(engine: Engine, clock: ManualClock) -> None:
    src, dlq = await fifo_pair(
        engine, max_receives=1, source={"VisibilityTimeout": "50"}, dead={"MessageRetentionPeriod": "120"}
    )
    await moved_at_50(engine, clock, src, group_id="g")
    clock.advance(50)
    stats = await engine.queue_stats(dlq)
    assert (stats.visible, stats.oldest_age) == (1, 50.0)
    clock.advance(21)  # T0 + 121: within 120 s of the move
    assert (await engine.queue_stats(dlq)).visible == 1
    clock.advance(50)  # T0 + 171: past it
    assert (await engine.queue_stats(dlq)).visible == 0


# -- FIFO ---------------------------------------------------------------------------------------------------------


async def test_fifo_move_unblocks_the_group(engine: Engine) -> None:
    src, dlq = await fifo_pair(engine, max_receives=1, source={"VisibilityTimeout": "30"})
    await engine.send_message(src, "first", group_id="g")
    await engine.send_message(src, "second", group_id="g")
    [first] = await engine.receive_message(src)
    assert first.body == "first"
    await engine.change_message_visibility(src, first.receipt_handle, 0)
    got = await receive_all(engine, src) or await receive_all(engine, src)
    assert [m.body for m in got] == ["second"]
    [dead] = await receive_all(engine, dlq)
    assert (dead.body, dead.attributes["MessageGroupId"]) == ("first", "g")
    assert dead.attributes["DeadLetterQueueSourceArn"] == await arn(engine, src)


async def test_fifo_dlq_keeps_group_order(engine: Engine) -> None:
    src, dlq = await fifo_pair(engine, max_receives=1)
    for body in ("a", "b", "c"):
        await engine.send_message(src, body, group_id="g")
    assert [m.body for m in await receive_all(engine, src)] == ["a", "b", "c"]
    assert await receive_all(engine, src) == []
    assert [m.body for m in await receive_all(engine, dlq)] == ["a", "b", "c"]


# -- missing or mismatched DLQ ---------------------------------------------------------------------------------------


async def test_message_is_delivered_normally_if_the_dlq_was_deleted(engine: Engine) -> None:
    src, dlq = await standard_pair(engine, max_receives=1)
    await engine.send_message(src, "x")
    await receive_all(engine, src)
    await engine.delete_queue(dlq)
    [again] = await receive_all(engine, src)
    assert again.attributes["ApproximateReceiveCount"] == "2"
    [third] = await receive_all(engine, src)
    assert third.attributes["ApproximateReceiveCount"] == "3"


async def test_standard_source_cannot_use_a_fifo_dlq(engine: Engine) -> None:
    dlq = await engine.create_queue("dead.fifo", {"FifoQueue": "true"})
    policy = await redrive_to(engine, dlq, 3)
    with pytest.raises(SqsError) as info:
        await engine.create_queue("source", {"RedrivePolicy": policy})
    assert info.value.code == "InvalidParameterValue"
    assert "RedrivePolicy" in info.value.message
    source = await engine.create_queue("source")
    with pytest.raises(SqsError) as info:
        await engine.set_queue_attributes(source, {"RedrivePolicy": policy})
    assert info.value.code == "InvalidParameterValue"
    assert "RedrivePolicy" not in (await engine.get_queue_attributes(source, ["All"]))


async def test_fifo_source_cannot_use_a_standard_dlq(engine: Engine) -> None:
    dlq = await engine.create_queue("dead")
    with pytest.raises(SqsError) as info:
        await engine.create_queue(
            "source.fifo",
            {"FifoQueue": "true", "RedrivePolicy": await redrive_to(engine, dlq, 3)},
        )
    assert info.value.code == "InvalidParameterValue"
    assert "RedrivePolicy" in info.value.message


@pytest.mark.parametrize("count", [0, 1001])
async def test_max_receive_count_out_of_range(engine: Engine, count: int) -> None:
    dlq = await engine.create_queue("dead")
    with pytest.raises(SqsError) as info:
        await engine.create_queue("source", {"RedrivePolicy": await redrive_to(engine, dlq, count)})
    assert info.value.code == "InvalidParameterValue"
    assert "maxReceiveCount" in info.value.message


@pytest.mark.parametrize("count", [1, 1000])
async def test_max_receive_count_in_range(engine: Engine, count: int) -> None:
    dlq = await engine.create_queue("dead")
    await engine.create_queue("source", {"RedrivePolicy": await redrive_to(engine, dlq, count)})


async def test_a_fifo_dead_letter_takes_its_message_id_as_deduplication_id(engine: Engine) -> None:
    """AWS: on a FIFO-to-FIFO move "the original message's deduplication ID will be replaced with the original
    message's ID"."""
    dlq = await engine.create_queue("dead.fifo", {"FifoQueue": "true"})
    policy = json.dumps({"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:dead.fifo", "maxReceiveCount": 1})
    url = await engine.create_queue("work.fifo", {"FifoQueue": "true", "RedrivePolicy": policy})
    sent = await engine.send_message(url, "x", group_id="g", deduplication_id="D1")
    await engine.receive_message(url, visibility_timeout=0)
    assert await engine.receive_message(url) == []
    [moved] = await engine.receive_message(dlq, attribute_names=["All"])
    assert moved.attributes["MessageDeduplicationId"] == sent.message_id
    assert moved.attributes["MessageGroupId"] == "g"
