"""The in-memory store: dictionaries and two indexes, nothing persisted.

Standard queues keep a *ready* deque (visible now, in the order they became visible) and a *timed* heap
(delayed or in flight, by the time they become visible). FIFO queues are read by scanning in send order, so
they keep only the timed heap, which tells parked receivers when a message becomes visible. Both indexes are
lazy: an entry is valid only while its record still exists and carries the same ``epoch``, so a delete or a
visibility change costs O(1) and stale entries are dropped when met; the heap is rebuilt when stale entries
outnumber live ones, which bounds memory under a steady receive/delete load.
"""

from __future__ import annotations

import heapq
import itertools
import os
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext

from consumerkit.engine.model import MessageRecord, MoveTask, QueueRecord
from consumerkit.engine.store.base import Attempt, Counts, DedupEntry

_READY, _TIMED = 1, 2


class _Slot:
    """Index bookkeeping for one record: which index holds its live entry, and that entry's epoch."""

    __slots__ = ("epoch", "record", "where")

    def __init__(self, record: MessageRecord) -> None:
        self.record = record
        self.epoch = 0
        self.where = 0


class _Queue:
    __slots__ = ("attempts", "dedup", "dedup_sweep", "fifo", "live_timed", "ready", "slots", "timed")

    def __init__(self, fifo: bool) -> None:
        self.fifo = fifo
        self.slots: dict[int, _Slot] = {}
        self.ready: deque[tuple[int, _Slot]] = deque()
        self.timed: list[tuple[float, int, int, _Slot]] = []
        self.live_timed = 0
        self.dedup: dict[str, DedupEntry] = {}
        self.dedup_sweep = 4096
        self.attempts: dict[str, Attempt] = {}

    def place(self, slot: _Slot, now: float) -> None:
        if slot.where == _TIMED:
            self.live_timed -= 1
        slot.epoch += 1
        record = slot.record
        if record.visible_at <= now:
            self.promote(now)  # what came due earlier queues ahead of this one: longest-visible first
            slot.where = 0 if self.fifo else _READY
            if not self.fifo:
                self.ready.append((slot.epoch, slot))
        else:
            slot.where = _TIMED
            self.live_timed += 1
            heapq.heappush(self.timed, (record.visible_at, record.seq, slot.epoch, slot))
            if len(self.timed) > 2 * self.live_timed + 1024:
                self.timed = [e for e in self.timed if e[3].where == _TIMED and e[3].epoch == e[2]]
                heapq.heapify(self.timed)

    def unplace(self, slot: _Slot) -> None:
        if slot.where == _TIMED:
            self.live_timed -= 1
        slot.where = 0
        slot.epoch += 1

    def promote(self, now: float) -> None:
        """Move every timed entry that has come due to the ready deque (FIFO: just out of the heap)."""
        timed = self.timed
        while timed and timed[0][0] <= now:
            _, _, epoch, slot = heapq.heappop(timed)
            if slot.where == _TIMED and slot.epoch == epoch:
                self.live_timed -= 1
                slot.where = 0 if self.fifo else _READY
                if not self.fifo:
                    self.ready.append((epoch, slot))


class MemoryStore:
    """Everything in process memory; gone when the process ends."""

    def __init__(self) -> None:
        self._queues: dict[str, QueueRecord] = {}
        self._data: dict[int, _Queue] = {}
        self._deleted: dict[str, float] = {}
        self._tasks: list[MoveTask] = []
        self._ids = itertools.count(1)
        self._seq = 1
        self._secret = os.urandom(32)

    def __repr__(self) -> str:
        return f"MemoryStore(queues={len(self._queues)})"

    def transaction(self) -> AbstractContextManager[None]:
        return nullcontext()

    def secret(self) -> bytes:
        return self._secret

    def close(self) -> None:
        pass

    # queues
    def list_queues(self) -> list[QueueRecord]:
        return list(self._queues.values())

    def get_queue(self, name: str) -> QueueRecord | None:
        return self._queues.get(name)

    def save_queue(self, queue: QueueRecord) -> None:
        if queue.id == 0:
            queue.id = next(self._ids)
            self._data[queue.id] = _Queue(queue.fifo)
        self._queues[queue.name] = queue

    def drop_queue(self, queue: QueueRecord, now: float) -> None:
        self._queues.pop(queue.name, None)
        self._data.pop(queue.id, None)
        self._deleted[queue.name] = now

    def deleted_at(self, name: str) -> float | None:
        return self._deleted.get(name)

    # messages
    def next_seqs(self, count: int) -> range:
        start = self._seq
        self._seq += count
        return range(start, start + count)

    def insert(self, queue: QueueRecord, records: Sequence[MessageRecord], now: float) -> None:
        data = self._data[queue.id]
        for record in records:
            slot = _Slot(record)
            data.slots[record.seq] = slot
            data.place(slot, now)
            if record.seq >= self._seq:  # seqs handed out later must stay above every stored one
                self._seq = record.seq + 1

    def take_ready(self, queue: QueueRecord, now: float, limit: int) -> list[MessageRecord]:
        data = self._data[queue.id]
        data.promote(now)
        out: list[MessageRecord] = []
        ready = data.ready
        while ready and len(out) < limit:
            epoch, slot = ready.popleft()
            if slot.where == _READY and slot.epoch == epoch:
                slot.where = 0
                out.append(slot.record)
        return out

    def scan(self, queue: QueueRecord, limit: int) -> Iterator[MessageRecord]:
        # The engine stops iterating before it changes the queue, so no copy is needed.
        for slot in itertools.islice(self._data[queue.id].slots.values(), limit):
            yield slot.record

    def get(self, queue: QueueRecord, seq: int) -> MessageRecord | None:
        slot = self._data[queue.id].slots.get(seq)
        return slot.record if slot else None

    def update(self, queue: QueueRecord, records: Sequence[MessageRecord], now: float) -> None:
        data = self._data[queue.id]
        for record in records:
            data.place(data.slots[record.seq], now)

    def remove(self, queue: QueueRecord, seqs: Sequence[int]) -> None:
        data = self._data[queue.id]
        for seq in seqs:
            slot = data.slots.pop(seq, None)
            if slot is not None:
                data.unplace(slot)

    def move(self, source: QueueRecord, target: QueueRecord, records: Sequence[MessageRecord], now: float) -> None:
        self.remove(source, [r.seq for r in records])
        for record, seq in zip(records, self.next_seqs(len(records)), strict=True):
            record.seq = seq
        self.insert(target, records, now)

    def purge(self, queue: QueueRecord) -> None:
        data = self._data[queue.id]  # deduplication and attempts outlive a purge, as in SQS
        data.slots.clear()
        data.ready.clear()
        data.timed.clear()
        data.live_timed = 0

    def redelay(self, queue: QueueRecord, delay: int, now: float) -> None:
        data = self._data[queue.id]
        for slot in data.slots.values():
            record = slot.record
            if record.receive_count == 0 and record.moved_at is None:
                record.visible_at = record.sent_at + delay
                data.place(slot, now)

    def counts(self, queue: QueueRecord, now: float) -> Counts:
        cutoff = now - queue.attributes.message_retention_period
        visible = in_flight = delayed = 0
        oldest: float | None = None
        for slot in self._data[queue.id].slots.values():
            record = slot.record
            if record.enqueued_at <= cutoff:
                continue
            arrived = record.enqueued_at if record.moved_at is None else record.moved_at
            if oldest is None or arrived < oldest:
                oldest = arrived
            if record.visible_at <= now:
                visible += 1
            elif record.receive_count:
                in_flight += 1
            else:
                delayed += 1
        return Counts(visible, in_flight, delayed, oldest)

    def next_change(self, queue: QueueRecord, now: float) -> float | None:
        data = self._data[queue.id]
        data.promote(now)  # what has come due is not a future change
        timed = data.timed
        while timed and (timed[0][3].where != _TIMED or timed[0][3].epoch != timed[0][2]):
            heapq.heappop(timed)
        return timed[0][0] if timed else None

    def in_flight_reaches(self, queue: QueueRecord, now: float, cap: int) -> bool:
        data = self._data[queue.id]
        if data.live_timed < cap:  # every in-flight message sits in the timed index
            return False
        return sum(1 for s in data.slots.values() if s.record.receive_count and s.record.visible_at > now) >= cap

    # other processes: none can reach process memory
    watch_interval: float | None = None

    def external_change(self) -> bool:
        return False

    # FIFO
    def get_dedup(self, queue: QueueRecord, key: str, now: float) -> DedupEntry | None:
        data = self._data[queue.id]
        entry = data.dedup.get(key)
        if entry is not None and entry.expires_at <= now:
            del data.dedup[key]
            entry = None
        if len(data.dedup) > data.dedup_sweep:
            data.dedup = {k: e for k, e in data.dedup.items() if e.expires_at > now}
            data.dedup_sweep = max(4096, 2 * len(data.dedup))
        return entry

    def put_dedup(self, queue: QueueRecord, key: str, entry: DedupEntry) -> None:
        self._data[queue.id].dedup[key] = entry

    def get_attempt(self, queue: QueueRecord, attempt_id: str, now: float) -> Attempt | None:
        data = self._data[queue.id]
        attempt = data.attempts.get(attempt_id)
        if attempt is not None and attempt.expires_at <= now:
            del data.attempts[attempt_id]
            attempt = None
        return attempt

    def put_attempt(self, queue: QueueRecord, attempt_id: str, attempt: Attempt) -> None:
        self._data[queue.id].attempts[attempt_id] = attempt

    # message move tasks
    def tasks(self, running: bool = False) -> list[MoveTask]:
        return [t for t in self._tasks if t.status == "RUNNING"] if running else list(self._tasks)

    def save_task(self, task: MoveTask) -> None:
        if task not in self._tasks:
            self._tasks.append(task)
