"""The engine suite over the wire: the same tests, with every SQS call going through a real SDK client.

``served`` puts an :class:`~consumerkit.engine.server.SqsServer` in front of an engine, on this event loop and a
free loopback port, and yields a :class:`WireEngine`: the engine's own API, implemented by calling aiobotocore
and turning its replies back into the engine's dataclasses and its ``ClientError`` back into ``SqsError``. What
is not an SQS operation (``store``, ``clock``, ``queue_stats``, ...) is the engine itself, so a test can still look
at the backlog or advance the clock the server runs on.

The client believes it talks to ``http://localhost:9324``, the engine's default endpoint, and a resolver sends
its connections to the real port: queue URLs then come back from the server exactly as the in-process engine
spells them, with no rewriting in between.

The adapter converts and never repairs: an error whose code, status or fault on the wire disagrees with its
shape is an assertion failure here, not an ``SqsError`` that the suite would accept.
"""

from __future__ import annotations

import inspect
import socket
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from functools import cache
from typing import Any, TypeVar

from aiobotocore.config import AioConfig  # type: ignore[import-untyped]
from aiobotocore.session import AioSession, get_session  # type: ignore[import-untyped]
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from botocore.exceptions import ClientError

from consumerkit.engine import (
    BatchFailure,
    BatchResult,
    DeleteEntry,
    Engine,
    MessageAttributeValue,
    MoveTask,
    Page,
    ReceivedMessage,
    SendEntry,
    SendResult,
    SqsError,
    VisibilityEntry,
)
from consumerkit.engine.context import DEFAULT_ENDPOINT
from consumerkit.engine.errors import SPECS
from consumerkit.engine.server import ServerConfig, SqsServer

__all__ = ["WireEngine", "served"]

Members = dict[str, Any]
T = TypeVar("T")

# The host and port the client is told; the resolver below maps them to the server's real address.
_HOST, _PORT = DEFAULT_ENDPOINT.removeprefix("http://").split(":")
_SHAPE_OF_CODE = {spec.query_code: spec.shape for spec in SPECS.values()}
assert len(_SHAPE_OF_CODE) == len(SPECS), "two error shapes share a query code: batch failures would be ambiguous"


@cache
def _session() -> AioSession:
    """One botocore session for the whole run: it caches the SQS model, which makes each client cheap."""
    return get_session()


class _Loopback(AbstractResolver):
    """Resolves the engine's default endpoint (``localhost:9324``) to the in-process server's address."""

    def __init__(self, port: int) -> None:
        self.port = port

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[Any]:
        assert (host, str(port)) == (_HOST, _PORT), f"the wire client tried to reach {host}:{port}"
        result: ResolveResult = {
            "hostname": host,
            "host": "127.0.0.1",
            "port": self.port,
            "family": socket.AF_INET,
            "proto": 0,
            "flags": socket.AI_NUMERICHOST,
        }
        return [result]

    async def close(self) -> None:
        pass


def _config(port: int) -> AioConfig:
    return AioConfig(
        retries={"total_max_attempts": 1},  # an error surfaces at once, as the engine raises it
        parameter_validation=False,  # let the engine's own validation answer, through the server
        connect_timeout=5,
        read_timeout=30,  # above SQS's longest poll (20 s)
        max_pool_connections=64,  # room for the concurrent long polls of the suite
        connector_args={"resolver": _Loopback(port)},
    )


@asynccontextmanager
async def served(engine: Engine) -> AsyncIterator[WireEngine]:
    """``engine`` served over HTTP on a free loopback port, and a WireEngine calling it through aiobotocore."""
    runner = web.AppRunner(
        SqsServer(engine, ServerConfig(port=0)).application(),
        handle_signals=False,
        handler_cancellation=True,  # a client giving up on a long poll cancels it, as an in-process cancel does
        shutdown_timeout=0.1,
        access_log=None,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        async with _session().create_client(
            "sqs",
            region_name="us-east-1",
            endpoint_url=DEFAULT_ENDPOINT,
            aws_access_key_id="wire",
            aws_secret_access_key="wire",
            verify=False,  # plain HTTP on loopback: spares loading the CA bundle (~40 ms per client)
            config=_config(port),
        ) as client:
            yield WireEngine(engine, client)
    finally:
        await runner.cleanup()


class WireEngine:
    """The engine's SQS operations, each one an SDK call to the server; anything else is the engine's own."""

    def __init__(self, engine: Engine, client: Any) -> None:
        self.engine = engine
        self.client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    def __repr__(self) -> str:
        return f"WireEngine({self.engine!r})"

    async def _call(self, operation: str, **members: Any) -> Members:
        """One SDK call; members that are None are left out, as the engine's defaults are."""
        given = {name: value for name, value in members.items() if value is not None}
        try:
            reply: Members = await getattr(self.client, operation)(**given)
        except ClientError as error:
            raise _sqs_error(error) from error
        return reply

    # -- queues ----------------------------------------------------------------------------------------------

    async def create_queue(
        self, name: str, attributes: Mapping[str, str] | None = None, tags: Mapping[str, str] | None = None
    ) -> str:
        reply = await self._call("create_queue", QueueName=name, Attributes=attributes, tags=tags)
        return str(reply["QueueUrl"])

    async def get_queue_url(self, name: str, owner_account_id: str | None = None) -> str:
        reply = await self._call("get_queue_url", QueueName=name, QueueOwnerAWSAccountId=owner_account_id)
        return str(reply["QueueUrl"])

    async def list_queues(
        self, prefix: str | None = None, max_results: int | None = None, next_token: str | None = None
    ) -> Page:
        reply = await self._call("list_queues", QueueNamePrefix=prefix, MaxResults=max_results, NextToken=next_token)
        return Page(reply.get("QueueUrls", []), reply.get("NextToken"))

    async def list_dead_letter_source_queues(
        self, queue_url: str, max_results: int | None = None, next_token: str | None = None
    ) -> Page:
        reply = await self._call(
            "list_dead_letter_source_queues", QueueUrl=queue_url, MaxResults=max_results, NextToken=next_token
        )
        return Page(reply["queueUrls"], reply.get("NextToken"))

    async def delete_queue(self, queue_url: str) -> None:
        await self._call("delete_queue", QueueUrl=queue_url)

    async def get_queue_attributes(self, queue_url: str, names: Iterable[str] = ("All",)) -> dict[str, str]:
        reply = await self._call("get_queue_attributes", QueueUrl=queue_url, AttributeNames=names)
        return dict(reply.get("Attributes", {}))

    async def set_queue_attributes(self, queue_url: str, attributes: Mapping[str, str]) -> None:
        await self._call("set_queue_attributes", QueueUrl=queue_url, Attributes=attributes)

    async def purge_queue(self, queue_url: str) -> None:
        await self._call("purge_queue", QueueUrl=queue_url)

    async def tag_queue(self, queue_url: str, tags: Mapping[str, str]) -> None:
        await self._call("tag_queue", QueueUrl=queue_url, Tags=tags)

    async def untag_queue(self, queue_url: str, keys: Sequence[str]) -> None:
        await self._call("untag_queue", QueueUrl=queue_url, TagKeys=keys)

    async def list_queue_tags(self, queue_url: str) -> dict[str, str]:
        return dict((await self._call("list_queue_tags", QueueUrl=queue_url)).get("Tags", {}))

    async def add_permission(
        self, queue_url: str, label: str, account_ids: Sequence[str], actions: Sequence[str]
    ) -> None:
        await self._call("add_permission", QueueUrl=queue_url, Label=label, AWSAccountIds=account_ids, Actions=actions)

    async def remove_permission(self, queue_url: str, label: str) -> None:
        await self._call("remove_permission", QueueUrl=queue_url, Label=label)

    # -- sending ---------------------------------------------------------------------------------------------

    async def send_message(
        self,
        queue_url: str,
        body: str,
        *,
        delay_seconds: int | None = None,
        attributes: dict[str, MessageAttributeValue] | None = None,
        trace_header: str | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
    ) -> SendResult:
        entry = SendEntry(body, "", delay_seconds, attributes, trace_header, group_id, deduplication_id)
        reply = await self._call("send_message", QueueUrl=queue_url, **_send_members(entry))
        return _sent(reply)

    async def send_message_batch(self, queue_url: str, entries: Sequence[SendEntry]) -> BatchResult[SendResult]:
        wire_entries = _entries(entries, SendEntry, lambda e: {"Id": e.id, **_send_members(e)})
        reply = await self._call("send_message_batch", QueueUrl=queue_url, Entries=wire_entries)
        return BatchResult([_sent(r) for r in reply.get("Successful", [])], _failures(reply))

    # -- receiving and acknowledging -------------------------------------------------------------------------

    async def receive_message(
        self,
        queue_url: str,
        *,
        max_messages: int | None = None,
        wait_time_seconds: int | None = None,
        visibility_timeout: int | None = None,
        attribute_names: Sequence[str] = (),
        message_attribute_names: Sequence[str] = (),
        attempt_id: str | None = None,
    ) -> list[ReceivedMessage]:
        reply = await self._call(
            "receive_message",
            QueueUrl=queue_url,
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=wait_time_seconds,
            VisibilityTimeout=visibility_timeout,
            MessageSystemAttributeNames=attribute_names,
            MessageAttributeNames=message_attribute_names,
            ReceiveRequestAttemptId=attempt_id,
        )
        return [_received(m) for m in reply.get("Messages", [])]

    async def delete_message(self, queue_url: str, receipt_handle: str) -> None:
        await self._call("delete_message", QueueUrl=queue_url, ReceiptHandle=receipt_handle)

    async def delete_message_batch(self, queue_url: str, entries: Sequence[DeleteEntry]) -> BatchResult[str]:
        wire_entries = _entries(entries, DeleteEntry, lambda e: {"Id": e.id, "ReceiptHandle": e.receipt_handle})
        reply = await self._call("delete_message_batch", QueueUrl=queue_url, Entries=wire_entries)
        return BatchResult([r["Id"] for r in reply.get("Successful", [])], _failures(reply))

    async def change_message_visibility(self, queue_url: str, receipt_handle: str, visibility_timeout: int) -> None:
        await self._call(
            "change_message_visibility",
            QueueUrl=queue_url,
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=visibility_timeout,
        )

    async def change_message_visibility_batch(
        self, queue_url: str, entries: Sequence[VisibilityEntry]
    ) -> BatchResult[str]:
        wire_entries = _entries(
            entries,
            VisibilityEntry,
            lambda e: {"Id": e.id, "ReceiptHandle": e.receipt_handle, "VisibilityTimeout": e.visibility_timeout},
        )
        reply = await self._call("change_message_visibility_batch", QueueUrl=queue_url, Entries=wire_entries)
        return BatchResult([r["Id"] for r in reply.get("Successful", [])], _failures(reply))

    # -- message move tasks ----------------------------------------------------------------------------------

    async def start_message_move_task(
        self, source_arn: str, destination_arn: str | None = None, max_per_second: int | None = None
    ) -> str:
        reply = await self._call(
            "start_message_move_task",
            SourceArn=source_arn,
            DestinationArn=destination_arn,
            MaxNumberOfMessagesPerSecond=max_per_second,
        )
        return str(reply["TaskHandle"])

    async def cancel_message_move_task(self, task_handle: str) -> int:
        reply = await self._call("cancel_message_move_task", TaskHandle=task_handle)
        return int(reply["ApproximateNumberOfMessagesMoved"])

    async def list_message_move_tasks(self, source_arn: str, max_results: int | None = None) -> list[MoveTask]:
        reply = await self._call("list_message_move_tasks", SourceArn=source_arn, MaxResults=max_results)
        return [_task(t) for t in reply.get("Results", [])]


# Engine coroutines that are no SQS operation, and so run in-process (through __getattr__) in the wire run too.
_IN_PROCESS = frozenset({"aclose", "queue_stats"})
_UNWIRED = {
    name
    for name, member in inspect.getmembers(Engine, inspect.iscoroutinefunction)
    if not name.startswith("_") and name not in _IN_PROCESS and name not in vars(WireEngine)
}
assert not _UNWIRED, f"engine operations the wire run would quietly call in-process: {sorted(_UNWIRED)}"


# -- engine values → request members ---------------------------------------------------------------------------
# Only the engine's own types are converted: a value of any other type goes on the wire as it is, so that the
# server's type checks answer it, as they would a hand-written JSON request.


def _entries(entries: object, kind: type[T], convert: Callable[[T], Members]) -> object:
    if isinstance(entries, list | tuple):
        return [convert(e) if isinstance(e, kind) else e for e in entries]
    return entries


def _send_members(entry: SendEntry) -> Members:
    members: Members = {
        "MessageBody": entry.body,
        "DelaySeconds": entry.delay_seconds,
        "MessageGroupId": entry.group_id,
        "MessageDeduplicationId": entry.deduplication_id,
    }
    if isinstance(entry.attributes, Mapping):
        members["MessageAttributes"] = {
            name: _attribute(v) if isinstance(v, MessageAttributeValue) else v for name, v in entry.attributes.items()
        }
    else:
        members["MessageAttributes"] = entry.attributes
    if entry.trace_header is not None:
        members["MessageSystemAttributes"] = {
            "AWSTraceHeader": {"DataType": "String", "StringValue": entry.trace_header}
        }
    return {name: value for name, value in members.items() if value is not None}


def _attribute(value: MessageAttributeValue) -> Members:
    members = {"DataType": value.data_type, "StringValue": value.string_value, "BinaryValue": value.binary_value}
    return {name: v for name, v in members.items() if v is not None}


# -- reply members → engine values -----------------------------------------------------------------------------


def _sent(reply: Members) -> SendResult:
    return SendResult(
        reply["MessageId"],
        reply["MD5OfMessageBody"],
        reply.get("MD5OfMessageAttributes"),
        reply.get("MD5OfMessageSystemAttributes"),
        reply.get("SequenceNumber"),
        reply.get("Id", ""),
    )


def _received(message: Members) -> ReceivedMessage:
    attributes = {
        name: MessageAttributeValue(v["DataType"], v.get("StringValue"), v.get("BinaryValue"))
        for name, v in message.get("MessageAttributes", {}).items()
    }
    return ReceivedMessage(
        message["MessageId"],
        message["ReceiptHandle"],
        message["Body"],
        message["MD5OfBody"],
        dict(message.get("Attributes", {})),
        attributes,
        message.get("MD5OfMessageAttributes"),
    )


def _task(entry: Members) -> MoveTask:
    return MoveTask(
        entry.get("TaskHandle", ""),  # SQS shows the handle of running tasks only
        entry["SourceArn"],
        entry.get("DestinationArn"),
        entry.get("MaxNumberOfMessagesPerSecond"),
        entry["StartedTimestamp"] / 1000,
        entry["ApproximateNumberOfMessagesToMove"],
        entry["ApproximateNumberOfMessagesMoved"],
        entry["Status"],
        entry.get("FailureReason"),
    )


def _failures(reply: Members) -> list[BatchFailure]:
    """A batch's ``Failed`` entries; each carries the query code, which names its shape."""
    failures = []
    for entry in reply.get("Failed", []):
        shape = _SHAPE_OF_CODE.get(entry["Code"])
        assert shape is not None, f"the server failed a batch entry with an unknown code: {entry}"
        error = SqsError(shape, entry["Message"])
        assert entry["SenderFault"] == error.sender_fault, f"SenderFault disagrees with {shape}: {entry}"
        failures.append(BatchFailure(entry["Id"], error))
    return failures


def _sqs_error(error: ClientError) -> SqsError:
    """The SqsError a ClientError reports, after checking the wire spelled it as SQS does for its shape."""
    info, meta = error.response["Error"], error.response["ResponseMetadata"]
    shape = info.get("QueryErrorCode", info.get("Code"))
    assert shape in SPECS, f"the server answered with an unknown error shape: {error.response}"
    sqs_error = SqsError(shape, info.get("Message", ""))
    wire = (info.get("Code"), meta.get("HTTPStatusCode"), info.get("Type"))
    expected = (sqs_error.code, sqs_error.status, "Sender" if sqs_error.sender_fault else "Receiver")
    assert wire == expected, f"{shape} on the wire as (code, status, fault) {wire}, not {expected}"
    return sqs_error
