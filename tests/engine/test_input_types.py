"""Wrong types and malformed numbers are SQS errors naming the parameter, never Python exceptions: the engine is
also fed whatever a wire protocol decoded, and a crash there would be a 500 or, on the memory store, a message
stranded in flight."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from consumerkit.engine import DeleteEntry, Engine, MessageAttributeValue, SendEntry, SqsError, VisibilityEntry

HUGE = 10**5000
S = MessageAttributeValue
Call = Callable[[Engine, str], Awaitable[object]]

CALLS: dict[str, Call] = {
    "max_messages huge": lambda e, q: e.receive_message(q, max_messages=HUGE),
    "max_messages str": lambda e, q: e.receive_message(q, max_messages="1"),  # type: ignore[arg-type]
    "wait float": lambda e, q: e.receive_message(q, wait_time_seconds=1.5),  # type: ignore[arg-type]
    "visibility bool": lambda e, q: e.receive_message(q, visibility_timeout=True),
    "attribute names None": lambda e, q: e.receive_message(q, attribute_names=None),  # type: ignore[arg-type]
    "attribute names nested": lambda e, q: e.receive_message(q, attribute_names=[["All"]]),  # type: ignore[list-item]
    "attempt id int": lambda e, q: e.receive_message(q, attempt_id=5),  # type: ignore[arg-type]
    "delay huge": lambda e, q: e.send_message(q, "x", delay_seconds=HUGE),
    "group id bytes": lambda e, q: e.send_message(q, "x", group_id=b"g"),  # type: ignore[arg-type]
    "dedup id int": lambda e, q: e.send_message(q, "x", deduplication_id=5),  # type: ignore[arg-type]
    "attributes list": lambda e, q: e.send_message(q, "x", attributes=[1]),  # type: ignore[arg-type]
    "attribute name int": lambda e, q: e.send_message(q, "x", attributes={5: S("String", "v")}),  # type: ignore[dict-item]
    "attribute value dict": lambda e, q: e.send_message(q, "x", attributes={"a": {"DataType": "String"}}),  # type: ignore[dict-item]
    "attribute type int": lambda e, q: e.send_message(q, "x", attributes={"a": S(5, "v")}),  # type: ignore[arg-type]
    "number value int": lambda e, q: e.send_message(q, "x", attributes={"a": S("Number", 5)}),  # type: ignore[arg-type]
    "binary value str": lambda e, q: e.send_message(q, "x", attributes={"a": S("Binary", None, "s")}),  # type: ignore[arg-type]
    "batch None": lambda e, q: e.send_message_batch(q, None),  # type: ignore[arg-type]
    "batch of dicts": lambda e, q: e.send_message_batch(q, [{"Id": "1"}]),  # type: ignore[list-item]
    "delete batch of tuples": lambda e, q: e.delete_message_batch(q, [("1", "h")]),  # type: ignore[list-item]
    "visibility batch None": lambda e, q: e.change_message_visibility_batch(q, None),  # type: ignore[arg-type]
    "visibility huge": lambda e, q: e.change_message_visibility(q, "h", HUGE),
    "get attributes None": lambda e, q: e.get_queue_attributes(q, None),  # type: ignore[arg-type]
    "set attributes list": lambda e, q: e.set_queue_attributes(q, []),  # type: ignore[arg-type]
    "set attributes int value": lambda e, q: e.set_queue_attributes(q, {"DelaySeconds": HUGE}),  # type: ignore[dict-item]
    "tag list": lambda e, q: e.tag_queue(q, [("a", "b")]),  # type: ignore[arg-type]
    "untag a string": lambda e, q: e.untag_queue(q, "ab"),
    "permission accounts str": lambda e, q: e.add_permission(q, "L", "123456789012", ["SendMessage"]),
    "permission actions int": lambda e, q: e.add_permission(q, "L", ["123456789012"], 5),  # type: ignore[arg-type]
    "list prefix int": lambda e, q: e.list_queues(prefix=5),  # type: ignore[arg-type]
    "list token bytes": lambda e, q: e.list_queues(max_results=5, next_token=b"x"),  # type: ignore[arg-type]
    "list max huge": lambda e, q: e.list_queues(max_results=HUGE),
    "move rate huge": lambda e, q: e.start_message_move_task("arn:aws:sqs:us-east-1:000000000000:q", None, HUGE),
    "create attributes str": lambda e, q: e.create_queue("other", "abc"),  # type: ignore[arg-type]
    "create tags list": lambda e, q: e.create_queue("other", None, [1]),  # type: ignore[arg-type]
}


# Values an SDK cannot put on the wire as they are, so the server never sees them: over the wire these cases would
# test botocore's serializer, not the server. The other cases do run over the wire, against the server's checks.
NO_WIRE_SPELLING = {
    # a 5000-digit integer: JSON encoders refuse it (Python's int-to-text limit)
    "max_messages huge": "a 5000-digit integer has no JSON spelling",
    "delay huge": "a 5000-digit integer has no JSON spelling",
    "visibility huge": "a 5000-digit integer has no JSON spelling",
    "set attributes int value": "a 5000-digit integer has no JSON spelling",
    "list max huge": "a 5000-digit integer has no JSON spelling",
    "move rate huge": "a 5000-digit integer has no JSON spelling",
    "group id bytes": "bytes where a string goes have no JSON spelling",
    "list token bytes": "bytes where a string goes have no JSON spelling",
    "attribute names None": "None is an absent member on the wire, which is valid",
    "get attributes None": "None is an absent member on the wire, which is valid",
    "attribute name int": "JSON keys are strings: 5 arrives as the valid name '5'",
    "binary value str": "the SDK base64-encodes a str blob: a valid binary value arrives",
    "untag a string": "the SDK sends a string as a list of its characters: a valid list arrives",
    "permission accounts str": "the SDK sends a string as a list of its characters: a valid list arrives",
    "permission actions int": "the SDK cannot serialise an int as a list (TypeError before sending)",
    "attributes list": "the SDK cannot serialise a list as a map (AttributeError before sending)",
    "set attributes list": "the SDK cannot serialise a list as a map (AttributeError before sending)",
    "tag list": "the SDK cannot serialise a list as a map (AttributeError before sending)",
    "create attributes str": "the SDK cannot serialise a string as a map (AttributeError before sending)",
    "create tags list": "the SDK cannot serialise a list as a map (AttributeError before sending)",
    "delete batch of tuples": "the SDK cannot serialise a tuple as a structure (AttributeError before sending)",
}


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.in_process(NO_WIRE_SPELLING[n])) if n in NO_WIRE_SPELLING else n for n in CALLS],
)
async def test_a_wrong_type_is_an_sqs_error(engine: Engine, queue: str, name: str) -> None:
    await engine.tag_queue(queue, {"a": "1"})
    with pytest.raises(SqsError) as info:
        await CALLS[name](engine, queue)
    assert info.value.status == 400
    assert len(info.value.message) < 400  # a huge value is summarised, not printed


@pytest.mark.parametrize("value", ["３０", "3_0", " 30", "30.0", "1e2"])
async def test_integer_attributes_take_ascii_digits_only(engine: Engine, queue: str, value: str) -> None:
    with pytest.raises(SqsError) as info:
        await engine.set_queue_attributes(queue, {"VisibilityTimeout": value})
    assert info.value.code == "InvalidAttributeValue"


@pytest.mark.parametrize("count", ["٢", "2.0", True])
async def test_max_receive_count_takes_a_plain_integer(engine: Engine, queue: str, count: Any) -> None:
    await engine.create_queue("dlq")
    policy = '{"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:dlq", "maxReceiveCount": %s}'
    raw = policy % (f'"{count}"' if isinstance(count, str) else "true")
    with pytest.raises(SqsError):
        await engine.set_queue_attributes(queue, {"RedrivePolicy": raw})


@pytest.mark.parametrize("value", ["1_000", " 7 ", "0x10", "∞", "1e"])
async def test_number_attributes_are_plain_decimal_numbers(engine: Engine, queue: str, value: str) -> None:
    with pytest.raises(SqsError) as info:
        await engine.send_message(queue, "x", attributes={"n": S("Number", value)})
    assert "to a number" in info.value.message


@pytest.mark.parametrize("policy", ['{"Statement": [1]}', '{"Statement": "x"}', "[]", '{"Statement": null}'])
async def test_a_policy_must_be_a_map_of_statements(engine: Engine, queue: str, policy: str) -> None:
    with pytest.raises(SqsError) as info:
        await engine.set_queue_attributes(queue, {"Policy": policy})
    assert info.value.code == "InvalidAttributeValue"
    await engine.add_permission(queue, "L", ["123456789012"], ["SendMessage"])  # the queue still works


# Text JSON can carry but no reply or store can hold: a lone surrogate is no character at all in UTF-8.
NOT_TEXT = {"lone surrogate": "\ud83d", "U+FFFE": "\ufffe", "control character": "\x01"}


@pytest.mark.parametrize("bad", NOT_TEXT.values(), ids=NOT_TEXT.keys())
@pytest.mark.parametrize("op", ["create", "set"])
async def test_a_policy_holds_only_message_characters(engine: Engine, queue: str, op: str, bad: str) -> None:
    """Inside a JSON string a policy can hold any character; one SQS does not accept is InvalidAttributeValue
    naming Policy (it crashed encoding the policy to measure it)."""
    policy = '{"Statement": [], "Id": "x' + bad + 'y"}'
    with pytest.raises(SqsError) as info:
        if op == "create":
            await engine.create_queue("policed", {"Policy": policy})
        else:
            await engine.set_queue_attributes(queue, {"Policy": policy})
    assert (info.value.shape, info.value.status) == ("InvalidAttributeValue", 400)
    assert "parameter Policy" in info.value.message and "U+" in info.value.message
    assert await engine.get_queue_url("jobs") == queue and len((await engine.list_queues()).urls) == 1
    assert "Policy" not in await engine.get_queue_attributes(queue)


async def test_a_policy_may_spell_any_character_as_an_escape(engine: Engine, queue: str) -> None:
    policy = '{"Statement": [], "Id": "\\ud83d \\u0001 \u00e9 \U0001f600"}'
    await engine.set_queue_attributes(queue, {"Policy": policy})
    assert (await engine.get_queue_attributes(queue, ["Policy"]))["Policy"] == policy


@pytest.mark.parametrize("bad", NOT_TEXT.values(), ids=NOT_TEXT.keys())
async def test_a_kms_key_id_holds_only_message_characters(engine: Engine, queue: str, bad: str) -> None:
    with pytest.raises(SqsError) as info:
        await engine.set_queue_attributes(queue, {"KmsMasterKeyId": f"alias/{bad}"})
    assert info.value.shape == "InvalidAttributeValue"
    assert "parameter KmsMasterKeyId" in info.value.message
    assert "KmsMasterKeyId" not in await engine.get_queue_attributes(queue)


@pytest.mark.parametrize("bad", NOT_TEXT.values(), ids=NOT_TEXT.keys())
@pytest.mark.parametrize("op", ["create", "set"])
async def test_a_dead_letter_arn_naming_no_valid_queue_is_refused(
    engine: Engine, queue: str, op: str, bad: str
) -> None:
    """An ARN ending in no valid queue name names no queue: the RedrivePolicy's own error, not a store crash."""
    await engine.create_queue("dlq")
    arn = f"arn:aws:sqs:us-east-1:000000000000:dlq{bad}"
    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 3})
    with pytest.raises(SqsError) as info:
        if op == "create":
            await engine.create_queue("source", {"RedrivePolicy": policy})
        else:
            await engine.set_queue_attributes(queue, {"RedrivePolicy": policy})
    assert info.value.code == "InvalidParameterValue"
    assert "parameter RedrivePolicy" in info.value.message and "does not exist" in info.value.message
    assert "RedrivePolicy" not in await engine.get_queue_attributes(queue)


@pytest.mark.in_process("passes another operation's entry dataclass: a Python type mix-up with no JSON spelling")
async def test_entry_types_in_a_batch_are_checked(engine: Engine, queue: str) -> None:
    for call in (
        engine.send_message_batch(queue, [SendEntry("x", id="1"), DeleteEntry("2", "h")]),  # type: ignore[list-item]
        engine.delete_message_batch(queue, [VisibilityEntry("1", "h", 0)]),  # type: ignore[list-item]
    ):
        with pytest.raises(SqsError) as info:
            await call
        assert "Entries" in info.value.message
