"""ReceiveMessage without waiting: limits, visibility, system attributes and message attribute filters."""

from __future__ import annotations

import pytest

from consumerkit.engine import Engine, ManualClock, MessageAttributeValue, SqsError
from tests.engine.expect import invalid

S = MessageAttributeValue
T0 = 1_700_000_000.0
KENOBI = {"Help.Me": S("String", "Me"), "Hello": S("String", "There"), "General": S("String", "Kenobi")}


# -- parameters -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 11, -1])
async def test_max_number_of_messages_out_of_range(engine: Engine, queue: str, count: int) -> None:
    error = await invalid(engine.receive_message(queue, max_messages=count))
    assert error.message == (
        f"Value {count} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."
    )


@pytest.mark.parametrize("wait", [-1, 21])
async def test_wait_time_seconds_out_of_range(engine: Engine, queue: str, wait: int) -> None:
    error = await invalid(engine.receive_message(queue, wait_time_seconds=wait))
    assert error.message == (
        f"Value {wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided."
    )


@pytest.mark.parametrize("seconds", [-1, 43_201])
async def test_visibility_timeout_override_out_of_range(engine: Engine, queue: str, seconds: int) -> None:
    error = await invalid(engine.receive_message(queue, visibility_timeout=seconds))
    assert error.message.startswith(f"Value {seconds} for parameter VisibilityTimeout is invalid.")
    assert "43200" in error.message


async def test_invalid_request_does_not_take_a_message(engine: Engine, queue: str) -> None:
    await engine.send_message(queue, "x")
    await invalid(engine.receive_message(queue, max_messages=11))
    assert (await engine.queue_stats(queue)).visible == 1


async def test_empty_queue_returns_nothing(engine: Engine, queue: str) -> None:
    assert await engine.receive_message(queue) == []


async def test_receives_one_message_by_default(engine: Engine, queue: str) -> None:
    for i in range(3):
        await engine.send_message(queue, str(i))
    assert len(await engine.receive_message(queue)) == 1


async def test_receives_up_to_ten_distinct_messages(engine: Engine, queue: str) -> None:
    for i in range(15):
        await engine.send_message(queue, str(i))
    first = await engine.receive_message(queue, max_messages=10)
    second = await engine.receive_message(queue, max_messages=10)
    assert len(first) == 10
    assert len(second) == 5
    assert sorted(int(m.body) for m in first + second) == list(range(15))
    assert await engine.receive_message(queue, max_messages=10) == []


# -- visibility ------------------------------------------------------------------------------------------------


async def test_received_message_is_invisible_then_reappears(engine: Engine, clock: ManualClock, queue: str) -> None:
    await engine.send_message(queue, "x")
    [first] = await engine.receive_message(queue, attribute_names=["ApproximateReceiveCount"])
    assert first.attributes == {"ApproximateReceiveCount": "1"}
    stats = await engine.queue_stats(queue)
    assert (stats.visible, stats.in_flight) == (0, 1)
    clock.advance(29.5)
    assert await engine.receive_message(queue) == []
    clock.advance(0.5)
    [second] = await engine.receive_message(queue, attribute_names=["ApproximateReceiveCount"])
    assert second.message_id == first.message_id
    assert second.attributes == {"ApproximateReceiveCount": "2"}
    assert second.receipt_handle != first.receipt_handle


async def test_queue_visibility_timeout_applies(engine: Engine, clock: ManualClock) -> None:
    slow = await engine.create_queue("slow", {"VisibilityTimeout": "120"})
    await engine.send_message(slow, "x")
    await engine.receive_message(slow)
    clock.advance(119)
    assert await engine.receive_message(slow) == []
    clock.advance(1)
    assert len(await engine.receive_message(slow)) == 1


async def test_visibility_timeout_override(engine: Engine, clock: ManualClock, queue: str) -> None:
    await engine.send_message(queue, "x")
    await engine.receive_message(queue, visibility_timeout=5)
    clock.advance(4)
    assert await engine.receive_message(queue) == []
    clock.advance(1)
    assert len(await engine.receive_message(queue)) == 1


async def test_visibility_timeout_zero_leaves_the_message_receivable(engine: Engine, queue: str) -> None:
    await engine.send_message(queue, "x")
    [first] = await engine.receive_message(queue, visibility_timeout=0)
    [second] = await engine.receive_message(queue, attribute_names=["ApproximateReceiveCount"])
    assert second.message_id == first.message_id
    assert second.attributes["ApproximateReceiveCount"] == "2"


async def test_counters_in_queue_attributes(engine: Engine, queue: str) -> None:
    for body in "abc":
        await engine.send_message(queue, body)
    await engine.send_message(queue, "later", delay_seconds=60)
    await engine.receive_message(queue)
    counters = await engine.get_queue_attributes(
        queue,
        ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"],
    )
    assert counters == {
        "ApproximateNumberOfMessages": "2",
        "ApproximateNumberOfMessagesNotVisible": "1",
        "ApproximateNumberOfMessagesDelayed": "1",
    }


# -- delay -------------------------------------------------------------------------------------------------------


async def test_delayed_message_is_received_only_after_its_delay(engine: Engine, clock: ManualClock, queue: str) -> None:
    await engine.send_message(queue, "later", delay_seconds=10)
    stats = await engine.queue_stats(queue)
    assert (stats.visible, stats.in_flight, stats.delayed) == (0, 0, 1)
    clock.advance(9.9)
    assert await engine.receive_message(queue) == []
    clock.advance(0.1)
    assert [m.body for m in await engine.receive_message(queue)] == ["later"]


async def test_delayed_message_behind_a_ready_one(engine: Engine, clock: ManualClock, queue: str) -> None:
    await engine.send_message(queue, "later", delay_seconds=10)
    await engine.send_message(queue, "now")
    assert [m.body for m in await engine.receive_message(queue, max_messages=10)] == ["now"]


# -- system attributes ---------------------------------------------------------------------------------------------


async def test_all_system_attributes(engine: Engine, clock: ManualClock, queue: str) -> None:
    clock.advance(1.5)
    await engine.send_message(queue, "x", trace_header="Root=1-5759e988-bd862e3fe1be46a994272793")
    clock.advance(2)
    [got] = await engine.receive_message(queue, attribute_names=["All"])
    assert got.attributes["SentTimestamp"] == "1700000001500"
    assert got.attributes["ApproximateFirstReceiveTimestamp"] == "1700000003500"
    assert got.attributes["ApproximateReceiveCount"] == "1"
    assert got.attributes["AWSTraceHeader"] == "Root=1-5759e988-bd862e3fe1be46a994272793"
    assert got.attributes["SenderId"]
    assert not {"SequenceNumber", "MessageGroupId", "MessageDeduplicationId", "DeadLetterQueueSourceArn"} & set(
        got.attributes
    )


async def test_first_receive_timestamp_is_fixed_at_the_first_receive(
    engine: Engine, clock: ManualClock, queue: str
) -> None:
    await engine.send_message(queue, "x")
    clock.advance(1)
    await engine.receive_message(queue, visibility_timeout=10)
    clock.advance(10)
    [got] = await engine.receive_message(queue, attribute_names=["All"])
    assert got.attributes["ApproximateFirstReceiveTimestamp"] == "1700000001000"
    assert got.attributes["SentTimestamp"] == "1700000000000"
    assert got.attributes["ApproximateReceiveCount"] == "2"


async def test_specific_system_attributes_only(engine: Engine, queue: str) -> None:
    await engine.send_message(queue, "x", trace_header="Root=1-abc")
    [got] = await engine.receive_message(queue, attribute_names=["SentTimestamp", "AWSTraceHeader"])
    assert got.attributes == {"SentTimestamp": "1700000000000", "AWSTraceHeader": "Root=1-abc"}


async def test_no_system_attributes_unless_asked(engine: Engine, queue: str) -> None:
    await engine.send_message(queue, "x", trace_header="Root=1-abc")
    [got] = await engine.receive_message(queue)
    assert got.attributes == {}


async def test_trace_header_absent_when_not_sent(engine: Engine, queue: str) -> None:
    await engine.send_message(queue, "x")
    [got] = await engine.receive_message(queue, attribute_names=["AWSTraceHeader", "SenderId"])
    assert list(got.attributes) == ["SenderId"]


async def test_unknown_system_attribute_name_is_refused(engine: Engine, queue: str) -> None:
    await engine.send_message(queue, "x")
    with pytest.raises(SqsError) as info:
        await engine.receive_message(queue, attribute_names=["SentTimestamp", "Bogus"])
    assert info.value.shape == "InvalidAttributeName"
    assert info.value.status == 400
    assert "Bogus" in info.value.message
    assert (await engine.queue_stats(queue)).visible == 1


# -- message attribute filters ---------------------------------------------------------------------------------------
# Expected results and digests recorded against real SQS (LocalStack snapshot
# test_receive_message_message_attribute_names_filters): "*" and ".*" select everything, and a filter
# ending in ".*" selects the names that start with what precedes it ("Hel.*" -> Hello, Help.Me).


@pytest.mark.parametrize(
    ("filters", "names", "digest"),
    [
        (["All"], ["General", "Hello", "Help.Me"], "4c360f3fdafd970e05fae2f149d997f5"),
        ([".*"], ["General", "Hello", "Help.Me"], "4c360f3fdafd970e05fae2f149d997f5"),
        (["*"], ["General", "Hello", "Help.Me"], "4c360f3fdafd970e05fae2f149d997f5"),
        (["Foo", "Help"], [], None),
        (["Hello", "General"], ["General", "Hello"], "fca026605781cb4126a1e9044df24232"),
        (["Foo", "Hello"], ["Hello"], "a311262e065454b75da111d535b8dacd"),
        (["Hel.*"], ["Hello", "Help.Me"], "83fee93c1bcd8b9a5a923ffacdc636c7"),
        (["Help.*"], ["Help.Me"], None),
        ([], [], None),
        (["AWS."], [], None),
        (["..foo"], [], None),
    ],
    ids=["All", "dot-star", "star", "absent", "exact", "mixed", "prefix", "dotted-prefix", "none", "AWS.", "..foo"],
)
async def test_message_attribute_filters(
    engine: Engine, queue: str, filters: list[str], names: list[str], digest: str | None
) -> None:
    await engine.send_message(queue, "msg", attributes=KENOBI)
    [got] = await engine.receive_message(queue, message_attribute_names=filters)
    assert sorted(got.message_attributes) == names
    assert got.message_attributes == {n: KENOBI[n] for n in names}
    if digest is not None:
        assert got.md5_of_message_attributes == digest
    elif not names:
        assert got.md5_of_message_attributes is None


@pytest.mark.parametrize(
    "filters",
    [
        [5],
        # over the wire None is an absent member, and the SDK sends "All" as the list ["A", "l", "l"]: both valid
        pytest.param(None, marks=pytest.mark.in_process("None is an absent member on the wire")),
        pytest.param("All", marks=pytest.mark.in_process("the SDK sends a string as a list of its characters")),
        [["All"]],
    ],
)
async def test_bad_attribute_filters_are_refused_before_anything_is_received(
    engine: Engine, queue: str, filters: object
) -> None:
    """Refused up front: a receive that failed after taking a message would leave it stranded in flight on the
    memory store, which has no rollback."""
    await engine.send_message(queue, "x")
    error = await invalid(engine.receive_message(queue, message_attribute_names=filters))  # type: ignore[arg-type]
    assert "MessageAttributeNames" in error.message
    assert (await engine.queue_stats(queue)).visible == 1
