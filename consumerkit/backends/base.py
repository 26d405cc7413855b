"""The Backend protocol: how the runtime reaches a queue service, whichever it is.

The operations are SQS's, cut to what a worker needs, and they speak in the plain values below rather than
in AWS's CamelCase dictionaries, which stay inside the aiobotocore backend. Errors are backend-neutral
(``consumerkit.errors``): :class:`~consumerkit.errors.QueueNotFoundError` for a missing queue,
:class:`~consumerkit.errors.TransientBackendError` for what may succeed if tried again (connection resets,
throttling, 5xx), :class:`~consumerkit.errors.BackendError` for any other refusal. Batch operations report
per-entry failures in their return value, as SQS does, instead of raising.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from consumerkit.errors import BackendError

__all__ = [
    "AdminBackend",
    "Backend",
    "EntryFailure",
    "MessageAttribute",
    "MoveTaskStatus",
    "OutgoingMessage",
    "QueueCounts",
    "QueueMessage",
    "Receipt",
    "UnsupportedOperationError",
    "VisibilityChange",
]


@dataclass(frozen=True, slots=True)
class MessageAttribute:
    """A message (user) attribute; ``data_type`` is ``String``, ``Number`` or ``Binary``, maybe with a suffix."""

    data_type: str
    string_value: str | None = None
    binary_value: bytes | None = None


@dataclass(frozen=True, slots=True)
class QueueMessage:
    """A received message. ``attributes`` are SQS's system attributes, every value a string as SQS sends it
    (``SentTimestamp`` and ``ApproximateFirstReceiveTimestamp`` in epoch milliseconds)."""

    message_id: str
    receipt_handle: str
    body: str
    attributes: Mapping[str, str] = field(default_factory=dict)
    message_attributes: Mapping[str, MessageAttribute] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message to send. ``id`` names it within a batch (SQS: ≤ 80 of ``[A-Za-z0-9_-]``)."""

    body: str
    id: str = "0"
    delay_seconds: int | None = None
    message_attributes: Mapping[str, MessageAttribute] | None = None
    group_id: str | None = None
    deduplication_id: str | None = None


@dataclass(frozen=True, slots=True)
class Receipt:
    """One entry of a delete batch."""

    id: str
    receipt_handle: str


@dataclass(frozen=True, slots=True)
class VisibilityChange:
    """One entry of a visibility batch: the message becomes visible ``timeout`` seconds from the call."""

    id: str
    receipt_handle: str
    timeout: int


@dataclass(frozen=True, slots=True)
class EntryFailure:
    """A batch entry the service refused. ``sender_fault`` False means the service failed and the entry may be
    retried; True means the request itself was wrong (a receipt handle that expired or was never issued)."""

    id: str
    code: str
    message: str
    sender_fault: bool = True


@dataclass(frozen=True, slots=True)
class QueueCounts:
    """A queue's approximate counters, as ``GetQueueAttributes`` reports them; ``oldest_age`` (seconds) only
    where the backend can tell (the local engine), since SQS publishes it to CloudWatch alone."""

    visible: int
    in_flight: int
    delayed: int
    oldest_age: float | None = None


@runtime_checkable
class Backend(Protocol):
    """A queue service. Implementations: ``LocalBackend`` (the bundled engine in-process) and ``SqsBackend``
    (aiobotocore, for AWS or any SQS-compatible endpoint). Use it as an async context manager."""

    @property
    def creates_queues(self) -> bool:
        """Whether an app's declared queues are created at start-up unless it says otherwise: yes on a local
        engine, where nothing else would create them; no on real SQS, where infrastructure code owns them."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def get_queue_url(self, name: str) -> str: ...

    async def create_queue(self, name: str, attributes: Mapping[str, str] | None = None) -> str: ...

    async def get_queue_attributes(self, queue_url: str, names: Sequence[str] = ("All",)) -> dict[str, str]: ...

    async def set_queue_attributes(self, queue_url: str, attributes: Mapping[str, str]) -> None: ...

    async def queue_counts(self, queue_url: str) -> QueueCounts: ...

    async def send_message_batch(
        self, queue_url: str, messages: Sequence[OutgoingMessage]
    ) -> tuple[list[str], list[EntryFailure]]:
        """Send up to 10 messages; returns the ids of those sent (in order) and the entries refused."""
        ...

    async def receive_messages(
        self, queue_url: str, *, max_messages: int, wait_seconds: int, visibility_timeout: int
    ) -> list[QueueMessage]:
        """Long-poll for up to ``max_messages`` (1..10), asking for every system and message attribute."""
        ...

    async def delete_message_batch(self, queue_url: str, receipts: Sequence[Receipt]) -> list[EntryFailure]: ...

    async def change_visibility_batch(
        self, queue_url: str, changes: Sequence[VisibilityChange]
    ) -> list[EntryFailure]: ...


class UnsupportedOperationError(BackendError):
    """The service does not implement the operation at all (moto and some SQS look-alikes lack message move
    tasks), as opposed to refusing this one call: a caller may fall back on another way to the same end."""


@dataclass(frozen=True, slots=True)
class MoveTaskStatus:
    """One message move task (a DLQ redrive), as ``ListMessageMoveTasks`` reports it. ``handle`` only while it
    runs (SQS gives no handle for a finished task); ``destination_arn`` None means each message's original
    source queue; ``started_at`` in epoch seconds; ``status`` RUNNING, COMPLETED, CANCELLING, CANCELLED or
    FAILED."""

    source_arn: str
    status: str
    moved: int
    to_move: int
    started_at: float
    handle: str | None = None
    destination_arn: str | None = None
    max_per_second: int | None = None
    failure_reason: str | None = None


@runtime_checkable
class AdminBackend(Backend, Protocol):
    """A backend that also administers queues: what the operator's CLI needs beyond a worker's operations.

    A protocol of its own so that wrappers of the runtime's :class:`Backend` (metering, fault injection) need
    not grow operations a worker never makes. Lists are complete: implementations follow SQS's pages.
    """

    async def list_queues(self, prefix: str | None = None) -> list[str]:
        """Every queue's URL, in the service's order, optionally only names starting with ``prefix``."""
        ...

    async def delete_queue(self, queue_url: str) -> None: ...

    async def purge_queue(self, queue_url: str) -> None:
        """Delete every message; SQS allows one purge per queue every 60 seconds."""
        ...

    async def dead_letter_sources(self, queue_url: str) -> list[str]:
        """The URLs of the queues whose RedrivePolicy names this queue as their dead-letter queue."""
        ...

    async def start_move_task(
        self, source_arn: str, destination_arn: str | None = None, max_per_second: int | None = None
    ) -> str:
        """Start moving a DLQ's messages (to ``destination_arn``, else back to their sources); returns the task's
        handle. :class:`UnsupportedOperationError` where the service has no move tasks."""
        ...

    async def list_move_tasks(self, source_arn: str, max_results: int = 1) -> list[MoveTaskStatus]:
        """The DLQ's most recent tasks, newest first."""
        ...

    async def cancel_move_task(self, handle: str) -> int:
        """Cancel a running task; returns how many messages it had moved."""
        ...
