"""SqsBackend: Amazon SQS, or any SQS-compatible endpoint, through aiobotocore.

The only module of consumerkit that imports aiobotocore and botocore (DESIGN.md), and so the only place where
AWS's CamelCase dictionaries and ``ClientError`` exist: everything leaves here as the protocol's dataclasses and
backend-neutral errors. One client per backend object, opened by ``__aenter__`` and closed by ``__aexit__``,
so its connection pool is reused by every call a worker makes.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from functools import cache
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import aiohttp
from aiobotocore.config import AioConfig  # type: ignore[import-untyped]
from aiobotocore.session import AioSession  # type: ignore[import-untyped]
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
    ResponseStreamingError,
)

from consumerkit.backends.base import (
    EntryFailure,
    MessageAttribute,
    MoveTaskStatus,
    OutgoingMessage,
    QueueCounts,
    QueueMessage,
    Receipt,
    UnsupportedOperationError,
    VisibilityChange,
)
from consumerkit.errors import BackendError, ConfigError, QueueNotFoundError, TransientBackendError

__all__ = ["SqsBackend"]

DEFAULT_REGION = "us-east-1"
# A read must outlast the longest long poll (SQS: WaitTimeSeconds ≤ 20) with room for a slow answer; a connect
# that takes more than a few seconds is a network problem the runtime's back-off handles better than waiting.
READ_TIMEOUT = 20 + 15
CONNECT_TIMEOUT = 5
# Local servers (consumerkit serve, moto, ElasticMQ, LocalStack) accept any key; "test" is LocalStack's convention.
_DUMMY_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}

_NOT_FOUND = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "NonExistentQueue", "QueueDoesNotExist"})
_THROTTLED = frozenset(
    {
        "RequestThrottled",
        "AWS.SimpleQueueService.RequestThrottled",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "KmsThrottled",
        "KMS.ThrottlingException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
# What a service says of an action it does not implement. moto answers its missing operations (the message move
# tasks) with a bare HTTP 500 and no SQS error code, which the move-task calls read the same way.
_UNKNOWN_ACTION = frozenset({"InvalidAction", "UnknownOperationException", "UnsupportedOperation", "NotImplemented"})
_PAGE = 1000  # SQS's largest MaxResults for the listing operations
# The service could not be reached or the connection broke mid-answer: the same call may well succeed later.
_UNREACHABLE: tuple[type[BaseException], ...] = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ConnectionClosedError,
    ReadTimeoutError,
    ResponseStreamingError,
    aiohttp.ClientError,
    OSError,  # TimeoutError included
)


class SqsBackend:
    """SQS through one aiobotocore client. ``endpoint_url`` None means AWS itself (the default credential chain);
    an ``http(s)://host:port`` URL means an SQS-compatible server, which gets dummy credentials when the chain
    has none. ``region`` None means the chain's region (``AWS_DEFAULT_REGION``, the profile), else us-east-1.
    Use :func:`~consumerkit.backends.open_backend` to build one from a URL; it checks the URL's form."""

    def __init__(self, endpoint_url: str | None = None, *, region: str | None = None, max_connections: int = 10):
        if max_connections < 1:
            raise ConfigError(f"max_connections: {max_connections} is below the minimum of 1")
        self._endpoint_url = endpoint_url
        self._region = region
        self._max_connections = max_connections
        self._stack: AsyncExitStack | None = None
        self._client: Any = None

    @property
    def endpoint_url(self) -> str | None:
        return self._endpoint_url

    @property
    def region(self) -> str | None:
        """The region asked for, or, once entered, the region the client signs for."""
        return self._region

    @property
    def max_connections(self) -> int:
        """The size of the client's connection pool: a parked long poll holds one connection for its wait."""
        return self._max_connections

    @property
    def creates_queues(self) -> bool:
        """Only on a server on this machine: there nothing else would create the queues, while on AWS or a shared
        server infrastructure code owns them."""
        return self._endpoint_url is not None and is_loopback(urlsplit(self._endpoint_url).hostname)

    def __repr__(self) -> str:
        where = self._endpoint_url or "AWS"
        return f"SqsBackend({where!r}, region={self._region!r}, max_connections={self._max_connections})"

    async def __aenter__(self) -> Self:
        if self._client is not None:
            raise RuntimeError(f"{self!r} is already open")
        async with AsyncExitStack() as stack:
            try:
                self._client = await stack.enter_async_context(await self._create_client())
            except BotoCoreError as error:  # a broken profile or config file, a bad region: no retry mends it
                raise ConfigError(f"cannot set up an SQS client for {self._endpoint_url or 'AWS'}: {error}") from error
            self._stack = stack.pop_all()
        return self

    async def _create_client(self) -> Any:
        session = AioSession()
        self._region = self._region or session.get_config_variable("region") or DEFAULT_REGION
        config = AioConfig(
            max_pool_connections=self._max_connections,
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=READ_TIMEOUT,
            retries={"mode": "standard"},
        )
        credentials = await self._fallback_credentials(session)
        return session.create_client(
            "sqs", region_name=self._region, endpoint_url=self._endpoint_url, config=config, **credentials
        )

    async def _fallback_credentials(self, session: Any) -> dict[str, str]:
        """Dummy keys for an endpoint when the chain has none, so local servers work with no AWS setup at all.
        AWS itself gets none: there a missing credential must fail loudly, not sign with a fake."""
        if self._endpoint_url is None or await session.get_credentials() is not None:
            return {}
        return dict(_DUMMY_CREDENTIALS)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            await stack.aclose()

    async def _call(self, operation: str, _optional: bool = False, **params: Any) -> dict[str, Any]:
        """Call one SQS operation, turning botocore's failures into the protocol's errors. ``_optional``: an
        operation some SQS look-alikes lack, whose absence is an :class:`UnsupportedOperationError`."""
        if self._client is None:
            raise RuntimeError(f"{self!r} is not open: use it as `async with backend:`")
        method = getattr(self._client, _method_name(operation))
        try:
            reply: dict[str, Any] = await method(**params)
        except ClientError as error:
            raise _client_error(operation, error, _optional) from error
        except _UNREACHABLE as error:
            raise TransientBackendError(f"{operation}: {type(error).__name__}: {error}") from error
        except BotoCoreError as error:  # no credentials, a parameter botocore refuses, ...
            raise BackendError(f"{operation}: {type(error).__name__}: {error}") from error
        return reply

    # -- queues ---------------------------------------------------------------------------------------------

    async def get_queue_url(self, name: str) -> str:
        reply = await self._call("GetQueueUrl", QueueName=name)
        return str(reply["QueueUrl"])

    async def create_queue(self, name: str, attributes: Mapping[str, str] | None = None) -> str:
        params: dict[str, Any] = {"QueueName": name}
        if attributes:
            params["Attributes"] = dict(attributes)
        reply = await self._call("CreateQueue", **params)
        return str(reply["QueueUrl"])

    async def get_queue_attributes(self, queue_url: str, names: Sequence[str] = ("All",)) -> dict[str, str]:
        reply = await self._call("GetQueueAttributes", QueueUrl=queue_url, AttributeNames=list(names))
        return dict(reply.get("Attributes", {}))

    async def set_queue_attributes(self, queue_url: str, attributes: Mapping[str, str]) -> None:
        await self._call("SetQueueAttributes", QueueUrl=queue_url, Attributes=dict(attributes))

    async def queue_counts(self, queue_url: str) -> QueueCounts:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        got = await self.get_queue_attributes(queue_url, [*names, "ApproximateNumberOfMessagesDelayed"])
        return QueueCounts(
            visible=int(got.get("ApproximateNumberOfMessages", 0)),
            in_flight=int(got.get("ApproximateNumberOfMessagesNotVisible", 0)),
            delayed=int(got.get("ApproximateNumberOfMessagesDelayed", 0)),
        )

    # -- administration (AdminBackend) ----------------------------------------------------------------------

    async def list_queues(self, prefix: str | None = None) -> list[str]:
        params = {"QueueNamePrefix": prefix} if prefix else {}
        return await self._pages("ListQueues", "QueueUrls", **params)

    async def delete_queue(self, queue_url: str) -> None:
        await self._call("DeleteQueue", QueueUrl=queue_url)

    async def purge_queue(self, queue_url: str) -> None:
        await self._call("PurgeQueue", QueueUrl=queue_url)

    async def dead_letter_sources(self, queue_url: str) -> list[str]:
        return await self._pages("ListDeadLetterSourceQueues", "queueUrls", QueueUrl=queue_url)

    async def _pages(self, operation: str, key: str, **params: Any) -> list[str]:
        urls: list[str] = []
        while True:
            reply = await self._call(operation, MaxResults=_PAGE, **params)
            urls += reply.get(key, [])
            if not reply.get("NextToken"):
                return urls
            params["NextToken"] = reply["NextToken"]

    async def start_move_task(
        self, source_arn: str, destination_arn: str | None = None, max_per_second: int | None = None
    ) -> str:
        params: dict[str, Any] = {"SourceArn": source_arn}
        if destination_arn is not None:
            params["DestinationArn"] = destination_arn
        if max_per_second is not None:
            params["MaxNumberOfMessagesPerSecond"] = max_per_second
        reply = await self._call("StartMessageMoveTask", _optional=True, **params)
        return str(reply["TaskHandle"])

    async def list_move_tasks(self, source_arn: str, max_results: int = 1) -> list[MoveTaskStatus]:
        reply = await self._call("ListMessageMoveTasks", _optional=True, SourceArn=source_arn, MaxResults=max_results)
        return [_task_status(t) for t in reply.get("Results", [])]

    async def cancel_move_task(self, handle: str) -> int:
        reply = await self._call("CancelMessageMoveTask", _optional=True, TaskHandle=handle)
        return int(reply.get("ApproximateNumberOfMessagesMoved", 0))

    # -- messages -------------------------------------------------------------------------------------------

    async def send_message_batch(
        self, queue_url: str, messages: Sequence[OutgoingMessage]
    ) -> tuple[list[str], list[EntryFailure]]:
        reply = await self._call("SendMessageBatch", QueueUrl=queue_url, Entries=[_send_entry(m) for m in messages])
        # SQS lists the successful entries in no promised order; the protocol promises the request's.
        sent = {entry["Id"]: entry["MessageId"] for entry in reply.get("Successful", [])}
        return [sent[m.id] for m in messages if m.id in sent], _failures(reply)

    async def receive_messages(
        self, queue_url: str, *, max_messages: int, wait_seconds: int, visibility_timeout: int
    ) -> list[QueueMessage]:
        reply = await self._call(
            "ReceiveMessage",
            QueueUrl=queue_url,
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=visibility_timeout,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return [_queue_message(m) for m in reply.get("Messages", [])]

    async def delete_message_batch(self, queue_url: str, receipts: Sequence[Receipt]) -> list[EntryFailure]:
        entries = [{"Id": r.id, "ReceiptHandle": r.receipt_handle} for r in receipts]
        return _failures(await self._call("DeleteMessageBatch", QueueUrl=queue_url, Entries=entries))

    async def change_visibility_batch(self, queue_url: str, changes: Sequence[VisibilityChange]) -> list[EntryFailure]:
        entries = [{"Id": c.id, "ReceiptHandle": c.receipt_handle, "VisibilityTimeout": c.timeout} for c in changes]
        return _failures(await self._call("ChangeMessageVisibilityBatch", QueueUrl=queue_url, Entries=entries))


def is_loopback(host: str | None) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1."""
    if host is None:
        return False
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@cache
def _method_name(operation: str) -> str:
    """The client's method for an operation: ``GetQueueUrl`` → ``get_queue_url``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def _client_error(operation: str, error: ClientError, optional: bool = False) -> BackendError:
    """A missing queue, a transient failure (throttling, a 5xx), or a refusal, named by operation and code; for
    an optional operation, a service that does not know it (a known code, or a 5xx that carries no SQS code)."""
    details = error.response.get("Error", {})
    code = details.get("Code", "")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if optional and (code in _UNKNOWN_ACTION or (status >= 500 and code in ("", str(status)))):
        return UnsupportedOperationError(f"{operation}: not supported by this service (HTTP {status} {code})")
    text = f"{operation}: {code or f'HTTP {status}'}: {details.get('Message', '')}"
    if code in _NOT_FOUND:
        return QueueNotFoundError(text)
    if code in _THROTTLED or status == 429 or status >= 500:
        return TransientBackendError(text)
    return BackendError(text)


def _send_entry(message: OutgoingMessage) -> dict[str, Any]:
    entry: dict[str, Any] = {"Id": message.id, "MessageBody": message.body}
    if message.delay_seconds is not None:
        entry["DelaySeconds"] = message.delay_seconds
    if message.message_attributes:
        entry["MessageAttributes"] = {k: _wire_attribute(v) for k, v in message.message_attributes.items()}
    if message.group_id is not None:
        entry["MessageGroupId"] = message.group_id
    if message.deduplication_id is not None:
        entry["MessageDeduplicationId"] = message.deduplication_id
    return entry


def _wire_attribute(value: MessageAttribute) -> dict[str, Any]:
    wire: dict[str, Any] = {"DataType": value.data_type}
    if value.string_value is not None:
        wire["StringValue"] = value.string_value
    if value.binary_value is not None:
        wire["BinaryValue"] = value.binary_value
    return wire


def _queue_message(message: Mapping[str, Any]) -> QueueMessage:
    attributes = {
        name: MessageAttribute(v["DataType"], v.get("StringValue"), v.get("BinaryValue"))
        for name, v in message.get("MessageAttributes", {}).items()
    }
    return QueueMessage(
        message["MessageId"], message["ReceiptHandle"], message["Body"], dict(message.get("Attributes", {})), attributes
    )


def _failures(reply: Mapping[str, Any]) -> list[EntryFailure]:
    return [
        EntryFailure(f["Id"], f.get("Code", ""), f.get("Message", ""), bool(f.get("SenderFault", True)))
        for f in reply.get("Failed", [])
    ]


def _task_status(task: Mapping[str, Any]) -> MoveTaskStatus:
    rate = task.get("MaxNumberOfMessagesPerSecond")
    return MoveTaskStatus(
        task.get("SourceArn", ""),
        task.get("Status", ""),
        int(task.get("ApproximateNumberOfMessagesMoved", 0)),
        int(task.get("ApproximateNumberOfMessagesToMove", 0)),
        int(task.get("StartedTimestamp", 0)) / 1000,
        handle=task.get("TaskHandle"),
        destination_arn=task.get("DestinationArn"),
        max_per_second=None if rate is None else int(rate),
        failure_reason=task.get("FailureReason"),
    )
