"""The storage interface: what the engine's rules need persisted and indexed, nothing more.

The rules (``semantics.py``) decide every transition; a store only keeps records and finds them fast. Both
stores pass the same behaviour suite. The contract that matters:

- Every call that changes state happens inside ``transaction()``; a durable store commits when the block
  exits normally and rolls back on an exception, so an API call is all-or-nothing.
- Records returned by ``take_ready``, ``scan`` and ``get`` may be live objects (memory) or copies (SQLite):
  the engine mutates them and then hands every changed record back through ``update``, ``remove`` or
  ``move`` before the transaction ends. ``take_ready`` in particular removes what it returns from the ready
  index, so each record it returns must be handed back.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from consumerkit.engine.model import MessageRecord, MoveTask, QueueRecord


@dataclass(frozen=True, slots=True)
class DedupEntry:
    """What a FIFO send within the deduplication window returns instead of enqueueing again."""

    message_id: str
    sequence_number: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class Attempt:
    """A FIFO ReceiveRequestAttemptId: the receipts it returned, replayed if the receive is retried."""

    receipts: tuple[tuple[int, int, float], ...]  # (seq, receipt_token, visible_at it was given)
    expires_at: float


@dataclass(frozen=True, slots=True)
class Counts:
    visible: int
    in_flight: int
    delayed: int
    oldest_enqueued: float | None  # earliest arrival: moved_at where a message was moved in, else enqueued_at


class Store(Protocol):
    """Persistence and indexes for queues and messages (see the module docstring for the contract)."""

    def transaction(self) -> AbstractContextManager[None]: ...

    def secret(self) -> bytes:
        """A random key created with the store, kept with it (signs receipt handles)."""
        ...

    def close(self) -> None: ...

    # queues
    def list_queues(self) -> list[QueueRecord]: ...
    def get_queue(self, name: str) -> QueueRecord | None: ...
    def save_queue(self, queue: QueueRecord) -> None:
        """Insert (``queue.id == 0``: the store assigns a new id) or update a queue."""
        ...

    def drop_queue(self, queue: QueueRecord, now: float) -> None:
        """Delete a queue with its messages, deduplication and attempt records; remember when."""
        ...

    def deleted_at(self, name: str) -> float | None: ...

    # messages
    def next_seqs(self, count: int) -> range: ...
    def insert(self, queue: QueueRecord, records: Sequence[MessageRecord], now: float) -> None: ...
    def take_ready(self, queue: QueueRecord, now: float, limit: int) -> list[MessageRecord]:
        """Up to ``limit`` messages visible at ``now`` (standard queues), longest-visible first as far as the
        engine can tell: a message that came due before another was sent is taken first. SQLite orders by
        ``visible_at`` exactly; the memory store by when it saw each message become visible, which differs
        only for records handed in out of order (SQS promises standard queues no order at all)."""
        ...

    def scan(self, queue: QueueRecord, limit: int) -> Iterator[MessageRecord]:
        """Messages in send order, at most ``limit`` (FIFO group selection, move tasks). The caller stops
        iterating before it changes the queue: the memory store walks its live index rather than copy it."""
        ...

    def get(self, queue: QueueRecord, seq: int) -> MessageRecord | None: ...
    def update(self, queue: QueueRecord, records: Sequence[MessageRecord], now: float) -> None: ...
    def remove(self, queue: QueueRecord, seqs: Sequence[int]) -> None: ...
    def move(self, source: QueueRecord, target: QueueRecord, records: Sequence[MessageRecord], now: float) -> None:
        """Take ``records`` (by their current seq) out of ``source`` and append them to ``target``, giving each
        a new seq (``record.seq`` is updated) so they queue behind what ``target`` already holds."""
        ...

    def purge(self, queue: QueueRecord) -> None: ...
    def redelay(self, queue: QueueRecord, delay: int, now: float) -> None:
        """Make ``delay`` the delay of every message sent to ``queue`` and never received (FIFO queues apply a
        DelaySeconds change retroactively); messages moved in are left alone."""
        ...

    def counts(self, queue: QueueRecord, now: float) -> Counts:
        """Visible / in flight / delayed, not counting messages past retention."""
        ...

    def next_change(self, queue: QueueRecord, now: float) -> float | None:
        """The earliest future time a message of ``queue`` becomes visible, if any (wakes long polls)."""
        ...

    def in_flight_reaches(self, queue: QueueRecord, now: float, cap: int) -> bool:
        """Whether at least ``cap`` messages of ``queue`` are in flight (received, not yet visible again)."""
        ...

    # other processes sharing the store
    watch_interval: float | None
    """How often a parked receiver should look for other processes' changes; None where none can exist."""

    def external_change(self) -> bool:
        """Whether another process changed the store since the last call."""
        ...

    # FIFO
    def get_dedup(self, queue: QueueRecord, key: str, now: float) -> DedupEntry | None: ...
    def put_dedup(self, queue: QueueRecord, key: str, entry: DedupEntry) -> None: ...
    def get_attempt(self, queue: QueueRecord, attempt_id: str, now: float) -> Attempt | None: ...
    def put_attempt(self, queue: QueueRecord, attempt_id: str, attempt: Attempt) -> None: ...

    # message move tasks
    def tasks(self, running: bool = False) -> list[MoveTask]:
        """Every task (oldest first), or only the running ones: asked on every receive, so it must be cheap."""
        ...

    def save_task(self, task: MoveTask) -> None: ...
