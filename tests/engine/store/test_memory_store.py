"""The memory store's indexes, white-box: whatever the load, they hold no more than the messages alive need.

The engine suite runs every SQS rule on this store; these tests look inside it (``store._data``) for what no
rule can see: memory that is never given back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from consumerkit.engine import DeleteEntry, Engine, ManualClock, SendEntry
from consumerkit.engine.store.memory import MemoryStore, _Queue

REBUILD_SLACK = 1024  # stale heap entries the store tolerates before it rebuilds the heap


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def engine(clock: ManualClock) -> AsyncIterator[Engine]:
    async with Engine.open("memory://", clock) as sqs:
        assert isinstance(sqs.store, MemoryStore)
        yield sqs


def internals(engine: Engine, url: str) -> _Queue:
    store = engine.store
    assert isinstance(store, MemoryStore)
    return store._data[engine.queue(url).id]


async def cycle(engine: Engine, url: str, rounds: int, fifo: bool = False) -> None:
    """Send, receive and delete ``rounds`` batches of ten messages (ten groups on a FIFO queue)."""
    for n in range(rounds):
        batch = [SendEntry(f"{n}-{i}", str(i), group_id=str(i) if fifo else None) for i in range(10)]
        assert len((await engine.send_message_batch(url, batch)).successful) == 10
        got = await engine.receive_message(url, max_messages=10)
        assert len(got) == 10
        result = await engine.delete_message_batch(
            url, [DeleteEntry(str(i), m.receipt_handle) for i, m in enumerate(got)]
        )
        assert result.failed == []


def stale_only(data: _Queue) -> bool:
    """Every heap entry is stale: its message is gone or has a newer entry."""
    return all(slot.record.seq not in data.slots or slot.epoch != epoch for _, _, epoch, slot in data.timed)


async def test_fifo_messages_sent_and_deleted_leave_nothing_indexed(engine: Engine) -> None:
    """FIFO receives scan in send order and never drain the ready deque: a FIFO message put there stayed
    there, body and all, long after it was deleted."""
    url = await engine.create_queue("jobs.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"})
    await cycle(engine, url, 100, fifo=True)
    data = internals(engine, url)
    assert len(data.slots) == 0
    assert len(data.ready) == 0
    # Deleting an in-flight message leaves its heap entry behind, stale, until the heap is next rebuilt or
    # popped: bounded, and none of it alive.
    assert stale_only(data)
    assert len(data.timed) <= REBUILD_SLACK


async def test_heap_stays_bounded_under_a_steady_load(engine: Engine, clock: ManualClock) -> None:
    url = await engine.create_queue("jobs")
    await engine.send_message_batch(url, [SendEntry(f"held-{i}", str(i)) for i in range(10)])
    held = await engine.receive_message(url, max_messages=10, visibility_timeout=3600)  # live heap entries
    assert len(held) == 10
    data = internals(engine, url)
    for _ in range(30):
        await cycle(engine, url, 10)
        clock.advance(1)
        live = sum(1 for slot in data.slots.values() if slot.record.visible_at > clock.now())
        assert live == 10
        assert len(data.timed) <= 2 * live + REBUILD_SLACK
    assert len(data.ready) == 0
    assert len(data.slots) == 10
