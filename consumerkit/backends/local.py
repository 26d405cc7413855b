"""LocalBackend: the bundled engine, in-process, behind the :class:`~consumerkit.backends.base.Backend` protocol.

This module is the one bridge between the runtime and the engine (DESIGN.md): it turns the protocol's values into
the engine's and back, and the engine's :class:`~consumerkit.engine.SqsError` into the backend-neutral errors,
so a worker cannot tell, apart from speed, whether its queue is in this process or behind an HTTP endpoint.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Self

from consumerkit.backends.base import (
    EntryFailure,
    MessageAttribute,
    MoveTaskStatus,
    OutgoingMessage,
    QueueCounts,
    QueueMessage,
    Receipt,
    VisibilityChange,
)
from consumerkit.clock import Clock
from consumerkit.engine import (
    BatchFailure,
    DeleteEntry,
    Engine,
    MessageAttributeValue,
    MoveTask,
    Page,
    ReceivedMessage,
    SendEntry,
    SqsError,
    VisibilityEntry,
)
from consumerkit.errors import BackendError, QueueNotFoundError, TransientBackendError

__all__ = ["LocalBackend"]

# Codes that say "try again later" although SQS answers them below 500.
_THROTTLED = frozenset({"RequestThrottled"})
_PAGE = 1000  # SQS's largest MaxResults for the listing operations


class LocalBackend:
    """The engine in-process. ``LocalBackend(engine)`` borrows an engine its caller keeps (and closes), so a test
    can share one engine, and one manual clock, between a worker and itself; :meth:`open` makes an engine of its
    own from a store URL and closes it on ``__aexit__``."""

    def __init__(self, engine: Engine, *, owns_engine: bool = False) -> None:
        self._engine = engine
        self._owns_engine = owns_engine

    @classmethod
    def open(cls, url: str = "memory://", clock: Clock | None = None) -> LocalBackend:
        """A backend on its own engine over ``memory://`` or ``sqlite:///path.db[?synchronous=FULL&busy_timeout=S]``.

        The store is opened now, so a bad URL or an unreadable file is a :class:`~consumerkit.errors.ConfigError`
        here rather than at start-up; the SQLite store creates the file's folder if it is missing.
        """
        return cls(Engine.open(url, clock), owns_engine=True)

    @property
    def engine(self) -> Engine:
        """The engine behind this backend (tests read its clock and ``queue_stats``; the runtime never does)."""
        return self._engine

    @property
    def creates_queues(self) -> bool:
        return True

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._owns_engine:
            await self._engine.aclose()

    def __repr__(self) -> str:
        return f"LocalBackend({self._engine!r})"

    # -- queues ---------------------------------------------------------------------------------------------

    async def get_queue_url(self, name: str) -> str:
        with _translated("GetQueueUrl"):
            return await self._engine.get_queue_url(name)

    async def create_queue(self, name: str, attributes: Mapping[str, str] | None = None) -> str:
        with _translated("CreateQueue"):
            return await self._engine.create_queue(name, attributes)

    async def get_queue_attributes(self, queue_url: str, names: Sequence[str] = ("All",)) -> dict[str, str]:
        with _translated("GetQueueAttributes"):
            return await self._engine.get_queue_attributes(queue_url, list(names))

    async def set_queue_attributes(self, queue_url: str, attributes: Mapping[str, str]) -> None:
        with _translated("SetQueueAttributes"):
            await self._engine.set_queue_attributes(queue_url, dict(attributes))

    async def queue_counts(self, queue_url: str) -> QueueCounts:
        with _translated("GetQueueAttributes"):
            stats = await self._engine.queue_stats(queue_url)
        return QueueCounts(stats.visible, stats.in_flight, stats.delayed, stats.oldest_age)

    # -- administration (AdminBackend) ----------------------------------------------------------------------

    async def list_queues(self, prefix: str | None = None) -> list[str]:
        with _translated("ListQueues"):
            return await _all_pages(lambda token: self._engine.list_queues(prefix, _PAGE, token))

    async def delete_queue(self, queue_url: str) -> None:
        with _translated("DeleteQueue"):
            await self._engine.delete_queue(queue_url)

    async def purge_queue(self, queue_url: str) -> None:
        with _translated("PurgeQueue"):
            await self._engine.purge_queue(queue_url)

    async def dead_letter_sources(self, queue_url: str) -> list[str]:
        with _translated("ListDeadLetterSourceQueues"):
            return await _all_pages(lambda token: self._engine.list_dead_letter_source_queues(queue_url, _PAGE, token))

    async def start_move_task(
        self, source_arn: str, destination_arn: str | None = None, max_per_second: int | None = None
    ) -> str:
        with _translated("StartMessageMoveTask"):
            return await self._engine.start_message_move_task(source_arn, destination_arn, max_per_second)

    async def list_move_tasks(self, source_arn: str, max_results: int = 1) -> list[MoveTaskStatus]:
        with _translated("ListMessageMoveTasks"):
            tasks = await self._engine.list_message_move_tasks(source_arn, max_results)
        return [_task_status(t) for t in tasks]

    async def cancel_move_task(self, handle: str) -> int:
        with _translated("CancelMessageMoveTask"):
            return await self._engine.cancel_message_move_task(handle)

    # -- messages -------------------------------------------------------------------------------------------

    async def send_message_batch(
        self, queue_url: str, messages: Sequence[OutgoingMessage]
    ) -> tuple[list[str], list[EntryFailure]]:
        entries = [_send_entry(m) for m in messages]
        with _translated("SendMessageBatch"):
            result = await self._engine.send_message_batch(queue_url, entries)
        return [r.message_id for r in result.successful], _failures(result.failed)

    async def receive_messages(
        self, queue_url: str, *, max_messages: int, wait_seconds: int, visibility_timeout: int
    ) -> list[QueueMessage]:
        with _translated("ReceiveMessage"):
            received = await self._engine.receive_message(
                queue_url,
                max_messages=max_messages,
                wait_time_seconds=wait_seconds,
                visibility_timeout=visibility_timeout,
                attribute_names=("All",),
                message_attribute_names=("All",),
            )
        return [_queue_message(m) for m in received]

    async def delete_message_batch(self, queue_url: str, receipts: Sequence[Receipt]) -> list[EntryFailure]:
        entries = [DeleteEntry(r.id, r.receipt_handle) for r in receipts]
        with _translated("DeleteMessageBatch"):
            result = await self._engine.delete_message_batch(queue_url, entries)
        return _failures(result.failed)

    async def change_visibility_batch(self, queue_url: str, changes: Sequence[VisibilityChange]) -> list[EntryFailure]:
        entries = [VisibilityEntry(c.id, c.receipt_handle, c.timeout) for c in changes]
        with _translated("ChangeMessageVisibilityBatch"):
            result = await self._engine.change_message_visibility_batch(queue_url, entries)
        return _failures(result.failed)


@contextmanager
def _translated(operation: str) -> Iterator[None]:
    """Raise the engine's refusals as the protocol's errors, naming the operation and SQS's code."""
    try:
        yield
    except SqsError as error:
        raise _translate(operation, error) from error


def _translate(operation: str, error: SqsError) -> BackendError:
    """The backend-neutral error for an engine error: a missing queue, a transient failure (a 5xx such as a
    SQLite file locked past its busy_timeout), or a refusal."""
    text = f"{operation}: {error.code}: {error.message}"
    if error.shape == "QueueDoesNotExist":
        return QueueNotFoundError(text)
    if error.status >= 500 or error.shape in _THROTTLED:
        return TransientBackendError(text)
    return BackendError(text)


def _send_entry(message: OutgoingMessage) -> SendEntry:
    attributes = message.message_attributes
    return SendEntry(
        message.body,
        message.id,
        delay_seconds=message.delay_seconds,
        attributes=None if attributes is None else {k: _engine_attribute(v) for k, v in attributes.items()},
        group_id=message.group_id,
        deduplication_id=message.deduplication_id,
    )


def _engine_attribute(value: MessageAttribute) -> MessageAttributeValue:
    return MessageAttributeValue(value.data_type, value.string_value, value.binary_value)


def _queue_message(message: ReceivedMessage) -> QueueMessage:
    attributes = {
        name: MessageAttribute(v.data_type, v.string_value, v.binary_value)
        for name, v in message.message_attributes.items()
    }
    return QueueMessage(message.message_id, message.receipt_handle, message.body, dict(message.attributes), attributes)


def _failures(failed: Sequence[BatchFailure]) -> list[EntryFailure]:
    return [EntryFailure(f.id, f.code, f.message, f.sender_fault) for f in failed]


async def _all_pages(fetch: Callable[[str | None], Awaitable[Page]]) -> list[str]:
    urls: list[str] = []
    token: str | None = None
    while True:
        page = await fetch(token)
        urls += page.urls
        if not page.next_token:
            return urls
        token = page.next_token


def _task_status(task: MoveTask) -> MoveTaskStatus:
    return MoveTaskStatus(
        task.source_arn,
        task.status,
        task.moved,
        task.to_move,
        task.started_at,
        handle=task.handle if task.status == "RUNNING" else None,
        destination_arn=task.destination_arn,
        max_per_second=task.max_per_second,
        failure_reason=task.failure_reason,
    )
