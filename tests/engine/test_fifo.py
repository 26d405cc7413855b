"""FIFO queues: group order, group blocking, deduplication, sequence numbers and receive-attempt retries."""

from __future__ import annotations

import itertools
import json

import anyio
import pytest

from consumerkit.engine import Engine, ManualClock, MessageAttributeValue, ReceivedMessage, SendEntry, SqsError
from tests.engine.conftest import parked


async def receive(engine: Engine, url: str, count: int = 10, **options: object) -> list[ReceivedMessage]:
    return await engine.receive_message(url, max_messages=count, attribute_names=["All"], **options)  # type: ignore[arg-type]


def bodies(messages: list[ReceivedMessage]) -> list[str]:
    return [m.body for m in messages]


async def explicit(engine: Engine, **extra: str) -> str:
    """A FIFO queue without content-based deduplication."""
    return await engine.create_queue("explicit.fifo", {"FifoQueue": "true", **extra})


# -- message groups ----------------------------------------------------------------------------------------------------


async def test_message_group_id_is_required(engine: Engine, fifo: str) -> None:
    with pytest.raises(SqsError) as info:
        await engine.send_message(fifo, "x")
    assert info.value.shape == "MissingRequiredParameterException"
    assert info.value.code == "MissingParameter"
    assert info.value.message == "The request must contain the parameter MessageGroupId."


async def test_message_group_id_is_required_per_batch_entry(engine: Engine, fifo: str) -> None:
    result = await engine.send_message_batch(fifo, [SendEntry("a", "a", group_id="g"), SendEntry("b", "b")])
    assert [r.id for r in result.successful] == ["a"]
    assert [(f.id, f.code) for f in result.failed] == [("b", "MissingParameter")]


@pytest.mark.parametrize("group", ["", "x" * 129, "spa ce", "ünï"])
async def test_malformed_message_group_id_is_refused(engine: Engine, fifo: str, group: str) -> None:
    with pytest.raises(SqsError) as info:
        await engine.send_message(fifo, "x", group_id=group)
    assert info.value.code == "InvalidParameterValue"
    assert "MessageGroupId" in info.value.message


async def test_group_ids_of_128_punctuation_characters_are_accepted(engine: Engine, fifo: str) -> None:
    await engine.send_message(fifo, "x", group_id="!#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" + "g" * 96)
    assert len(await receive(engine, fifo)) == 1


async def test_order_within_a_group(engine: Engine, fifo: str) -> None:
    for i in range(8):
        await engine.send_message(fifo, f"m{i}", group_id="g")
    assert bodies(await receive(engine, fifo)) == [f"m{i}" for i in range(8)]


async def test_order_within_each_of_several_groups(engine: Engine, fifo: str) -> None:
    for i in range(6):
        await engine.send_message(fifo, f"a{i}", group_id="a")
        await engine.send_message(fifo, f"b{i}", group_id="b")
    first = await receive(engine, fifo)
    for message in first:
        await engine.delete_message(fifo, message.receipt_handle)
    got = bodies(first) + bodies(await receive(engine, fifo))
    assert [b for b in got if b[0] == "a"] == [f"a{i}" for i in range(6)]
    assert [b for b in got if b[0] == "b"] == [f"b{i}" for i in range(6)]


async def test_in_flight_message_blocks_its_group_only(engine: Engine, fifo: str) -> None:
    await engine.send_message(fifo, "a1", group_id="a")
    await engine.send_message(fifo, "a2", group_id="a")
    await engine.send_message(fifo, "b1", group_id="b")
    [a1] = await receive(engine, fifo, 1)
    assert a1.body == "a1"
    assert bodies(await receive(engine, fifo)) == ["b1"]
    assert await receive(engine, fifo) == []
    await engine.delete_message(fifo, a1.receipt_handle)
    assert bodies(await receive(engine, fifo)) == ["a2"]


async def test_group_is_redelivered_in_order_after_a_timeout(engine: Engine, clock: ManualClock, fifo: str) -> None:
    for body in ("a1", "a2"):
        await engine.send_message(fifo, body, group_id="a")
    assert bodies(await receive(engine, fifo)) == ["a1", "a2"]
    clock.advance(30)
    again = await receive(engine, fifo)
    assert bodies(again) == ["a1", "a2"]
    assert [m.attributes["ApproximateReceiveCount"] for m in again] == ["2", "2"]


async def test_group_is_returned_up_to_its_first_invisible_message(engine: Engine, fifo: str) -> None:
    for body in ("a1", "a2", "a3"):
        await engine.send_message(fifo, body, group_id="a")
    a1, _a2, a3 = await receive(engine, fifo)
    await engine.change_message_visibility(fifo, a1.receipt_handle, 0)
    await engine.change_message_visibility(fifo, a3.receipt_handle, 0)
    assert bodies(await receive(engine, fifo)) == ["a1"]


async def test_sending_into_a_group_does_not_reset_its_visibility(
    engine: Engine, clock: ManualClock, fifo: str
) -> None:
    await engine.send_message(fifo, "a1", group_id="a")
    await receive(engine, fifo)
    clock.advance(10)
    await engine.send_message(fifo, "a2", group_id="a")
    clock.advance(19)
    assert await receive(engine, fifo) == []
    clock.advance(1)
    got = await receive(engine, fifo)
    assert bodies(got) == ["a1", "a2"]
    assert got[0].attributes["ApproximateReceiveCount"] == "2"


async def test_group_and_deduplication_ids_are_system_attributes(engine: Engine, fifo: str) -> None:
    await engine.send_message(fifo, "x", group_id="g", deduplication_id="d-1")
    [got] = await receive(engine, fifo)
    assert got.attributes["MessageGroupId"] == "g"
    assert got.attributes["MessageDeduplicationId"] == "d-1"


# -- deduplication -----------------------------------------------------------------------------------------------------


async def test_explicit_deduplication_id(engine: Engine) -> None:
    url = await explicit(engine)
    first = await engine.send_message(url, "one", group_id="g", deduplication_id="d")
    second = await engine.send_message(url, "two", group_id="g", deduplication_id="d")
    assert second.message_id == first.message_id
    assert second.sequence_number == first.sequence_number
    assert bodies(await receive(engine, url)) == ["one"]


async def test_content_based_deduplication(engine: Engine, fifo: str) -> None:
    first = await engine.send_message(fifo, "same", group_id="g")
    second = await engine.send_message(fifo, "same", group_id="g")
    other = await engine.send_message(fifo, "different", group_id="g")
    assert second.message_id == first.message_id
    assert other.message_id != first.message_id
    assert bodies(await receive(engine, fifo)) == ["same", "different"]


async def test_content_based_deduplication_hashes_the_body_only(engine: Engine, fifo: str) -> None:
    first = await engine.send_message(
        fifo, "same", group_id="g", attributes={"k": MessageAttributeValue("String", "1")}
    )
    second = await engine.send_message(
        fifo, "same", group_id="g", attributes={"k": MessageAttributeValue("String", "2")}
    )
    assert second.message_id == first.message_id
    assert len(await receive(engine, fifo)) == 1


async def test_deduplication_is_queue_wide_by_default(engine: Engine, fifo: str) -> None:
    first = await engine.send_message(fifo, "same", group_id="g1")
    second = await engine.send_message(fifo, "same", group_id="g2")
    assert second.message_id == first.message_id
    assert len(await receive(engine, fifo)) == 1


async def test_explicit_id_overrides_content_based_deduplication(engine: Engine, fifo: str) -> None:
    first = await engine.send_message(fifo, "same", group_id="g", deduplication_id="one")
    second = await engine.send_message(fifo, "same", group_id="g", deduplication_id="two")
    assert second.message_id != first.message_id
    assert len(await receive(engine, fifo)) == 2


async def test_deduplication_window_is_five_minutes(engine: Engine, clock: ManualClock, fifo: str) -> None:
    first = await engine.send_message(fifo, "same", group_id="g")
    clock.advance(299)
    assert (await engine.send_message(fifo, "same", group_id="g")).message_id == first.message_id
    clock.advance(1)
    again = await engine.send_message(fifo, "same", group_id="g")
    assert again.message_id != first.message_id
    assert len(await receive(engine, fifo)) == 2


async def test_deduplication_survives_deletion(engine: Engine, fifo: str) -> None:
    first = await engine.send_message(fifo, "once", group_id="g")
    [got] = await receive(engine, fifo)
    await engine.delete_message(fifo, got.receipt_handle)
    again = await engine.send_message(fifo, "once", group_id="g")
    assert again.message_id == first.message_id
    assert await receive(engine, fifo) == []


async def test_deduplication_scope_message_group(engine: Engine) -> None:
    url = await engine.create_queue(
        "grouped.fifo",
        {"FifoQueue": "true", "ContentBasedDeduplication": "true", "DeduplicationScope": "messageGroup"},
    )
    g1 = await engine.send_message(url, "same", group_id="g1")
    g2 = await engine.send_message(url, "same", group_id="g2")
    g1_again = await engine.send_message(url, "same", group_id="g1")
    assert g2.message_id != g1.message_id
    assert g1_again.message_id == g1.message_id
    assert len(await receive(engine, url)) == 2


async def test_neither_deduplication_id_nor_content_based_is_refused(engine: Engine) -> None:
    url = await explicit(engine)
    with pytest.raises(SqsError) as info:
        await engine.send_message(url, "x", group_id="g")
    assert info.value.shape == "InvalidParameterValueException"
    assert info.value.code == "InvalidParameterValue"
    assert info.value.message == (
        "One or more parameters are invalid. Reason: The queue should either have ContentBasedDeduplication "
        "enabled or MessageDeduplicationId provided explicitly"
    )
    assert await receive(engine, url) == []


@pytest.mark.parametrize("dedup", ["", "x" * 129, "spa ce"])
async def test_malformed_deduplication_id_is_refused(engine: Engine, fifo: str, dedup: str) -> None:
    with pytest.raises(SqsError) as info:
        await engine.send_message(fifo, "x", group_id="g", deduplication_id=dedup)
    assert info.value.code == "InvalidParameterValue"
    assert "MessageDeduplicationId" in info.value.message


async def test_duplicates_within_one_batch(engine: Engine, fifo: str) -> None:
    result = await engine.send_message_batch(
        fifo,
        [SendEntry("same", "a", group_id="g"), SendEntry("same", "b", group_id="g"), SendEntry("x", "c", group_id="g")],
    )
    a, b, c = result.successful
    assert [r.id for r in result.successful] == ["a", "b", "c"]
    assert b.message_id == a.message_id
    assert b.sequence_number == a.sequence_number
    assert c.message_id != a.message_id
    assert bodies(await receive(engine, fifo)) == ["same", "x"]


async def test_batch_duplicate_of_an_earlier_send(engine: Engine, fifo: str) -> None:
    first = await engine.send_message(fifo, "same", group_id="g")
    result = await engine.send_message_batch(fifo, [SendEntry("same", "a", group_id="g")])
    assert result.successful[0].message_id == first.message_id
    assert len(await receive(engine, fifo)) == 1


# -- sequence numbers --------------------------------------------------------------------------------------------------


async def test_sequence_numbers_are_large_increasing_and_not_consecutive(engine: Engine, fifo: str) -> None:
    sent = [await engine.send_message(fifo, f"m{i}", group_id="g") for i in range(5)]
    numbers = [int(s.sequence_number or "0") for s in sent]
    assert all(len(s.sequence_number or "") >= 20 for s in sent)
    assert numbers == sorted(set(numbers))
    assert all(b - a > 1 for a, b in itertools.pairwise(numbers))


async def test_received_sequence_number_matches_the_send(engine: Engine, fifo: str) -> None:
    sent = [await engine.send_message(fifo, f"m{i}", group_id="g") for i in range(3)]
    got = await receive(engine, fifo)
    assert [m.attributes["SequenceNumber"] for m in got] == [s.sequence_number for s in sent]


async def test_batch_sends_carry_sequence_numbers(engine: Engine, fifo: str) -> None:
    result = await engine.send_message_batch(fifo, [SendEntry(f"m{i}", f"e{i}", group_id="g") for i in range(3)])
    numbers = [int(r.sequence_number or "0") for r in result.successful]
    assert numbers == sorted(set(numbers))
    assert all(len(str(n)) >= 20 for n in numbers)


async def test_standard_queue_has_no_sequence_number(engine: Engine, queue: str) -> None:
    assert (await engine.send_message(queue, "x")).sequence_number is None


async def test_a_redriven_message_is_numbered_after_messages_sent_before_the_redrive(engine: Engine, fifo: str) -> None:
    """A message moved back from a dead-letter queue joins the end of its source: its SequenceNumber follows
    every message already there."""
    dlq = await engine.create_queue("dlq.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"})
    dlq_arn = (await engine.get_queue_attributes(dlq, ["QueueArn"]))["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    await engine.set_queue_attributes(fifo, {"RedrivePolicy": policy})
    await engine.send_message(fifo, "dead", group_id="g")
    assert bodies(await receive(engine, fifo, visibility_timeout=0)) == ["dead"]
    assert await receive(engine, fifo) == []  # moved to the DLQ
    before = await engine.send_message(fifo, "before", group_id="g")
    await engine.start_message_move_task(dlq_arn)
    got = await receive(engine, fifo)
    assert bodies(got) == ["before", "dead"]
    assert got[0].attributes["SequenceNumber"] == before.sequence_number
    assert int(got[1].attributes["SequenceNumber"]) > int(before.sequence_number or "0")


# -- ReceiveRequestAttemptId -------------------------------------------------------------------------------------------


async def test_retried_attempt_returns_the_same_messages_and_handles(
    engine: Engine, clock: ManualClock, fifo: str
) -> None:
    for body in ("a1", "a2"):
        await engine.send_message(fifo, body, group_id="a")
    await engine.send_message(fifo, "b1", group_id="b")
    first = await receive(engine, fifo, 2, attempt_id="attempt-1")
    clock.advance(10)
    retry = await receive(engine, fifo, 2, attempt_id="attempt-1")
    assert [m.message_id for m in retry] == [m.message_id for m in first]
    assert [m.receipt_handle for m in retry] == [m.receipt_handle for m in first]
    assert [m.attributes["ApproximateReceiveCount"] for m in retry] == ["1", "1"]
    for message in retry:  # the replayed handles are live
        await engine.delete_message(fifo, message.receipt_handle)
    assert bodies(await receive(engine, fifo)) == [b for b in ("a1", "a2", "b1") if b not in bodies(first)]


async def test_retried_attempt_resets_visibility(engine: Engine, clock: ManualClock, fifo: str) -> None:
    await engine.send_message(fifo, "a1", group_id="a")
    await receive(engine, fifo, attempt_id="attempt-1")
    clock.advance(20)
    await receive(engine, fifo, attempt_id="attempt-1")
    clock.advance(29)  # 49 s after the first receive, 29 s after the retry
    assert await receive(engine, fifo) == []
    clock.advance(1)
    assert bodies(await receive(engine, fifo)) == ["a1"]


async def test_different_attempt_id_is_a_fresh_receive(engine: Engine, fifo: str) -> None:
    await engine.send_message(fifo, "a1", group_id="a")
    await engine.send_message(fifo, "b1", group_id="b")
    first = await receive(engine, fifo, 1, attempt_id="one")
    second = await receive(engine, fifo, 1, attempt_id="two")
    assert {m.body for m in first + second} == {"a1", "b1"}


async def test_attempt_after_a_delete_is_a_fresh_receive(engine: Engine, fifo: str) -> None:
    for body in ("a1", "a2"):
        await engine.send_message(fifo, body, group_id="a")
    [a1] = await receive(engine, fifo, 1, attempt_id="attempt-1")
    await engine.delete_message(fifo, a1.receipt_handle)
    assert bodies(await receive(engine, fifo, 1, attempt_id="attempt-1")) == ["a2"]


async def test_attempt_after_a_visibility_change_is_a_fresh_receive(engine: Engine, fifo: str) -> None:
    await engine.send_message(fifo, "a1", group_id="a")
    [first] = await receive(engine, fifo, 1, attempt_id="attempt-1")
    await engine.change_message_visibility(fifo, first.receipt_handle, 0)
    [again] = await receive(engine, fifo, 1, attempt_id="attempt-1")
    assert again.message_id == first.message_id
    assert again.receipt_handle != first.receipt_handle
    assert again.attributes["ApproximateReceiveCount"] == "2"


async def test_attempt_expires_after_five_minutes(engine: Engine, clock: ManualClock, fifo: str) -> None:
    await engine.send_message(fifo, "a1", group_id="a")
    [first] = await receive(engine, fifo, 1, attempt_id="attempt-1", visibility_timeout=1000)
    clock.advance(300)
    assert await receive(engine, fifo, 1, attempt_id="attempt-1") == []  # fresh: the group is still in flight
    assert first.body == "a1"


async def test_malformed_attempt_id_is_refused(engine: Engine, fifo: str) -> None:
    with pytest.raises(SqsError) as info:
        await receive(engine, fifo, attempt_id="x" * 129)
    assert info.value.code == "InvalidParameterValue"
    assert "ReceiveRequestAttemptId" in info.value.message


async def test_a_long_poll_with_an_attempt_id_gets_a_message_sent_while_it_waits(
    engine: Engine, clock: ManualClock, fifo: str
) -> None:
    """The poll's first, empty look must not be recorded as the attempt's answer and replayed on waking."""
    got: list[ReceivedMessage] = []

    async def poll() -> None:
        got.extend(await receive(engine, fifo, wait_time_seconds=20, attempt_id="try-1"))

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(poll)
            await parked(clock)
            await engine.send_message(fifo, "hello", group_id="g")
            await anyio.wait_all_tasks_blocked()
            assert bodies(got) == ["hello"]
    assert clock.now() == 1_700_000_000.0


async def test_an_empty_answer_is_not_replayed_to_a_retried_attempt(engine: Engine, fifo: str) -> None:
    assert await receive(engine, fifo, attempt_id="try-1") == []
    await engine.send_message(fifo, "hello", group_id="g")
    assert bodies(await receive(engine, fifo, attempt_id="try-1")) == ["hello"]


# -- the scan limit ----------------------------------------------------------------------------------------------------


async def test_receive_scans_only_the_first_messages_of_the_queue(
    engine: Engine, fifo: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQS looks at the first 120,000 messages of a FIFO queue only (here 5): a message behind that many in
    flight is not received until they are gone."""
    monkeypatch.setattr("consumerkit.engine.context.FIFO_SCAN_LIMIT", 5)
    for i in range(5):
        await engine.send_message(fifo, f"a{i}", group_id="a")
    held = await receive(engine, fifo)
    assert bodies(held) == [f"a{i}" for i in range(5)]
    await engine.send_message(fifo, "b0", group_id="b")
    assert await receive(engine, fifo) == []
    for message in held:
        await engine.delete_message(fifo, message.receipt_handle)
    assert bodies(await receive(engine, fifo)) == ["b0"]


async def test_a_batch_entry_without_a_deduplication_id_fails_alone(engine: Engine) -> None:
    url = await engine.create_queue("plain.fifo", {"FifoQueue": "true"})
    result = await engine.send_message_batch(
        url, [SendEntry("a", id="ok", group_id="g", deduplication_id="d1"), SendEntry("b", id="bad", group_id="g")]
    )
    assert [r.id for r in result.successful] == ["ok"]
    [failure] = result.failed
    assert (failure.id, failure.code) == ("bad", "InvalidParameterValue")
    assert "ContentBasedDeduplication" in failure.message


async def test_an_attempt_is_not_replayed_after_its_visibility_changed(engine: Engine, fifo: str) -> None:
    """A retry replays only "if none of the messages have been modified (deleted or had their visibility
    changed)": replaying after an extension would cut the consumer's extension short."""
    await engine.send_message(fifo, "m1", group_id="g")
    await engine.send_message(fifo, "m2", group_id="h")
    [got] = await engine.receive_message(fifo, attempt_id="try-1", visibility_timeout=30)
    again = await engine.receive_message(fifo, attempt_id="try-1", visibility_timeout=30)
    assert [m.receipt_handle for m in again] == [got.receipt_handle]  # an untouched retry replays
    third = await engine.receive_message(fifo, attempt_id="try-1", visibility_timeout=30)
    assert [m.receipt_handle for m in third] == [got.receipt_handle]  # and keeps replaying
    await engine.change_message_visibility(fifo, got.receipt_handle, 600)
    fresh = await engine.receive_message(fifo, attempt_id="try-1", visibility_timeout=30)
    assert [m.body for m in fresh] == ["m2"]  # a fresh receive: m1 keeps its 600 s


async def test_an_explicit_delay_of_zero_is_accepted_on_fifo(engine: Engine, fifo: str) -> None:
    await engine.send_message(fifo, "a", group_id="g", delay_seconds=0)
    result = await engine.send_message_batch(fifo, [SendEntry("b", id="e", group_id="g", delay_seconds=0)])
    assert not result.failed
    with pytest.raises(SqsError) as info:
        await engine.send_message(fifo, "c", group_id="g", delay_seconds=5)
    assert "DelaySeconds" in info.value.message


async def test_a_fifo_queue_delay_change_reaches_messages_already_sent(engine: Engine, clock: ManualClock) -> None:
    """AWS: "For FIFO queues, the per-queue delay setting is retroactive" (standard queues: not)."""
    url = await engine.create_queue("slow.fifo", {"FifoQueue": "true", "DelaySeconds": "600"})
    await engine.send_message(url, "waiting", group_id="g", deduplication_id="1")
    clock.advance(10)
    assert await engine.receive_message(url) == []
    await engine.set_queue_attributes(url, {"DelaySeconds": "0"})
    [waiting] = await engine.receive_message(url)
    assert waiting.body == "waiting"
    await engine.delete_message(url, waiting.receipt_handle)
    await engine.send_message(url, "next", group_id="h", deduplication_id="2")
    await engine.set_queue_attributes(url, {"DelaySeconds": "30"})
    assert await engine.receive_message(url) == []  # sent 0 s ago, now delayed 30 s
    clock.advance(30)
    assert [m.body for m in await engine.receive_message(url)] == ["next"]


async def test_a_standard_queue_delay_change_does_not_reach_messages_already_sent(
    engine: Engine, clock: ManualClock
) -> None:
    url = await engine.create_queue("slow", {"DelaySeconds": "600"})
    await engine.send_message(url, "waiting")
    await engine.set_queue_attributes(url, {"DelaySeconds": "0"})
    assert await engine.receive_message(url) == []
    clock.advance(600)
    assert [m.body for m in await engine.receive_message(url)] == ["waiting"]
