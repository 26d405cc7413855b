"""Get/SetQueueAttributes: defaults, ranges, FIFO-only names, timestamps, counters and encryption."""

from __future__ import annotations

from typing import Any

import pytest

from consumerkit.engine import Engine, ManualClock, SqsError
from tests.engine.expect import fails

STANDARD_KEYS = {
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesDelayed",
    "ApproximateNumberOfMessagesNotVisible",
    "CreatedTimestamp",
    "DelaySeconds",
    "LastModifiedTimestamp",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "QueueArn",
    "ReceiveMessageWaitTimeSeconds",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
}
FIFO_KEYS = {"FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"}

# name -> (minimum, maximum, default)  (SQS_SEMANTICS.md §1)
RANGES: dict[str, tuple[int, int, int]] = {
    "DelaySeconds": (0, 900, 0),
    "MaximumMessageSize": (1_024, 1_048_576, 1_048_576),
    "MessageRetentionPeriod": (60, 1_209_600, 345_600),
    "ReceiveMessageWaitTimeSeconds": (0, 20, 0),
    "VisibilityTimeout": (0, 43_200, 30),
    "KmsDataKeyReusePeriodSeconds": (60, 86_400, 300),
}
KMS = {"KmsMasterKeyId": "alias/aws/sqs"}


def boundaries() -> list[Any]:
    cases = []
    for name, (low, high, _) in RANGES.items():
        for value, ok in ((low - 1, False), (low, True), (high, True), (high + 1, False)):
            for op in ("create", "set"):
                cases.append(pytest.param(name, value, ok, op, id=f"{op}-{name}-{value}"))
    return cases


async def counters(engine: Engine, url: str) -> tuple[int, int, int]:
    a = await engine.get_queue_attributes(
        url,
        ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"],
    )
    return (
        int(a["ApproximateNumberOfMessages"]),
        int(a["ApproximateNumberOfMessagesNotVisible"]),
        int(a["ApproximateNumberOfMessagesDelayed"]),
    )


# -- defaults ----------------------------------------------------------------------------------------------


async def test_all_attributes_of_a_new_standard_queue(engine: Engine, queue: str, clock: ManualClock) -> None:
    attributes = await engine.get_queue_attributes(queue, ["All"])
    assert set(attributes) == STANDARD_KEYS
    assert all(isinstance(v, str) for v in attributes.values())
    assert attributes == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesDelayed": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
        "CreatedTimestamp": str(int(clock.now())),
        "DelaySeconds": "0",
        "LastModifiedTimestamp": str(int(clock.now())),
        "MaximumMessageSize": "1048576",
        "MessageRetentionPeriod": "345600",
        "QueueArn": "arn:aws:sqs:us-east-1:000000000000:jobs",
        "ReceiveMessageWaitTimeSeconds": "0",
        "SqsManagedSseEnabled": "true",
        "VisibilityTimeout": "30",
    }


async def test_all_attributes_of_a_new_fifo_queue(engine: Engine) -> None:
    url = await engine.create_queue("jobs.fifo", {"FifoQueue": "true"})
    attributes = await engine.get_queue_attributes(url, ["All"])
    assert set(attributes) == STANDARD_KEYS | FIFO_KEYS
    assert attributes["FifoQueue"] == "true"
    assert attributes["ContentBasedDeduplication"] == "false"
    assert attributes["DeduplicationScope"] == "queue"
    assert attributes["FifoThroughputLimit"] == "perQueue"
    assert attributes["QueueArn"] == "arn:aws:sqs:us-east-1:000000000000:jobs.fifo"


async def test_fifo_high_throughput_attributes(engine: Engine) -> None:
    url = await engine.create_queue(
        "fast.fifo",
        {"FifoQueue": "true", "DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"},
    )
    attributes = await engine.get_queue_attributes(url, ["DeduplicationScope", "FifoThroughputLimit"])
    assert attributes == {"DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"}
    await engine.set_queue_attributes(url, {"DeduplicationScope": "queue", "FifoThroughputLimit": "perQueue"})
    attributes = await engine.get_queue_attributes(url, ["DeduplicationScope", "FifoThroughputLimit"])
    assert attributes == {"DeduplicationScope": "queue", "FifoThroughputLimit": "perQueue"}


@pytest.mark.parametrize(("name", "value"), [("DeduplicationScope", "group"), ("FifoThroughputLimit", "perGroup")])
async def test_fifo_choice_attribute_with_unknown_value_is_rejected(
    engine: Engine, fifo: str, name: str, value: str
) -> None:
    error = await fails(engine.set_queue_attributes(fifo, {name: value}))
    assert error.code == "InvalidAttributeValue"
    assert name in error.message


async def test_kms_queue_shows_key_and_reuse_period_and_no_sse_sqs(engine: Engine) -> None:
    url = await engine.create_queue("secret", KMS)
    attributes = await engine.get_queue_attributes(url)
    assert attributes["KmsMasterKeyId"] == "alias/aws/sqs"
    assert attributes["KmsDataKeyReusePeriodSeconds"] == "300"
    assert attributes["SqsManagedSseEnabled"] == "false"


async def test_sse_sqs_and_sse_kms_are_exclusive(engine: Engine) -> None:
    error = await fails(engine.create_queue("secret", {**KMS, "SqsManagedSseEnabled": "true"}))
    assert error.shape in ("InvalidAttributeValue", "InvalidAttributeName")
    assert "SqsManagedSseEnabled" in error.message or "KmsMasterKeyId" in error.message
    assert (await engine.list_queues()).urls == []
    url = await engine.create_queue("secret", KMS)
    error = await fails(engine.set_queue_attributes(url, {"SqsManagedSseEnabled": "true"}))
    assert error.shape in ("InvalidAttributeValue", "InvalidAttributeName")
    assert (await engine.get_queue_attributes(url, ["SqsManagedSseEnabled"])) == {"SqsManagedSseEnabled": "false"}


async def test_sse_sqs_can_be_disabled(engine: Engine, queue: str) -> None:
    await engine.set_queue_attributes(queue, {"SqsManagedSseEnabled": "false"})
    assert await engine.get_queue_attributes(queue, ["SqsManagedSseEnabled"]) == {"SqsManagedSseEnabled": "false"}


# -- ranges ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "value", "ok", "op"), boundaries())
async def test_integer_attribute_boundaries(engine: Engine, name: str, value: int, ok: bool, op: str) -> None:
    low, high, default = RANGES[name]
    extra = KMS if name == "KmsDataKeyReusePeriodSeconds" else {}
    if op == "create":
        call = engine.create_queue("q", {**extra, name: str(value)})
    else:
        url = await engine.create_queue("q", extra)
        call = engine.set_queue_attributes(url, {name: str(value)})
    if ok:
        await call
        assert await engine.get_queue_attributes("q", [name]) == {name: str(value)}
        return
    error = await fails(call)
    assert error.shape == "InvalidAttributeValue"
    assert error.code == "InvalidAttributeValue"
    assert error.status == 400
    assert name in error.message
    assert str(low) in error.message and str(high) in error.message
    if op == "create":
        assert (await engine.list_queues()).urls == []
    else:
        assert await engine.get_queue_attributes("q", [name]) == {name: str(default)}


@pytest.mark.parametrize("value", ["abc", "", "1.5", "ten"])
async def test_non_integer_attribute_value_is_rejected(engine: Engine, queue: str, value: str) -> None:
    error = await fails(engine.set_queue_attributes(queue, {"VisibilityTimeout": value}))
    assert error.code == "InvalidAttributeValue"
    assert "VisibilityTimeout" in error.message


async def test_rejected_set_changes_nothing(engine: Engine, queue: str) -> None:
    """SetQueueAttributes is all-or-nothing: a bad value leaves the valid ones in the request unapplied."""
    error = await fails(engine.set_queue_attributes(queue, {"VisibilityTimeout": "60", "DelaySeconds": "901"}))
    assert "DelaySeconds" in error.message
    assert await engine.get_queue_attributes(queue, ["VisibilityTimeout", "DelaySeconds"]) == {
        "VisibilityTimeout": "30",
        "DelaySeconds": "0",
    }


async def test_set_several_attributes(engine: Engine, queue: str) -> None:
    await engine.set_queue_attributes(
        queue, {"VisibilityTimeout": "120", "DelaySeconds": "7", "ReceiveMessageWaitTimeSeconds": "20"}
    )
    assert await engine.get_queue_attributes(
        queue, ["VisibilityTimeout", "DelaySeconds", "ReceiveMessageWaitTimeSeconds"]
    ) == {"VisibilityTimeout": "120", "DelaySeconds": "7", "ReceiveMessageWaitTimeSeconds": "20"}


# -- names -------------------------------------------------------------------------------------------------


FIFO_ONLY = [
    ("FifoQueue", "true", "Unknown Attribute FifoQueue."),
    ("ContentBasedDeduplication", "true", None),
    ("DeduplicationScope", "queue", "You can specify the DeduplicationScope only when FifoQueue is set to true."),
    ("FifoThroughputLimit", "perQueue", None),
]


def check_fifo_only_error(error: SqsError, name: str, wording: str | None) -> None:
    assert error.shape == "InvalidAttributeName"
    assert error.code == "InvalidAttributeName"
    assert error.status == 400
    if wording is not None:
        assert error.message == wording
    assert name in error.message


@pytest.mark.parametrize(("name", "value", "wording"), FIFO_ONLY)
async def test_fifo_only_attribute_set_on_standard_queue_is_invalid_name(
    engine: Engine, queue: str, name: str, value: str, wording: str | None
) -> None:
    check_fifo_only_error(await fails(engine.set_queue_attributes(queue, {name: value})), name, wording)
    assert FIFO_KEYS.isdisjoint(await engine.get_queue_attributes(queue))


@pytest.mark.parametrize(("name", "value", "wording"), FIFO_ONLY[1:])
async def test_fifo_only_attribute_at_standard_create_is_invalid_name(
    engine: Engine, name: str, value: str, wording: str | None
) -> None:
    check_fifo_only_error(await fails(engine.create_queue("plain", {name: value})), name, wording)
    assert (await engine.list_queues()).urls == []


async def test_queue_type_cannot_change(engine: Engine, fifo: str) -> None:
    error = await fails(engine.set_queue_attributes(fifo, {"FifoQueue": "false"}))
    assert error.code == "InvalidAttributeValue"
    assert error.message == "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported."
    assert (await engine.get_queue_attributes(fifo, ["FifoQueue"])) == {"FifoQueue": "true"}


async def test_unknown_attribute_name_in_get_is_invalid_attribute_name(engine: Engine, queue: str) -> None:
    error = await fails(engine.get_queue_attributes(queue, ["VisibilityTimeout", "Bogus"]))
    assert error.shape == "InvalidAttributeName"
    assert error.status == 400
    assert error.message == "Unknown Attribute Bogus."


@pytest.mark.parametrize("name", ["Bogus", "QueueArn", "ApproximateNumberOfMessages", "CreatedTimestamp"])
async def test_unknown_or_read_only_attribute_in_set_is_invalid_attribute_name(
    engine: Engine, queue: str, name: str
) -> None:
    error = await fails(engine.set_queue_attributes(queue, {name: "1"}))
    assert error.shape == "InvalidAttributeName"
    assert name in error.message


async def test_unknown_attribute_name_in_create_is_invalid_attribute_name(engine: Engine) -> None:
    error = await fails(engine.create_queue("q", {"Colour": "blue"}))
    assert error.shape == "InvalidAttributeName"
    assert "Colour" in error.message
    assert (await engine.list_queues()).urls == []


async def test_specific_names_return_just_those(engine: Engine, queue: str) -> None:
    attributes = await engine.get_queue_attributes(
        queue, ["VisibilityTimeout", "QueueArn", "ApproximateNumberOfMessages"]
    )
    assert attributes == {
        "VisibilityTimeout": "30",
        "QueueArn": "arn:aws:sqs:us-east-1:000000000000:jobs",
        "ApproximateNumberOfMessages": "0",
    }


async def test_asking_for_an_unset_attribute_returns_nothing_for_it(engine: Engine, queue: str) -> None:
    assert await engine.get_queue_attributes(queue, ["Policy", "RedrivePolicy", "DelaySeconds"]) == {
        "DelaySeconds": "0"
    }


# -- timestamps --------------------------------------------------------------------------------------------


async def test_timestamps_are_epoch_seconds_and_set_updates_last_modified(engine: Engine, clock: ManualClock) -> None:
    created = int(clock.now())
    url = await engine.create_queue("q")
    clock.advance(125.5)
    await engine.set_queue_attributes(url, {"VisibilityTimeout": "45"})
    attributes = await engine.get_queue_attributes(url, ["CreatedTimestamp", "LastModifiedTimestamp"])
    assert attributes["CreatedTimestamp"] == str(created)
    assert len(attributes["CreatedTimestamp"]) == 10  # seconds, not milliseconds
    assert attributes["LastModifiedTimestamp"] == str(int(clock.now()))
    assert int(attributes["LastModifiedTimestamp"]) - int(attributes["CreatedTimestamp"]) == 125


async def test_sending_and_receiving_do_not_touch_last_modified(engine: Engine, queue: str, clock: ManualClock) -> None:
    before = await engine.get_queue_attributes(queue, ["LastModifiedTimestamp"])
    clock.advance(10)
    await engine.send_message(queue, "x")
    await engine.receive_message(queue)
    assert await engine.get_queue_attributes(queue, ["LastModifiedTimestamp"]) == before


# -- counters ----------------------------------------------------------------------------------------------


async def test_counters_reflect_visible_in_flight_and_delayed(engine: Engine, queue: str, clock: ManualClock) -> None:
    for body in ("a", "b", "c"):
        await engine.send_message(queue, body)
    await engine.send_message(queue, "later", delay_seconds=30)
    assert await counters(engine, queue) == (3, 0, 1)
    received = await engine.receive_message(queue, visibility_timeout=60)
    assert len(received) == 1
    assert await counters(engine, queue) == (2, 1, 1)
    clock.advance(30)
    assert await counters(engine, queue) == (3, 1, 0)
    clock.advance(30)
    assert await counters(engine, queue) == (4, 0, 0)
    again = await engine.receive_message(queue, max_messages=10)
    for message in again:
        await engine.delete_message(queue, message.receipt_handle)
    assert await counters(engine, queue) == (0, 0, 0)


async def test_queue_delay_counts_as_delayed(engine: Engine, queue: str, clock: ManualClock) -> None:
    await engine.set_queue_attributes(queue, {"DelaySeconds": "10"})
    await engine.send_message(queue, "x")
    assert await counters(engine, queue) == (0, 0, 1)
    clock.advance(10)
    assert await counters(engine, queue) == (1, 0, 0)


async def test_all_includes_current_counters(engine: Engine, queue: str) -> None:
    await engine.send_message(queue, "x")
    await engine.send_message(queue, "y")
    attributes = await engine.get_queue_attributes(queue, ["All"])
    assert attributes["ApproximateNumberOfMessages"] == "2"
