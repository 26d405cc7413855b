"""SendMessage and SendMessageBatch: what SQS accepts, what it refuses, and with which error."""

from __future__ import annotations

import pytest

from consumerkit.engine import Engine, ManualClock, MessageAttributeValue, SendEntry
from tests.engine.expect import invalid, refused

S = MessageAttributeValue
MIB = 1_048_576
MISSING = ("MissingRequiredParameterException", "MissingParameter")


async def stored(engine: Engine, queue: str) -> int:
    stats = await engine.queue_stats(queue)
    return stats.visible + stats.in_flight + stats.delayed


# -- body ---------------------------------------------------------------------------------------------------


async def test_send_returns_a_message_id_and_the_message_arrives(engine: Engine, queue: str) -> None:
    sent = await engine.send_message(queue, "hello")
    [got] = await engine.receive_message(queue)
    assert (got.message_id, got.body) == (sent.message_id, "hello")


async def test_message_ids_are_unique(engine: Engine, queue: str) -> None:
    ids = {(await engine.send_message(queue, "same")).message_id for _ in range(5)}
    assert len(ids) == 5


async def test_one_character_body_is_accepted(engine: Engine, queue: str) -> None:
    await engine.send_message(queue, "x")
    assert await stored(engine, queue) == 1


async def test_empty_body_is_missing(engine: Engine, queue: str) -> None:
    error = await refused(engine.send_message(queue, ""), *MISSING)
    assert error.message == "The request must contain the parameter MessageBody."
    assert await stored(engine, queue) == 0


@pytest.mark.parametrize("bad", ["\x00", "\x08", "\x1f", "\ud800", "\udfff", "\ufffe", "\uffff"])
async def test_characters_outside_the_xml_range_are_refused(engine: Engine, queue: str, bad: str) -> None:
    error = await refused(engine.send_message(queue, f"ok{bad}ok"), "InvalidMessageContents")
    assert "MessageBody" in error.message
    assert await stored(engine, queue) == 0


@pytest.mark.parametrize("good", ["\t\n\r", " ", "\ud7ff", "\ue000", "\ufffd", "\U00010000", "\U0010ffff"])
async def test_characters_inside_the_xml_range_are_accepted(engine: Engine, queue: str, good: str) -> None:
    await engine.send_message(queue, good)
    [got] = await engine.receive_message(queue)
    assert got.body == good


async def test_body_of_exactly_one_mebibyte_is_accepted(engine: Engine, queue: str) -> None:
    await engine.send_message(queue, "x" * MIB)
    [got] = await engine.receive_message(queue)
    assert len(got.body) == MIB


async def test_body_one_byte_over_one_mebibyte_is_refused(engine: Engine, queue: str) -> None:
    error = await invalid(engine.send_message(queue, "x" * (MIB + 1)))
    assert error.message == "One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes."
    assert await stored(engine, queue) == 0


async def test_size_counts_utf8_bytes_not_characters(engine: Engine, queue: str) -> None:
    await engine.send_message(queue, "é" * (MIB // 2))
    await invalid(engine.send_message(queue, "é" * (MIB // 2) + "x"))
    await invalid(engine.send_message(queue, "😀" * (MIB // 4) + "x"))
    assert await stored(engine, queue) == 1


async def test_message_attributes_count_toward_the_size(engine: Engine, queue: str) -> None:
    body = "x" * (MIB - 10)
    await engine.send_message(queue, body)
    error = await invalid(engine.send_message(queue, body, attributes={"name": S("String", "v" * 100)}))
    assert "Message must be shorter than 1048576 bytes." in error.message
    assert await stored(engine, queue) == 1


async def test_trace_header_does_not_count_toward_the_size(engine: Engine, queue: str) -> None:
    await engine.send_message(queue, "x" * MIB, trace_header="Root=1-5759e988-bd862e3fe1be46a994272793")
    assert await stored(engine, queue) == 1


async def test_queue_maximum_message_size_applies(engine: Engine) -> None:
    small = await engine.create_queue("small", {"MaximumMessageSize": "1024"})
    await engine.send_message(small, "x" * 1024)
    error = await invalid(engine.send_message(small, "x" * 1025))
    assert error.message == "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes."
    assert await stored(engine, small) == 1


async def test_send_to_a_missing_queue(engine: Engine) -> None:
    error = await refused(
        engine.send_message("http://localhost:9324/000000000000/nope", "x"),
        "QueueDoesNotExist",
        "AWS.SimpleQueueService.NonExistentQueue",
    )
    assert error.message == "The specified queue does not exist."


# -- message attributes ---------------------------------------------------------------------------------------


async def test_ten_attributes_are_accepted(engine: Engine, queue: str) -> None:
    attributes = {f"a{i}": S("String", str(i)) for i in range(10)}
    await engine.send_message(queue, "x", attributes=attributes)
    [got] = await engine.receive_message(queue, message_attribute_names=["All"])
    assert got.message_attributes == attributes


async def test_eleven_attributes_are_refused(engine: Engine, queue: str) -> None:
    attributes = {f"a{i}": S("String", str(i)) for i in range(11)}
    error = await invalid(engine.send_message(queue, "x", attributes=attributes))
    assert "11" in error.message
    assert "10" in error.message
    assert await stored(engine, queue) == 0


@pytest.mark.parametrize(
    "name",
    [
        "AWS.thing",
        "aws.thing",
        "Aws.Thing",
        "Amazon.thing",
        "AMAZON.thing",
        "amazon.thing",
        ".lead",
        "trail.",
        "dou..ble",
        "sp ace",
        "co:lon",
        "slash/",
        "ünï",
        "a" * 257,
    ],
)
async def test_invalid_attribute_names_are_refused(engine: Engine, queue: str, name: str) -> None:
    error = await invalid(engine.send_message(queue, "x", attributes={name: S("String", "v")}))
    assert name in error.message
    assert await stored(engine, queue) == 0


@pytest.mark.parametrize("name", ["a", "a" * 256, "a.b.c", "under_score", "hy-phen", "AWSome", "Amazonian", "9lives"])
async def test_valid_attribute_names_are_accepted(engine: Engine, queue: str, name: str) -> None:
    await engine.send_message(queue, "x", attributes={name: S("String", "v")})
    [got] = await engine.receive_message(queue, message_attribute_names=["All"])
    assert list(got.message_attributes) == [name]


async def test_attribute_names_are_case_sensitive(engine: Engine, queue: str) -> None:
    attributes = {"key": S("String", "lower"), "KEY": S("String", "upper")}
    await engine.send_message(queue, "x", attributes=attributes)
    [got] = await engine.receive_message(queue, message_attribute_names=["All"])
    assert got.message_attributes == attributes


@pytest.mark.parametrize(
    "value",
    [
        S("String", "text"),
        S("Number", "42"),
        S("Binary", binary_value=b"\x00\xff"),
        S("Number.int", "7"),
        S("String.json", "{}"),
        S("Binary.gif", binary_value=b"GIF89a"),
    ],
)
async def test_data_types_and_custom_suffixes_are_accepted(
    engine: Engine, queue: str, value: MessageAttributeValue
) -> None:
    await engine.send_message(queue, "x", attributes={"attr": value})
    [got] = await engine.receive_message(queue, message_attribute_names=["attr"])
    assert got.message_attributes == {"attr": value}


@pytest.mark.parametrize("data_type", ["Foo", "Integer", "Foo.String", ""])
async def test_unknown_data_types_are_refused(engine: Engine, queue: str, data_type: str) -> None:
    error = await invalid(engine.send_message(queue, "x", attributes={"attr": S(data_type, "1")}))
    assert "attr" in error.message
    assert "String" in error.message


@pytest.mark.parametrize(
    ("value", "kind"),
    [(S("String", ""), "String"), (S("Number", ""), "Number"), (S("Binary", binary_value=b""), "Binary")],
)
async def test_empty_attribute_values_are_refused(
    engine: Engine, queue: str, value: MessageAttributeValue, kind: str
) -> None:
    error = await invalid(engine.send_message(queue, "x", attributes={"X": value}))
    # SQS words this one without the "One or more parameters are invalid" preamble (SQS_SEMANTICS.md §1)
    assert error.message == f"Message (user) attribute 'X' must contain a non-empty value of type '{kind}'."


async def test_attribute_value_of_the_wrong_kind_is_refused(engine: Engine, queue: str) -> None:
    await invalid(engine.send_message(queue, "x", attributes={"X": S("String", binary_value=b"1")}))
    await invalid(engine.send_message(queue, "x", attributes={"X": S("Binary", string_value="1")}))


@pytest.mark.parametrize("number", ["0", "-17", "3.14159", "1e10", "1" + "0" * 37, "-0.5"])
async def test_valid_numbers_are_accepted(engine: Engine, queue: str, number: str) -> None:
    await engine.send_message(queue, "x", attributes={"n": S("Number", number)})
    assert await stored(engine, queue) == 1


@pytest.mark.parametrize("number", ["abc", "1.2.3", "12abc", "NaN", "Infinity", "1" * 39])
async def test_invalid_numbers_are_refused(engine: Engine, queue: str, number: str) -> None:
    error = await invalid(engine.send_message(queue, "x", attributes={"n": S("Number", number)}))
    assert "'n'" in error.message
    assert await stored(engine, queue) == 0


@pytest.mark.parametrize(
    ("number", "accepted"), [("1e126", True), ("1.1e126", False), ("-1e128", True), ("-1.1e128", False)]
)
async def test_number_range_is_minus_ten_to_the_128_to_ten_to_the_126(
    engine: Engine, queue: str, number: str, accepted: bool
) -> None:
    send = engine.send_message(queue, "x", attributes={"n": S("Number", number)})
    if accepted:
        await send
        assert await stored(engine, queue) == 1
    else:
        error = await invalid(send)
        assert "'n'" in error.message
        assert await stored(engine, queue) == 0


async def test_custom_data_type_with_a_lone_surrogate_is_refused(engine: Engine, queue: str) -> None:
    """A type SQS cannot encode is an invalid parameter, not a UnicodeEncodeError escaping the engine."""
    error = await invalid(engine.send_message(queue, "x", attributes={"a": S("String.\ud800", "v")}))
    assert "'a'" in error.message
    assert await stored(engine, queue) == 0


# -- delay ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("delay", [-1, 901])
async def test_message_delay_out_of_range_is_refused(engine: Engine, queue: str, delay: int) -> None:
    error = await invalid(engine.send_message(queue, "x", delay_seconds=delay))
    assert error.message.startswith(f"Value {delay} for parameter DelaySeconds is invalid.")
    assert "900" in error.message


async def test_message_delay_of_900_is_accepted(engine: Engine, clock: ManualClock, queue: str) -> None:
    await engine.send_message(queue, "x", delay_seconds=900)
    clock.advance(899)
    assert await engine.receive_message(queue) == []
    clock.advance(1)
    assert [m.body for m in await engine.receive_message(queue)] == ["x"]


async def test_queue_delay_applies_by_default(engine: Engine, clock: ManualClock) -> None:
    delayed = await engine.create_queue("delayed", {"DelaySeconds": "30"})
    await engine.send_message(delayed, "x")
    assert (await engine.queue_stats(delayed)).delayed == 1
    clock.advance(29)
    assert await engine.receive_message(delayed) == []
    clock.advance(1)
    assert [m.body for m in await engine.receive_message(delayed)] == ["x"]


async def test_message_delay_overrides_queue_delay(engine: Engine) -> None:
    delayed = await engine.create_queue("delayed", {"DelaySeconds": "30"})
    await engine.send_message(delayed, "now", delay_seconds=0)
    assert [m.body for m in await engine.receive_message(delayed)] == ["now"]


async def test_message_delay_is_refused_on_fifo(engine: Engine, fifo: str) -> None:
    error = await invalid(engine.send_message(fifo, "x", group_id="g", delay_seconds=2))
    assert error.message == (
        "Value 2 for parameter DelaySeconds is invalid. "
        "Reason: The request include parameter that is not valid for this queue type."
    )


async def test_deduplication_id_is_refused_on_a_standard_queue(engine: Engine, queue: str) -> None:
    error = await invalid(engine.send_message(queue, "x", deduplication_id="d"))
    assert "MessageDeduplicationId" in error.message
    assert await stored(engine, queue) == 0


async def test_message_group_id_is_accepted_on_a_standard_queue(engine: Engine, queue: str) -> None:
    """Fair queues: a standard queue takes a MessageGroupId and hands it back as a system attribute."""
    await engine.send_message(queue, "x", group_id="tenant-1")
    [got] = await engine.receive_message(queue, attribute_names=["MessageGroupId"])
    assert got.attributes["MessageGroupId"] == "tenant-1"


async def test_deduplication_id_is_refused_on_a_standard_queue_even_with_a_group(engine: Engine, queue: str) -> None:
    error = await invalid(engine.send_message(queue, "x", group_id="tenant-1", deduplication_id="d"))
    assert "MessageDeduplicationId" in error.message
    assert await stored(engine, queue) == 0


# -- SendMessageBatch -------------------------------------------------------------------------------------------


def entries(count: int, body: str = "x") -> list[SendEntry]:
    return [SendEntry(body, f"e{i}") for i in range(count)]


async def test_batch_sends_every_entry(engine: Engine, queue: str) -> None:
    result = await engine.send_message_batch(queue, entries(10))
    assert [r.id for r in result.successful] == [f"e{i}" for i in range(10)]
    assert result.failed == []
    assert len({r.message_id for r in result.successful}) == 10
    assert await stored(engine, queue) == 10


async def test_empty_batch_is_refused(engine: Engine, queue: str) -> None:
    error = await refused(
        engine.send_message_batch(queue, []), "EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest"
    )
    assert error.message


async def test_eleven_entries_are_refused(engine: Engine, queue: str) -> None:
    error = await refused(
        engine.send_message_batch(queue, entries(11)),
        "TooManyEntriesInBatchRequest",
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
    )
    assert error.message == "Maximum number of entries per request are 10. You have sent 11."
    assert await stored(engine, queue) == 0


async def test_duplicate_entry_ids_are_refused(engine: Engine, queue: str) -> None:
    batch = [SendEntry("a", "same"), SendEntry("b", "same")]
    error = await refused(
        engine.send_message_batch(queue, batch),
        "BatchEntryIdsNotDistinct",
        "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
    )
    assert "same" in error.message
    assert await stored(engine, queue) == 0


@pytest.mark.parametrize("entry_id", ["invalid:id", "sp ace", "dot.ted", "", "x" * 81])
async def test_malformed_entry_ids_are_refused(engine: Engine, queue: str, entry_id: str) -> None:
    error = await refused(
        engine.send_message_batch(queue, [SendEntry("a", entry_id)]),
        "InvalidBatchEntryId",
        "AWS.SimpleQueueService.InvalidBatchEntryId",
    )
    assert error.message == (
        "A batch entry id can only contain alphanumeric characters, hyphens and underscores. "
        "It can be at most 80 letters long."
    )


async def test_entry_id_of_80_characters_is_accepted(engine: Engine, queue: str) -> None:
    result = await engine.send_message_batch(queue, [SendEntry("a", "A-z_9" * 16)])
    assert [r.id for r in result.successful] == ["A-z_9" * 16]


async def test_batch_of_exactly_one_mebibyte_is_accepted(engine: Engine, queue: str) -> None:
    batch = [SendEntry("x" * (MIB // 2), "a"), SendEntry("x" * (MIB // 2), "b")]
    result = await engine.send_message_batch(queue, batch)
    assert len(result.successful) == 2


async def test_batch_over_one_mebibyte_is_refused_whole(engine: Engine, queue: str) -> None:
    batch = [SendEntry("x" * (MIB // 2), "a"), SendEntry("x" * (MIB // 2 + 1), "b")]
    error = await refused(
        engine.send_message_batch(queue, batch), "BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong"
    )
    assert error.message == "Batch requests cannot be longer than 1048576 bytes. You have sent 1048577 bytes."
    assert await stored(engine, queue) == 0


async def test_invalid_entry_fails_alone_inside_a_successful_batch(engine: Engine, queue: str) -> None:
    batch = [SendEntry("one", "a"), SendEntry("bad\x00", "b"), SendEntry("three", "c")]
    result = await engine.send_message_batch(queue, batch)
    assert [r.id for r in result.successful] == ["a", "c"]
    [failure] = result.failed
    assert (failure.id, failure.code, failure.sender_fault) == ("b", "InvalidMessageContents", True)
    assert failure.message
    got = await engine.receive_message(queue, max_messages=10)
    assert sorted(m.body for m in got) == ["one", "three"]


async def test_batch_entries_keep_their_own_attributes_and_delays(
    engine: Engine, clock: ManualClock, queue: str
) -> None:
    batch = [
        SendEntry("later", "a", delay_seconds=10),
        SendEntry("tagged", "b", attributes={"k": S("String", "v")}),
    ]
    result = await engine.send_message_batch(queue, batch)
    assert result.successful[1].md5_of_attributes is not None
    [now] = await engine.receive_message(queue, max_messages=10, message_attribute_names=["All"])
    assert (now.body, now.message_attributes) == ("tagged", {"k": S("String", "v")})
    clock.advance(10)
    assert [m.body for m in await engine.receive_message(queue)] == ["later"]


async def test_entry_over_the_queue_size_limit_fails_alone(engine: Engine) -> None:
    small = await engine.create_queue("small", {"MaximumMessageSize": "1024"})
    result = await engine.send_message_batch(small, [SendEntry("x" * 1025, "big"), SendEntry("x", "ok")])
    assert [r.id for r in result.successful] == ["ok"]
    assert [(f.id, f.code) for f in result.failed] == [("big", "InvalidParameterValue")]


async def test_entry_with_a_lone_surrogate_fails_alone(engine: Engine, queue: str) -> None:
    """Measuring the batch must not raise UnicodeEncodeError: the entry is refused on its own."""
    batch = [SendEntry("one", "a"), SendEntry("bad\ud800", "b"), SendEntry("three", "c")]
    result = await engine.send_message_batch(queue, batch)
    assert [r.id for r in result.successful] == ["a", "c"]
    [failure] = result.failed
    assert (failure.id, failure.code, failure.sender_fault) == ("b", "InvalidMessageContents", True)
    got = await engine.receive_message(queue, max_messages=10)
    assert sorted(m.body for m in got) == ["one", "three"]
