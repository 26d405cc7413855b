"""The 23 SQS operations, from decoded request members to the engine and back to reply members.

Both wire protocols meet here: ``shapes.py`` has already turned the request into the model's member names
(``QueueUrl``, ``Entries``, ...) with checked types, and the reply returned is in the same names, for the JSON
encoder or the XML one. This is the only place that knows both AWS's CamelCase and the engine's dataclasses.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from consumerkit.engine.engine import Engine
from consumerkit.engine.errors import SqsError
from consumerkit.engine.model import (
    BatchFailure,
    DeleteEntry,
    MessageAttributeValue,
    MoveTask,
    Page,
    ReceivedMessage,
    SendEntry,
    SendResult,
    VisibilityEntry,
)

__all__ = ["OPERATIONS", "Operation"]

Params = Mapping[str, Any]
Reply = dict[str, Any]
Operation = Callable[[Engine, Params], Awaitable[Reply]]


def _drop_none(**members: Any) -> Reply:
    """SQS leaves out the members it has no value for, empty lists and maps included."""
    return {k: v for k, v in members.items() if v is not None and v != [] and v != {}}


# -- queues --------------------------------------------------------------------------------------------------


async def create_queue(sqs: Engine, p: Params) -> Reply:
    return {"QueueUrl": await sqs.create_queue(p["QueueName"], p.get("Attributes"), p.get("tags"))}


async def get_queue_url(sqs: Engine, p: Params) -> Reply:
    return {"QueueUrl": await sqs.get_queue_url(p["QueueName"], p.get("QueueOwnerAWSAccountId"))}


async def list_queues(sqs: Engine, p: Params) -> Reply:
    page = await sqs.list_queues(p.get("QueueNamePrefix"), p.get("MaxResults"), p.get("NextToken"))
    return _drop_none(QueueUrls=page.urls, NextToken=page.next_token)


async def list_dead_letter_source_queues(sqs: Engine, p: Params) -> Reply:
    page: Page = await sqs.list_dead_letter_source_queues(p["QueueUrl"], p.get("MaxResults"), p.get("NextToken"))
    return {"queueUrls": page.urls, **_drop_none(NextToken=page.next_token)}


async def delete_queue(sqs: Engine, p: Params) -> Reply:
    await sqs.delete_queue(p["QueueUrl"])
    return {}


async def get_queue_attributes(sqs: Engine, p: Params) -> Reply:
    names = p.get("AttributeNames") or ()
    return _drop_none(Attributes=await sqs.get_queue_attributes(p["QueueUrl"], names))


async def set_queue_attributes(sqs: Engine, p: Params) -> Reply:
    await sqs.set_queue_attributes(p["QueueUrl"], p["Attributes"])
    return {}


async def purge_queue(sqs: Engine, p: Params) -> Reply:
    await sqs.purge_queue(p["QueueUrl"])
    return {}


async def tag_queue(sqs: Engine, p: Params) -> Reply:
    await sqs.tag_queue(p["QueueUrl"], p["Tags"])
    return {}


async def untag_queue(sqs: Engine, p: Params) -> Reply:
    await sqs.untag_queue(p["QueueUrl"], p["TagKeys"])
    return {}


async def list_queue_tags(sqs: Engine, p: Params) -> Reply:
    return _drop_none(Tags=await sqs.list_queue_tags(p["QueueUrl"]))


async def add_permission(sqs: Engine, p: Params) -> Reply:
    await sqs.add_permission(p["QueueUrl"], p["Label"], p["AWSAccountIds"], p["Actions"])
    return {}


async def remove_permission(sqs: Engine, p: Params) -> Reply:
    await sqs.remove_permission(p["QueueUrl"], p["Label"])
    return {}


# -- sending ------------------------------------------------------------------------------------------------


def _attribute(name: str, value: Mapping[str, Any]) -> MessageAttributeValue:
    if value.get("StringListValues") or value.get("BinaryListValues"):
        raise SqsError.invalid_parameters(
            f"Message (user) attribute '{name}': StringListValues and BinaryListValues are reserved and not supported."
        )
    return MessageAttributeValue(value["DataType"], value.get("StringValue"), value.get("BinaryValue"))


def _attributes(members: Params) -> dict[str, MessageAttributeValue] | None:
    given = members.get("MessageAttributes")
    return {k: _attribute(k, v) for k, v in given.items()} if given else None


def _trace_header(members: Params) -> str | None:
    """SQS's one sendable system attribute: AWSTraceHeader, a String."""
    system = members.get("MessageSystemAttributes") or {}
    for name, value in system.items():
        if name != "AWSTraceHeader":
            raise SqsError.invalid_parameters(f"Message system attribute name '{name}' is invalid.")
        if value.get("DataType") != "String" or not value.get("StringValue"):
            raise SqsError.invalid_parameters(
                "Message system attribute 'AWSTraceHeader' must contain a non-empty value of type 'String'."
            )
    trace = system.get("AWSTraceHeader")
    return None if trace is None else str(trace["StringValue"])


def _sent(result: SendResult) -> Reply:
    return _drop_none(
        MD5OfMessageBody=result.md5_of_body,
        MD5OfMessageAttributes=result.md5_of_attributes,
        MD5OfMessageSystemAttributes=result.md5_of_system_attributes,
        MessageId=result.message_id,
        SequenceNumber=result.sequence_number,
    )


async def send_message(sqs: Engine, p: Params) -> Reply:
    result = await sqs.send_message(
        p["QueueUrl"],
        p["MessageBody"],
        delay_seconds=p.get("DelaySeconds"),
        attributes=_attributes(p),
        trace_header=_trace_header(p),
        group_id=p.get("MessageGroupId"),
        deduplication_id=p.get("MessageDeduplicationId"),
    )
    return _sent(result)


def _send_entry(e: Params) -> SendEntry:
    return SendEntry(
        e["MessageBody"],
        e["Id"],
        e.get("DelaySeconds"),
        _attributes(e),
        _trace_header(e),
        e.get("MessageGroupId"),
        e.get("MessageDeduplicationId"),
    )


def _failed(failures: list[BatchFailure]) -> list[Reply]:
    return [{"Id": f.id, "SenderFault": f.sender_fault, "Code": f.code, "Message": f.message} for f in failures]


async def send_message_batch(sqs: Engine, p: Params) -> Reply:
    result = await sqs.send_message_batch(p["QueueUrl"], [_send_entry(e) for e in p["Entries"]])
    return {"Successful": [{"Id": r.id, **_sent(r)} for r in result.successful], "Failed": _failed(result.failed)}


# -- receiving and acknowledging ------------------------------------------------------------------------------


def _message(m: ReceivedMessage) -> Reply:
    attributes = {
        name: _drop_none(DataType=v.data_type, StringValue=v.string_value, BinaryValue=v.binary_value)
        for name, v in m.message_attributes.items()
    }
    return _drop_none(
        MessageId=m.message_id,
        ReceiptHandle=m.receipt_handle,
        MD5OfBody=m.md5_of_body,
        Body=m.body,
        Attributes=m.attributes,
        MD5OfMessageAttributes=m.md5_of_message_attributes,
        MessageAttributes=attributes,
    )


async def receive_message(sqs: Engine, p: Params) -> Reply:
    # AttributeNames is the older spelling of MessageSystemAttributeNames; SDKs send either
    names = [*(p.get("AttributeNames") or ()), *(p.get("MessageSystemAttributeNames") or ())]
    messages = await sqs.receive_message(
        p["QueueUrl"],
        max_messages=p.get("MaxNumberOfMessages"),
        wait_time_seconds=p.get("WaitTimeSeconds"),
        visibility_timeout=p.get("VisibilityTimeout"),
        attribute_names=names,
        message_attribute_names=p.get("MessageAttributeNames") or (),
        attempt_id=p.get("ReceiveRequestAttemptId"),
    )
    return _drop_none(Messages=[_message(m) for m in messages])


async def delete_message(sqs: Engine, p: Params) -> Reply:
    await sqs.delete_message(p["QueueUrl"], p["ReceiptHandle"])
    return {}


async def delete_message_batch(sqs: Engine, p: Params) -> Reply:
    entries = [DeleteEntry(e["Id"], e["ReceiptHandle"]) for e in p["Entries"]]
    result = await sqs.delete_message_batch(p["QueueUrl"], entries)
    return {"Successful": [{"Id": i} for i in result.successful], "Failed": _failed(result.failed)}


async def change_message_visibility(sqs: Engine, p: Params) -> Reply:
    await sqs.change_message_visibility(p["QueueUrl"], p["ReceiptHandle"], p["VisibilityTimeout"])
    return {}


async def change_message_visibility_batch(sqs: Engine, p: Params) -> Reply:
    entries = [VisibilityEntry(e["Id"], e["ReceiptHandle"], e.get("VisibilityTimeout", 0)) for e in p["Entries"]]
    result = await sqs.change_message_visibility_batch(p["QueueUrl"], entries)
    return {"Successful": [{"Id": i} for i in result.successful], "Failed": _failed(result.failed)}


# -- message move tasks ---------------------------------------------------------------------------------------


async def start_message_move_task(sqs: Engine, p: Params) -> Reply:
    handle = await sqs.start_message_move_task(
        p["SourceArn"], p.get("DestinationArn"), p.get("MaxNumberOfMessagesPerSecond")
    )
    return {"TaskHandle": handle}


async def cancel_message_move_task(sqs: Engine, p: Params) -> Reply:
    return {"ApproximateNumberOfMessagesMoved": await sqs.cancel_message_move_task(p["TaskHandle"])}


def _task(t: MoveTask) -> Reply:
    return _drop_none(
        TaskHandle=t.handle if t.status == "RUNNING" else None,
        Status=t.status,
        SourceArn=t.source_arn,
        DestinationArn=t.destination_arn,
        MaxNumberOfMessagesPerSecond=t.max_per_second,
        ApproximateNumberOfMessagesMoved=t.moved,
        ApproximateNumberOfMessagesToMove=t.to_move,
        FailureReason=t.failure_reason,
        StartedTimestamp=int(t.started_at * 1000),
    )


async def list_message_move_tasks(sqs: Engine, p: Params) -> Reply:
    return _drop_none(
        Results=[_task(t) for t in await sqs.list_message_move_tasks(p["SourceArn"], p.get("MaxResults"))]
    )


OPERATIONS: dict[str, Operation] = {
    "AddPermission": add_permission,
    "CancelMessageMoveTask": cancel_message_move_task,
    "ChangeMessageVisibility": change_message_visibility,
    "ChangeMessageVisibilityBatch": change_message_visibility_batch,
    "CreateQueue": create_queue,
    "DeleteMessage": delete_message,
    "DeleteMessageBatch": delete_message_batch,
    "DeleteQueue": delete_queue,
    "GetQueueAttributes": get_queue_attributes,
    "GetQueueUrl": get_queue_url,
    "ListDeadLetterSourceQueues": list_dead_letter_source_queues,
    "ListMessageMoveTasks": list_message_move_tasks,
    "ListQueueTags": list_queue_tags,
    "ListQueues": list_queues,
    "PurgeQueue": purge_queue,
    "ReceiveMessage": receive_message,
    "RemovePermission": remove_permission,
    "SendMessage": send_message,
    "SendMessageBatch": send_message_batch,
    "SetQueueAttributes": set_queue_attributes,
    "StartMessageMoveTask": start_message_move_task,
    "TagQueue": tag_queue,
    "UntagQueue": untag_queue,
}
