"""What the store tests share: a fixed time, a queue, message records and a way to send them, through the
``Store`` protocol only."""

from __future__ import annotations

from typing import Any

from consumerkit.engine.model import MessageRecord, MoveTask, QueueAttributes, QueueRecord
from consumerkit.engine.store.base import Store

NOW = 1_700_000_000.0


class Boom(Exception):
    pass


def new_queue(store: Store, name: str = "jobs", **attributes: Any) -> QueueRecord:
    queue = QueueRecord(name, QueueAttributes(**attributes), NOW, NOW)
    with store.transaction():
        store.save_queue(queue)
    return queue


def message(seq: int, visible_at: float = NOW, **fields: Any) -> MessageRecord:
    fields = {"enqueued_at": NOW, **fields}
    return MessageRecord(seq, f"id-{seq}", f"body-{seq}", "md5", NOW, visible_at=visible_at, **fields)


def send(store: Store, queue: QueueRecord, *visible: float, **fields: Any) -> list[MessageRecord]:
    """One message per visibility time, with seqs from ``next_seqs``, inserted in one transaction."""
    with store.transaction():
        records = [message(seq, at, **fields) for seq, at in zip(store.next_seqs(len(visible)), visible, strict=True)]
        store.insert(queue, records, NOW)
    return records


def seqs(records: list[MessageRecord]) -> list[int]:
    return [r.seq for r in records]


def take(store: Store, queue: QueueRecord, now: float, limit: int) -> list[MessageRecord]:
    """``take_ready`` as the engine calls it: in a transaction, handing every record back (unchanged)."""
    with store.transaction():
        taken = store.take_ready(queue, now, limit)
        store.update(queue, taken, now)
    return taken


def save_two_tasks(store: Store) -> tuple[MoveTask, MoveTask]:
    """Two tasks saved in one transaction, the first saved again after it changed (it must stay first)."""
    first = MoveTask("h1", "arn:a", None, None, NOW, 10)
    second = MoveTask("h2", "arn:b", "arn:c", 5, NOW, 3)
    with store.transaction():
        store.save_task(first)
        store.save_task(second)
        first.moved, first.status, first.failure_reason = 10, "FAILED", "gone"
        store.save_task(first)
    return first, second
