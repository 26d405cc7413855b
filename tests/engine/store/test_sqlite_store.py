"""The SQLite store on its own: its file, what it persists across a reopen, how it indexes, and what several
connections on one file see.

The engine suite runs every SQS rule on this store too, and ``test_store_contract.py`` runs the ``Store``
contract (order, scoping, counting, rollback) on it and on MemoryStore; these tests pin what only a durable
store has to get right (file options, schema versions, reopening, nested transactions, several connections on
one file, index use, sweeping), looking into the file where the protocol cannot see.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from consumerkit.engine import Engine, ManualClock, SqsError
from consumerkit.engine.model import (
    MessageAttributeValue,
    MoveTask,
    QueueAttributes,
    QueueRecord,
    RedriveAllowPolicy,
    RedrivePolicy,
)
from consumerkit.engine.store import open_store
from consumerkit.engine.store import sqlite as sqlite_module
from consumerkit.engine.store.base import Attempt, DedupEntry, Store
from consumerkit.engine.store.sqlite import SCHEMA_VERSION, SqliteStore
from consumerkit.errors import ConfigError
from tests.engine.store.helpers import NOW, message, new_queue, save_two_tasks, send, seqs, take


@pytest.fixture
def path(tmp_path: Path) -> str:
    return str(tmp_path / "queues.db")


@pytest.fixture
def store(path: str) -> Iterator[SqliteStore]:
    opened = SqliteStore(path)
    yield opened
    opened.close()


def peek(path: str, sql: str, *params: Any) -> list[Any]:
    """What another connection sees in the file."""
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql, params).fetchall()


def rows(path: str, table: str) -> int:
    count: int = peek(path, f"SELECT count(*) FROM {table}")[0][0]
    return count


# opening, schema, persistence


def test_is_a_store(store: SqliteStore, path: str) -> None:
    typed: Store = store
    assert repr(typed) == f"SqliteStore({path!r})"


def test_creates_missing_parent_directories(tmp_path: Path) -> None:
    nested = tmp_path / "a" / "b" / "queues.db"
    SqliteStore(str(nested)).close()
    assert nested.exists()


def test_uses_wal_and_the_requested_sync_level(path: str) -> None:
    store = SqliteStore(path, synchronous="FULL")
    try:
        conn = store._conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    finally:
        store.close()
    with pytest.raises(ConfigError, match="synchronous"):
        SqliteStore(path, synchronous="SOMETIMES")


def test_store_url_options(path: str) -> None:
    store = open_store(f"sqlite:///{path}?synchronous=FULL&busy_timeout=2")
    try:
        assert isinstance(store, SqliteStore)
        assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert store._conn.execute("PRAGMA busy_timeout").fetchone()[0] == 2000
    finally:
        store.close()
    default = open_store(f"sqlite:///{path}")
    try:
        assert isinstance(default, SqliteStore)
        assert default._conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    finally:
        default.close()


@pytest.mark.parametrize("query", ["frobnicate=1", "synchronous=FULL&frobnicate=1"])
def test_store_url_refuses_an_unknown_option(path: str, query: str) -> None:
    with pytest.raises(ConfigError, match="frobnicate"):
        open_store(f"sqlite:///{path}?{query}")


async def test_a_write_lock_held_past_busy_timeout_is_an_internal_error(path: str) -> None:
    """Another process holding the file's write lock longer than busy_timeout: SQS's InternalError (500, not
    the sender's fault), saying what to tune; once the lock is released the store works again."""
    async with Engine.open(f"sqlite:///{path}?busy_timeout=0.05", ManualClock()) as engine:
        url = await engine.create_queue("jobs")
        with closing(sqlite3.connect(path, isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")
            with pytest.raises(SqsError) as info:
                await engine.send_message(url, "blocked")
            other.execute("COMMIT")
        error = info.value
        assert (error.shape, error.code, error.status, error.sender_fault) == (
            "InternalError",
            "InternalError",
            500,
            False,
        )
        assert "busy_timeout" in error.message
        await engine.send_message(url, "after")
        [got] = await engine.receive_message(url, max_messages=10)
        assert got.body == "after"


def test_new_file_records_its_schema_version_and_a_secret(store: SqliteStore, path: str) -> None:
    meta = dict(peek(path, "SELECT key, value FROM meta"))
    assert meta["schema_version"] == SCHEMA_VERSION == 1
    assert meta["secret"] == store.secret()
    assert len(store.secret()) == 32


def test_secret_survives_reopen_and_differs_between_files(store: SqliteStore, path: str, tmp_path: Path) -> None:
    secret = store.secret()
    store.close()
    with closing(SqliteStore(path)) as again, closing(SqliteStore(str(tmp_path / "other.db"))) as other:
        assert again.secret() == secret
        assert other.secret() != secret


def test_refuses_a_file_from_a_newer_schema(store: SqliteStore, path: str) -> None:
    store.close()
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (SCHEMA_VERSION + 1,))
    with pytest.raises(ConfigError) as caught:
        SqliteStore(path)
    text = str(caught.value)
    assert path in text and str(SCHEMA_VERSION + 1) in text and str(SCHEMA_VERSION) in text


def test_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database, just some bytes" * 100)
    with pytest.raises(ConfigError, match=r"junk\.db"):
        SqliteStore(str(junk))


def test_a_path_that_cannot_be_created_is_a_config_error_naming_it_and_why(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    cases = {
        "/proc/nonexistent/queues.db": "cannot create directory '/proc/nonexistent': No such file or directory",
        f"{blocker}/queues.db": f"cannot create directory '{blocker}': it is a file, not a directory",
        str(tmp_path): "unable to open database file",  # a directory where the file should be
    }
    for path, reason in cases.items():
        with pytest.raises(ConfigError) as caught:
            SqliteStore(path)
        assert str(caught.value) == f"cannot open SQLite store {path!r}: {reason}"


def test_everything_survives_reopen(store: SqliteStore, path: str) -> None:
    attributes = QueueAttributes(
        visibility_timeout=45,
        redrive_policy=RedrivePolicy("arn:aws:sqs:us-east-1:000000000000:dlq", 3),
        redrive_allow_policy=RedriveAllowPolicy("byQueue", ("arn:a", "arn:b")),
        fifo_queue=True,
        policy='{"Version": "2012-10-17"}',
    )
    queue = QueueRecord("jobs.fifo", attributes, NOW, NOW + 1, {"team": "blue"}, NOW + 2)
    user = {
        "text": MessageAttributeValue("String", string_value="hé"),
        "blob": MessageAttributeValue("Binary.raw", binary_value=b"\x00\xff"),
    }
    record = message(0, NOW + 5, attributes=user, md5_of_attributes="m", group_id="g", sequence_number="18")
    with store.transaction():
        store.save_queue(queue)
        [record.seq] = store.next_seqs(1)
        store.insert(queue, [record], NOW)
        store.put_dedup(queue, "key", DedupEntry("id-1", "18", NOW + 300))
        store.put_attempt(queue, "try", Attempt(((record.seq, 7, NOW + 30),), NOW + 300))
        store.save_task(MoveTask("h1", "arn:src", None, 10, NOW, 5))
    store.close()

    again = SqliteStore(path)
    assert again.get_queue("jobs.fifo") == queue
    assert again.list_queues() == [queue]
    assert again.get(queue, record.seq) == record
    assert again.get_dedup(queue, "key", NOW) == DedupEntry("id-1", "18", NOW + 300)
    assert again.get_attempt(queue, "try", NOW) == Attempt(((record.seq, 7, NOW + 30),), NOW + 300)
    assert again.tasks() == [MoveTask("h1", "arn:src", None, 10, NOW, 5)]
    assert again.next_seqs(1).start > record.seq
    again.close()


# transactions


def test_a_nested_transaction_commits_only_with_the_outer_one(store: SqliteStore, path: str) -> None:
    queue = new_queue(store)
    with store.transaction():
        with store.transaction():
            send(store, queue, NOW)
        assert rows(path, "messages") == 0
    assert rows(path, "messages") == 1


# sequence numbers


def test_seqs_never_repeat_across_a_reopen_even_after_the_newest_messages_are_deleted(
    store: SqliteStore, path: str
) -> None:
    queue = new_queue(store)
    sent = send(store, queue, NOW, NOW, NOW)
    with store.transaction():
        store.remove(queue, seqs(sent))
    store.close()
    with closing(SqliteStore(path)) as again:
        assert again.next_seqs(2).start > max(seqs(sent))


def test_two_connections_on_one_file_get_disjoint_seqs(store: SqliteStore, path: str) -> None:
    handed: list[int] = []
    with closing(SqliteStore(path)) as other:
        for _ in range(5):
            handed += store.next_seqs(3)
            handed += other.next_seqs(4)
    assert len(handed) == len(set(handed)) == 35


# indexes


def test_hot_queries_are_driven_by_an_index(store: SqliteStore) -> None:
    """A receive must cost the same with a million messages stored as with a thousand."""
    statements = {
        sqlite_module._TAKE_READY: (1, NOW, 10),
        sqlite_module._SCAN: (1, 0, 10),
        sqlite_module._GET: (1, 1),
        sqlite_module._NEXT_SEQS: (1,),
        sqlite_module._NEXT_CHANGE: (1, NOW),
        "DELETE FROM messages WHERE seq = ? AND queue_id = ?": (1, 1),
    }
    for sql, params in statements.items():
        plan = " | ".join(row[-1] for row in store._conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
        assert "SCAN" not in plan and "TEMP B-TREE" not in plan, (sql, plan)


# queues


def test_a_queue_change_rolled_back_does_not_survive_in_the_cache(store: SqliteStore) -> None:
    """get_queue hands out the cached record (as MemoryStore does); a rollback must drop what was changed."""
    new_queue(store, redrive_policy=RedrivePolicy("arn:dlq", 2))
    with pytest.raises(RuntimeError), store.transaction():
        first = store.get_queue("jobs")
        assert first is not None and first.attributes.redrive_policy is not None
        first.tags["x"] = "y"
        first.attributes.redrive_policy.max_receive_count = 9
        store.save_queue(first)
        raise RuntimeError("the call fails after changing the queue")
    again = store.get_queue("jobs")
    assert again is not None and again.tags == {}
    assert again.attributes.redrive_policy == RedrivePolicy("arn:dlq", 2)


def test_get_queue_sees_changes_made_by_another_connection(store: SqliteStore, path: str) -> None:
    new_queue(store)
    new_queue(store, "gone")
    assert store.get_queue("jobs") is not None and store.get_queue("gone") is not None  # cached now
    with closing(SqliteStore(path)) as other:
        changed, gone = other.get_queue("jobs"), other.get_queue("gone")
        assert changed is not None and gone is not None
        changed.attributes.delay_seconds = 5
        with other.transaction():
            other.save_queue(changed)
            other.drop_queue(gone, NOW)
    seen = store.get_queue("jobs")
    assert seen is not None and seen.attributes.delay_seconds == 5
    assert store.get_queue("gone") is None
    assert store.get_queue("never") is None


def test_drop_queue_deletes_its_rows(store: SqliteStore, path: str) -> None:
    """What the contract cannot see: nothing of a dropped queue is left in the file."""
    queue = new_queue(store, fifo_queue=True)
    send(store, queue, NOW)
    with store.transaction():
        store.put_dedup(queue, "k", DedupEntry("m", "1", NOW + 300))
        store.put_attempt(queue, "a", Attempt((), NOW + 300))
        store.drop_queue(queue, NOW + 3)
    assert [rows(path, table) for table in ("queues", "messages", "dedup", "attempts")] == [0, 0, 0, 0]


# FIFO deduplication and receive attempts


def test_an_expired_dedup_key_is_deleted_when_met(store: SqliteStore, path: str) -> None:
    queue = new_queue(store, fifo_queue=True)
    entry = DedupEntry("m", "18", NOW + 300)
    with store.transaction():
        store.put_dedup(queue, "k", entry)
    assert store.get_dedup(queue, "k", NOW + 299) == entry
    assert rows(path, "dedup") == 1
    assert store.get_dedup(queue, "k", NOW + 300) is None
    assert rows(path, "dedup") == 0


def test_expired_keys_never_looked_up_again_are_swept(store: SqliteStore, path: str) -> None:
    queue = new_queue(store, fifo_queue=True)
    with store.transaction():
        for i in range(50):
            store.put_dedup(queue, f"old{i}", DedupEntry("m", "1", NOW + 300))
        store.put_dedup(queue, "fresh", DedupEntry("m", "1", NOW + 900))
        store.put_attempt(queue, "old", Attempt((), NOW + 300))
    for _ in range(sqlite_module._SWEEP_EVERY):
        store.get_dedup(queue, "absent", NOW + 600)
    assert peek(path, "SELECT key FROM dedup") == [("fresh",)]
    assert rows(path, "attempts") == 0


# move tasks


def test_tasks_survive_a_reopen_saved_in_place_and_in_order(store: SqliteStore, path: str) -> None:
    first, second = save_two_tasks(store)
    store.close()
    with closing(SqliteStore(path)) as again:
        assert again.tasks() == [first, second]


def test_take_ready_orders_by_visibility_time_exactly(store: SqliteStore) -> None:
    """SQLite orders by visible_at even for records inserted out of order (the memory store, by when it saw
    them become visible: see Store.take_ready)."""
    queue = new_queue(store)
    a, b, c, d, e = send(store, queue, NOW - 1, NOW - 5, NOW, NOW + 1, NOW - 5)
    assert seqs(take(store, queue, NOW, 10)) == [b.seq, e.seq, a.seq, c.seq]
    assert seqs(take(store, queue, NOW, 2)) == [b.seq, e.seq]
    assert seqs(take(store, queue, NOW + 1, 10))[-1] == d.seq


def test_scan_reads_in_send_order_across_chunks_while_the_store_changes(store: SqliteStore) -> None:
    """A SQLite scan tolerates writes between chunks; the contract does not ask it (see Store.scan)."""
    queue = new_queue(store)
    sent = send(store, queue, *[NOW + (i % 7) for i in range(1200)])
    scanned: list[int] = []
    for record in store.scan(queue, 1100):
        scanned.append(record.seq)
        if len(scanned) == 40:  # a write during the scan must not disturb it
            with store.transaction():
                store.remove(queue, [sent[-1].seq])
    assert scanned == seqs(sent)[:1100]
    assert len(list(store.scan(queue, 5000))) == 1199
