"""MeteredBackend: a layer around any Backend that counts and times every call by SQS operation.

It only fills plain records (:class:`RequestStatistics`: per operation, calls by result and a
:class:`Distribution` of their durations); the metrics collector turns them into
``consumerkit_sqs_requests_total{operation, result}`` and ``consumerkit_sqs_request_duration_seconds{operation}``
at scrape time. A call costs two ``perf_counter()`` reads and three increments, no lock and no label lookup.

Calls are counted as they end, so counts line up with the latency histogram (as Prometheus advises for
requests); ``result`` is ``ok``, ``error`` for an exception (transient, a refusal, a missing queue), or
``cancelled`` for a call abandoned midway: a long poll ended by a shutdown, or a heartbeat extension that ran
past its own deadline (the runtime bounds it, so that one slow call cannot hold up the next tick), which is
what a slow or unreachable service looks like. Batch calls that report per-entry failures still count ``ok``:
the call itself succeeded, and the runtime's own counters say what became of the entries. A cancelled call's
duration is not observed: it did not take as long as it would have.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Mapping, Sequence
from types import TracebackType
from typing import Self, TypeVar

import anyio

from consumerkit.backends.base import (
    Backend,
    EntryFailure,
    OutgoingMessage,
    QueueCounts,
    QueueMessage,
    Receipt,
    VisibilityChange,
)
from consumerkit.runtime.distribution import Distribution

__all__ = [
    "OPERATIONS",
    "REQUEST_BUCKETS",
    "Distribution",
    "MeteredBackend",
    "OperationStatistics",
    "RequestStatistics",
]

T = TypeVar("T")
OPERATIONS = (
    "ReceiveMessage",
    "DeleteMessageBatch",
    "ChangeMessageVisibilityBatch",
    "SendMessageBatch",
    "GetQueueAttributes",
    "GetQueueUrl",
    "CreateQueue",
    "SetQueueAttributes",
)
# prometheus_client's defaults, fine for API calls (OPERATIONS.md §2.4); ReceiveMessage's include its long poll.
# 20 and 25 s beyond them, so that a long poll's full wait (up to 20 s) lands in a bucket, not in +Inf.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 25.0)


class OperationStatistics:
    """One SQS operation's calls: how many ended well, how many raised, how many were abandoned, and how long
    the ended ones took."""

    __slots__ = ("cancelled", "durations", "error", "ok")

    def __init__(self) -> None:
        self.ok = 0
        self.error = 0
        self.cancelled = 0
        self.durations = Distribution(REQUEST_BUCKETS)


class RequestStatistics:
    """Every operation's record, by SQS operation name."""

    def __init__(self) -> None:
        self.operations = {name: OperationStatistics() for name in OPERATIONS}


async def _timed(record: OperationStatistics, call: Awaitable[T]) -> T:
    started = time.perf_counter()
    try:
        result = await call
    except Exception:
        record.error += 1
        record.durations.observe(time.perf_counter() - started)
        raise
    except anyio.get_cancelled_exc_class():
        record.cancelled += 1
        raise
    record.ok += 1
    record.durations.observe(time.perf_counter() - started)
    return result


class MeteredBackend:
    """``inner`` with every call metered into ``statistics``; otherwise the very same backend (the protocol,
    delegated whole)."""

    def __init__(self, inner: Backend, statistics: RequestStatistics | None = None) -> None:
        self.inner = inner
        self.statistics = statistics or RequestStatistics()
        ops = self.statistics.operations
        self._receive, self._delete = ops["ReceiveMessage"], ops["DeleteMessageBatch"]
        self._visibility, self._send = ops["ChangeMessageVisibilityBatch"], ops["SendMessageBatch"]
        self._attributes, self._url = ops["GetQueueAttributes"], ops["GetQueueUrl"]
        self._create, self._set = ops["CreateQueue"], ops["SetQueueAttributes"]

    @property
    def creates_queues(self) -> bool:
        return self.inner.creates_queues

    async def __aenter__(self) -> Self:
        await self.inner.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.inner.__aexit__(exc_type, exc, tb)

    def __repr__(self) -> str:
        return f"MeteredBackend({self.inner!r})"

    async def get_queue_url(self, name: str) -> str:
        return await _timed(self._url, self.inner.get_queue_url(name))

    async def create_queue(self, name: str, attributes: Mapping[str, str] | None = None) -> str:
        return await _timed(self._create, self.inner.create_queue(name, attributes))

    async def get_queue_attributes(self, queue_url: str, names: Sequence[str] = ("All",)) -> dict[str, str]:
        return await _timed(self._attributes, self.inner.get_queue_attributes(queue_url, names))

    async def set_queue_attributes(self, queue_url: str, attributes: Mapping[str, str]) -> None:
        await _timed(self._set, self.inner.set_queue_attributes(queue_url, attributes))

    async def queue_counts(self, queue_url: str) -> QueueCounts:
        return await _timed(self._attributes, self.inner.queue_counts(queue_url))  # SQS: GetQueueAttributes

    async def send_message_batch(
        self, queue_url: str, messages: Sequence[OutgoingMessage]
    ) -> tuple[list[str], list[EntryFailure]]:
        return await _timed(self._send, self.inner.send_message_batch(queue_url, messages))

    async def receive_messages(
        self, queue_url: str, *, max_messages: int, wait_seconds: int, visibility_timeout: int
    ) -> list[QueueMessage]:
        call = self.inner.receive_messages(
            queue_url, max_messages=max_messages, wait_seconds=wait_seconds, visibility_timeout=visibility_timeout
        )
        return await _timed(self._receive, call)

    async def delete_message_batch(self, queue_url: str, receipts: Sequence[Receipt]) -> list[EntryFailure]:
        return await _timed(self._delete, self.inner.delete_message_batch(queue_url, receipts))

    async def change_visibility_batch(self, queue_url: str, changes: Sequence[VisibilityChange]) -> list[EntryFailure]:
        return await _timed(self._visibility, self.inner.change_visibility_batch(queue_url, changes))
