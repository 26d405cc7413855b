"""The ``Store`` contract (``consumerkit/engine/store/base.py``), stated once and run on every store.

The engine suite runs every SQS rule on each store; these tests pin the order, scoping and counting rules the
engine relies on, through the protocol alone. A record ``take_ready`` returns is handed back (``take``), as the
contract requires. What only a durable store has to get right (files, reopening, several connections) is in
``test_sqlite_store.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from consumerkit.engine.model import MoveTask
from consumerkit.engine.store.base import Attempt, Counts, DedupEntry, Store
from consumerkit.engine.store.memory import MemoryStore
from consumerkit.engine.store.sqlite import SqliteStore
from tests.engine.store.helpers import NOW, Boom, message, new_queue, save_two_tasks, send, seqs, take

STORES = ["memory", "sqlite"]

# Rollback applies only to a durable store: MemoryStore.transaction() is a no-op, so it has nothing to undo.
durable_only = pytest.mark.parametrize("store", ["sqlite"], indirect=True)


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened: Store = MemoryStore() if request.param == "memory" else SqliteStore(str(tmp_path / "queues.db"))
    yield opened
    opened.close()


# transactions


@durable_only
def test_an_exception_rolls_the_whole_transaction_back(store: Store) -> None:
    queue = new_queue(store)
    assert store.get_queue("jobs") == queue
    with pytest.raises(Boom), store.transaction():
        send(store, queue, NOW)  # joins the outer transaction
        queue.attributes.visibility_timeout = 99
        store.save_queue(queue)
        raise Boom
    assert take(store, queue, NOW, 10) == []
    saved = store.get_queue("jobs")
    assert saved is not None and saved.attributes.visibility_timeout == 30  # the queue handed out forgot it too


def test_reads_work_outside_a_transaction(store: Store) -> None:
    queue = new_queue(store)
    send(store, queue, NOW)
    assert store.get_queue("jobs") == queue
    assert store.counts(queue, NOW) == Counts(1, 0, 0, NOW)
    assert store.deleted_at("jobs") is None


def test_a_transaction_can_follow_a_failed_one(store: Store) -> None:
    queue = new_queue(store)
    with pytest.raises(Boom), store.transaction():
        raise Boom
    send(store, queue, NOW)
    assert len(take(store, queue, NOW, 10)) == 1


# sequence numbers


def test_seqs_never_repeat_even_after_the_newest_messages_are_deleted(store: Store) -> None:
    queue = new_queue(store)
    sent = send(store, queue, NOW, NOW, NOW)
    with store.transaction():
        store.remove(queue, seqs(sent))
    assert store.next_seqs(2).start > max(seqs(sent))


def test_seqs_stay_above_every_stored_message(store: Store) -> None:
    queue = new_queue(store)
    with store.transaction():
        store.insert(queue, [message(100)], NOW)
    assert store.next_seqs(1).start == 101


# messages


def test_a_message_that_came_due_earlier_is_taken_before_one_sent_later(store: Store) -> None:
    """The case the engine meets: a delayed message visible at NOW+10 is taken before one sent at NOW+20, even
    when nothing looked at the queue in between."""
    queue = new_queue(store)
    [delayed] = send(store, queue, NOW + 10)
    with store.transaction():
        [later] = [message(seq, NOW + 20) for seq in store.next_seqs(1)]
        store.insert(queue, [later], NOW + 20)
    assert seqs(take(store, queue, NOW + 30, 10)) == [delayed.seq, later.seq]


def test_take_ready_sees_only_its_own_queue(store: Store) -> None:
    jobs, other = new_queue(store), new_queue(store, "other")
    send(store, other, NOW)
    mine = send(store, jobs, NOW)
    assert seqs(take(store, jobs, NOW, 10)) == seqs(mine)


def test_update_persists_the_delivery_state_including_cleared_fields(store: Store) -> None:
    queue = new_queue(store)
    [record] = send(store, queue, NOW)
    with store.transaction():
        [taken] = store.take_ready(queue, NOW, 1)
        taken.receive_count, taken.receipt_token = 1, 42
        taken.first_received_at = taken.received_at = NOW
        taken.visible_at = NOW + 30
        store.update(queue, [taken], NOW)
    assert take(store, queue, NOW + 29, 10) == []
    assert store.get(queue, record.seq) == taken
    with store.transaction():
        taken.first_received_at = taken.received_at = None
        taken.dead_letter_source_arn = "arn:src"
        store.update(queue, [taken], NOW)
    assert store.get(queue, record.seq) == taken


def test_insert_keeps_each_record_exactly_with_mixed_null_patterns(store: Store) -> None:
    queue = new_queue(store)
    records = [
        message(1),
        message(2, group_id="g", deduplication_id="d", sequence_number="9"),
        message(3, attributes={}, trace_header="Root=1", md5_of_system_attributes="s"),
        message(4, receive_count=2, first_received_at=NOW, received_at=NOW, receipt_token=5, sender_id="me"),
    ]
    with store.transaction():
        store.insert(queue, records, NOW)
    assert [store.get(queue, r.seq) for r in records] == records


def test_get_and_remove_are_scoped_to_the_queue(store: Store) -> None:
    jobs, other = new_queue(store), new_queue(store, "other")
    [record] = send(store, jobs, NOW)
    assert store.get(other, record.seq) is None
    with store.transaction():
        store.remove(other, [record.seq])
    assert store.get(jobs, record.seq) == record


def test_move_appends_to_the_target_with_new_seqs(store: Store) -> None:
    source, target = new_queue(store), new_queue(store, "dlq")
    [waiting] = send(store, target, NOW)
    moving = send(store, source, NOW, NOW)
    old = seqs(moving)
    with store.transaction():
        for record in moving:
            record.dead_letter_source_arn, record.receive_count = "arn:src", 4
        store.move(source, target, moving, NOW)
    assert min(seqs(moving)) > max(old)
    assert take(store, source, NOW, 10) == []
    assert seqs(list(store.scan(target, 10))) == [waiting.seq, *seqs(moving)]
    assert store.get(target, moving[0].seq) == moving[0]


def test_purge_empties_one_queue_only(store: Store) -> None:
    jobs, other = new_queue(store), new_queue(store, "other")
    send(store, jobs, NOW, NOW + 10)
    kept = send(store, other, NOW)
    with store.transaction():
        store.purge(jobs)
    assert list(store.scan(jobs, 10)) == []
    assert seqs(list(store.scan(other, 10))) == seqs(kept)


def test_counts_classify_messages_and_ignore_expired_ones(store: Store) -> None:
    queue = new_queue(store, message_retention_period=60)
    send(store, queue, NOW - 1, NOW)  # visible
    send(store, queue, NOW + 10, receive_count=1)  # in flight
    send(store, queue, NOW + 10)  # delayed
    with store.transaction():
        stale = message(store.next_seqs(1).start, NOW, enqueued_at=NOW - 60)  # past retention
        store.insert(queue, [stale], NOW)
    assert store.counts(queue, NOW) == Counts(visible=2, in_flight=1, delayed=1, oldest_enqueued=NOW)
    assert store.counts(new_queue(store, "empty"), NOW) == Counts(0, 0, 0, None)


def test_next_change_is_the_earliest_future_visibility(store: Store) -> None:
    queue = new_queue(store)
    assert store.next_change(queue, NOW) is None
    send(store, queue, NOW - 1, NOW + 30, NOW + 7, NOW)
    assert store.next_change(queue, NOW) == NOW + 7
    assert store.next_change(queue, NOW + 7) == NOW + 30
    assert store.next_change(queue, NOW + 30) is None


# queues


def test_drop_queue_removes_its_data_and_remembers_when(store: Store) -> None:
    queue = new_queue(store, fifo_queue=True)
    send(store, queue, NOW)
    with store.transaction():
        store.put_dedup(queue, "k", DedupEntry("m", "1", NOW + 300))
        store.put_attempt(queue, "a", Attempt((), NOW + 300))
        store.drop_queue(queue, NOW + 3)
    assert store.get_queue("jobs") is None
    assert store.list_queues() == []
    assert store.deleted_at("jobs") == NOW + 3
    again = new_queue(store)
    assert again.id > queue.id  # a new incarnation, even though the old one had the highest id
    assert list(store.scan(again, 10)) == []  # which inherits nothing of the old one
    assert store.get_dedup(again, "k", NOW) is None
    assert store.get_attempt(again, "a", NOW) is None
    with store.transaction():
        store.drop_queue(again, NOW + 9)
    assert store.deleted_at("jobs") == NOW + 9


def test_list_queues_in_creation_order(store: Store) -> None:
    names = ["b", "a", "c"]
    for name in names:
        new_queue(store, name)
    assert [q.name for q in store.list_queues()] == names


# FIFO deduplication and receive attempts


def test_dedup_entries_expire(store: Store) -> None:
    queue = new_queue(store, fifo_queue=True)
    entry = DedupEntry("m", "18", NOW + 300)
    with store.transaction():
        store.put_dedup(queue, "k", entry)
    assert store.get_dedup(queue, "k", NOW + 299) == entry
    assert store.get_dedup(queue, "k", NOW + 300) is None


def test_attempts_expire(store: Store) -> None:
    queue = new_queue(store, fifo_queue=True)
    attempt = Attempt(((1, 2, NOW + 30), (3, 4, NOW + 60)), NOW + 300)
    with store.transaction():
        store.put_attempt(queue, "a", attempt)
    assert store.get_attempt(queue, "a", NOW) == attempt
    assert store.get_attempt(queue, "a", NOW + 300) is None
    assert store.get_attempt(queue, "never", NOW) is None


# move tasks


def test_tasks_are_saved_in_place_and_kept_in_order(store: Store) -> None:
    first, second = save_two_tasks(store)
    assert store.tasks() == [first, second]


def test_running_tasks_are_only_the_running_ones_in_order(store: Store) -> None:
    tasks = [MoveTask(f"h{i}", f"arn:{i}", None, None, NOW + i, 1) for i in range(4)]
    with store.transaction():
        for task in tasks:
            store.save_task(task)
        tasks[1].status = "COMPLETED"
        tasks[3].status, tasks[3].failure_reason = "FAILED", "gone"
        store.save_task(tasks[1])
        store.save_task(tasks[3])
    assert store.tasks(running=True) == [tasks[0], tasks[2]]
    with store.transaction():
        tasks[0].status = "CANCELLED"
        store.save_task(tasks[0])
    assert store.tasks(running=True) == [tasks[2]]
    assert store.tasks() == tasks
