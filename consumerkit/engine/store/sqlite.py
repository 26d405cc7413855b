"""The durable store: every queue and message in one SQLite file.

Why WAL with ``synchronous=NORMAL``: a commit is appended to the write-ahead log without an fsync, yet it is
in the operating system's page cache the moment ``COMMIT`` returns, so it survives a SIGKILL or crash of the
process and is replayed on the next open. That is consumerkit's guarantee. Pass ``synchronous="FULL"`` to
fsync every commit as well and survive power loss, at the price of a disk flush per API call.

Why ``BEGIN IMMEDIATE``: every engine call is one transaction that will write, so it takes the write lock up
front. Two processes sharing the file then queue behind ``busy_timeout`` instead of deadlocking when both try
to upgrade a read lock.

Why two indexes on messages: ``(queue_id, visible_at, seq)`` lets a receive read the first ready rows of one
queue, and ``(queue_id, seq)`` lets FIFO selection and move tasks read one queue in send order, both without
scanning; a receive therefore costs the same with a million messages stored as with a thousand.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, fields
from functools import cache
from operator import attrgetter, is_, itemgetter
from pathlib import Path
from types import TracebackType
from typing import Any, TypeAlias, cast

from consumerkit.engine.errors import SqsError
from consumerkit.engine.model import (
    MessageAttributeValue,
    MessageRecord,
    MoveTask,
    QueueAttributes,
    QueueRecord,
    RedriveAllowPolicy,
    RedrivePolicy,
)
from consumerkit.engine.store.base import Attempt, Counts, DedupEntry
from consumerkit.errors import ConfigError

__all__ = ["SCHEMA_VERSION", "SqliteStore"]

SCHEMA_VERSION = 1
_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")
_FIRST_CHUNK = 32
_SCAN_CHUNK = 500
_SWEEP_EVERY = 256  # FIFO lookups between sweeps of expired deduplication and attempt rows

# Columns in MessageRecord's field order, so a selected row constructs a record positionally.
_FIELDS = tuple(f.name for f in fields(MessageRecord))
_COLUMNS = ", ".join(_FIELDS)
_ATTRIBUTES = _FIELDS.index("attributes")
# What delivery and dead-lettering change; everything else about a message is fixed when it is sent.
_DELIVERY = ("visible_at", "receive_count", "first_received_at", "received_at", "receipt_token")
_MUTABLE = (*_DELIVERY, "enqueued_at", "dead_letter_source_arn", "moved_at")
# A move (dead-lettering, redrive) may also give a message a new id and deduplication id.
_MOVED = (*_MUTABLE, "message_id", "deduplication_id")
_moved = attrgetter(*_MOVED)
_values = attrgetter(*_FIELDS)
_mutable = attrgetter(*_MUTABLE)
_SET_MUTABLE = ", ".join(f"{name} = ?" for name in _MUTABLE)

_SELECT = f"SELECT {_COLUMNS} FROM messages"
_TAKE_READY = f"{_SELECT} WHERE queue_id = ? AND visible_at <= ? ORDER BY visible_at, seq LIMIT ?"
_SCAN = f"{_SELECT} WHERE queue_id = ? AND seq > ? ORDER BY seq LIMIT ?"
_GET = f"{_SELECT} WHERE seq = ? AND queue_id = ?"
_REDELAY = "UPDATE messages SET visible_at = sent_at + ? WHERE queue_id = ? AND receive_count = 0 AND moved_at IS NULL"
_NEXT_CHANGE = "SELECT min(visible_at) FROM messages WHERE queue_id = ? AND visible_at > ?"
_IN_FLIGHT = (
    "SELECT count(*) FROM (SELECT 1 FROM messages WHERE queue_id = ? AND visible_at > ? AND receive_count > 0 LIMIT ?)"
)
_MOVE = (
    f"UPDATE messages SET {', '.join(f'{n} = ?' for n in _MOVED)}, seq = ?, queue_id = ? WHERE seq = ? AND queue_id = ?"
)
_NEXT_SEQS = (
    "UPDATE meta SET value = max(value, (SELECT coalesce(max(seq), 0) + 1 FROM messages)) + ? "
    "WHERE key = 'next_seq' RETURNING value"
)
_COUNTS = """
SELECT coalesce(sum(CASE WHEN visible_at <= :now THEN 1 ELSE 0 END), 0),
       coalesce(sum(CASE WHEN visible_at > :now AND receive_count <> 0 THEN 1 ELSE 0 END), 0),
       coalesce(sum(CASE WHEN visible_at > :now AND receive_count = 0 THEN 1 ELSE 0 END), 0),
       min(coalesce(moved_at, enqueued_at))
FROM messages WHERE queue_id = :queue AND enqueued_at > :cutoff
"""

_SCHEMA = (
    # AUTOINCREMENT: a queue created again must never reuse the id (incarnation) of a deleted one.
    "CREATE TABLE queues (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, data TEXT NOT NULL)",
    "CREATE TABLE deleted_queues (name TEXT PRIMARY KEY, at REAL NOT NULL)",
    """CREATE TABLE messages (
        seq INTEGER PRIMARY KEY, queue_id INTEGER NOT NULL, message_id TEXT NOT NULL, body TEXT NOT NULL,
        md5_of_body TEXT NOT NULL, sent_at REAL NOT NULL, enqueued_at REAL NOT NULL, visible_at REAL NOT NULL,
        attributes TEXT, md5_of_attributes TEXT, trace_header TEXT, md5_of_system_attributes TEXT,
        receive_count INTEGER NOT NULL, first_received_at REAL, received_at REAL, receipt_token INTEGER NOT NULL,
        group_id TEXT, deduplication_id TEXT, sequence_number TEXT, dead_letter_source_arn TEXT,
        sender_id TEXT NOT NULL, moved_at REAL
    )""",
    "CREATE INDEX messages_ready ON messages (queue_id, visible_at, seq)",
    "CREATE INDEX messages_order ON messages (queue_id, seq)",
    """CREATE TABLE dedup (queue_id INTEGER NOT NULL, key TEXT NOT NULL, message_id TEXT NOT NULL,
        sequence_number TEXT NOT NULL, expires_at REAL NOT NULL, PRIMARY KEY (queue_id, key))""",
    "CREATE INDEX dedup_expiry ON dedup (queue_id, expires_at)",
    """CREATE TABLE attempts (queue_id INTEGER NOT NULL, attempt_id TEXT NOT NULL, receipts TEXT NOT NULL,
        expires_at REAL NOT NULL, PRIMARY KEY (queue_id, attempt_id))""",
    "CREATE INDEX attempts_expiry ON attempts (queue_id, expires_at)",
    "CREATE TABLE tasks (handle TEXT PRIMARY KEY, running INTEGER NOT NULL, data TEXT NOT NULL)",
    "CREATE INDEX tasks_running ON tasks (running)",
)


def _connect(path: str) -> sqlite3.Connection:
    """A connection to ``path``, its directory made first; a failure is the operator's to fix (a path that
    cannot be created, a read-only disk), so it is a ConfigError naming the path and the reason, not a traceback."""
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        where = str(exc.filename or Path(path).parent)
        reason = "it is a file, not a directory" if isinstance(exc, FileExistsError) else exc.strerror
        raise ConfigError(f"cannot open SQLite store {path!r}: cannot create directory {where!r}: {reason}") from exc
    try:
        return sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"cannot open SQLite store {path!r}: {exc}") from exc


class SqliteStore:
    """One SQLite file. Threads may share a store (a lock serialises its transactions) and processes may share
    the file (SQLite's write lock serialises theirs)."""

    def __init__(self, path: str, *, synchronous: str = "NORMAL", busy_timeout: float = 5.0) -> None:
        if synchronous.upper() not in _SYNCHRONOUS:
            raise ConfigError(f"synchronous must be one of {', '.join(_SYNCHRONOUS)}, not {synchronous!r}")
        if not 0 <= busy_timeout <= 600:
            raise ConfigError(f"busy_timeout must be from 0 to 600 seconds, not {busy_timeout!r}")
        self._path = path
        self._busy_timeout = busy_timeout
        self._lock = threading.RLock()
        self._depth = 0
        self._transaction = _Transaction(self)
        self._queues: dict[str, QueueRecord] = {}  # parsed queue records, valid for _data_version
        self._data_version = -1
        self._sweep_countdown = _SWEEP_EVERY
        self._conn = _connect(path)
        try:
            self._configure(synchronous.upper())
            self._secret = self._migrate()
            self._watched: int = self._conn.execute("PRAGMA data_version").fetchone()[0]
        except BaseException as exc:
            self._conn.close()
            if isinstance(exc, sqlite3.DatabaseError):
                raise ConfigError(f"cannot open SQLite store {path!r}: {exc}") from exc
            raise

    def __repr__(self) -> str:
        return f"SqliteStore({self._path!r})"

    def _configure(self, synchronous: str) -> None:
        execute = self._conn.execute
        execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")  # first: switching to WAL waits too
        execute("PRAGMA journal_mode = WAL")
        execute(f"PRAGMA synchronous = {synchronous}")
        execute("PRAGMA journal_size_limit = 67108864")  # a one-off huge purge must not leave a huge WAL behind

    def _migrate(self) -> bytes:
        """Create the schema in a new file; refuse one written by a newer consumerkit rather than misread it."""
        execute = self._conn.execute
        with self.transaction():
            execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value)")
            row = execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                for statement in _SCHEMA:
                    execute(statement)
                execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?), ('secret', ?), ('next_seq', 1)",
                    (SCHEMA_VERSION, os.urandom(32)),
                )
            elif row[0] > SCHEMA_VERSION:
                raise ConfigError(
                    f"SQLite store {self._path!r} has schema version {row[0]}, newer than the version "
                    f"{SCHEMA_VERSION} this consumerkit understands; upgrade consumerkit to open it"
                )
            secret: bytes = execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()[0]
        return secret

    def transaction(self) -> AbstractContextManager[None]:
        return self._transaction

    def _failure(self, exc: sqlite3.Error) -> SqsError:
        """What a client sees of a store failure: SQS's InternalError (500), naming the file and, for a lock held
        by another process, the busy_timeout it outwaited."""
        reason = str(exc)
        if "locked" in reason or "busy" in reason:
            reason += f" (another process held its write lock longer than busy_timeout, {self._busy_timeout:g} s)"
        return SqsError("InternalError", f"The SQLite store {self._path} failed: {reason}.")

    def _begin(self) -> None:
        self._lock.acquire()
        if self._depth == 0:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except BaseException:
                self._lock.release()
                raise
        self._depth += 1

    def _end(self, ok: bool) -> None:
        try:
            self._depth -= 1
            if self._depth == 0:
                if ok:
                    try:
                        self._conn.execute("COMMIT")
                    except BaseException:
                        self._rollback()
                        raise
                else:
                    self._rollback()
        finally:
            self._lock.release()

    def _rollback(self) -> None:
        # Queue records this transaction saved into the cache were undone with it.
        self._queues.clear()
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def secret(self) -> bytes:
        return self._secret

    def close(self) -> None:
        self._conn.close()

    # queues
    def _fresh(self) -> None:
        """Drop cached queue records once another connection has committed (they may have changed)."""
        version: int = self._conn.execute("PRAGMA data_version").fetchone()[0]
        if version != self._data_version:
            self._queues.clear()
            self._data_version = version

    def list_queues(self) -> list[QueueRecord]:
        rows = self._conn.execute("SELECT id, name, data FROM queues ORDER BY id").fetchall()
        return [_load_queue(*row) for row in rows]

    def get_queue(self, name: str) -> QueueRecord | None:
        self._fresh()
        queue = self._queues.get(name)
        if queue is None:
            row = self._conn.execute("SELECT id, name, data FROM queues WHERE name = ?", (name,)).fetchone()
            if row is None:
                return None
            queue = self._queues[name] = _load_queue(*row)
        # The live cached record, as MemoryStore hands out: the engine mutates a queue only inside a
        # transaction and saves it, and a rollback clears this cache.
        return queue

    def save_queue(self, queue: QueueRecord) -> None:
        data = _dump_queue(queue)
        if queue.id == 0:
            cursor = self._conn.execute("INSERT INTO queues (name, data) VALUES (?, ?)", (queue.name, data))
            queue.id = cast(int, cursor.lastrowid)
        else:
            self._conn.execute("UPDATE queues SET name = ?, data = ? WHERE id = ?", (queue.name, data, queue.id))
        self._queues[queue.name] = queue

    def drop_queue(self, queue: QueueRecord, now: float) -> None:
        execute = self._conn.execute
        with self.transaction():
            execute("DELETE FROM queues WHERE id = ?", (queue.id,))
            for table in ("messages", "dedup", "attempts"):
                execute(f"DELETE FROM {table} WHERE queue_id = ?", (queue.id,))
            execute(
                "INSERT INTO deleted_queues (name, at) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET at = excluded.at",
                (queue.name, now),
            )
        self._queues.pop(queue.name, None)

    def deleted_at(self, name: str) -> float | None:
        row = self._conn.execute("SELECT at FROM deleted_queues WHERE name = ?", (name,)).fetchone()
        return None if row is None else cast(float, row[0])

    # messages
    def next_seqs(self, count: int) -> range:
        """Seqs come from a high-water mark kept in ``meta`` and committed with the rows that use them, so
        processes sharing the file never hand out the same seq, even after the newest messages are deleted."""
        with self.transaction():
            end: int = self._conn.execute(_NEXT_SEQS, (count,)).fetchone()[0]
        return range(end - count, end)

    def insert(self, queue: QueueRecord, records: Sequence[MessageRecord], now: float) -> None:
        self._write(_insert_plan, [(_row(record), queue.id) for record in records])

    def take_ready(self, queue: QueueRecord, now: float, limit: int) -> list[MessageRecord]:
        return _records(self._conn.execute(_TAKE_READY, (queue.id, now, limit)).fetchall())

    def scan(self, queue: QueueRecord, limit: int) -> Iterator[MessageRecord]:
        # Chunks keep no statement open while the engine writes between them; they start small because a
        # FIFO receive usually finds its ten messages in the first rows, and grow for long scans.
        after, chunk = 0, _FIRST_CHUNK
        while limit > 0:
            size = min(limit, chunk)
            rows = self._conn.execute(_SCAN, (queue.id, after, size)).fetchall()
            yield from _records(rows)
            if len(rows) < size:
                return
            limit -= size
            after, chunk = rows[-1][0], min(4 * chunk, _SCAN_CHUNK)

    def get(self, queue: QueueRecord, seq: int) -> MessageRecord | None:
        rows = self._conn.execute(_GET, (seq, queue.id)).fetchall()
        return _records(rows)[0] if rows else None

    def update(self, queue: QueueRecord, records: Sequence[MessageRecord], now: float) -> None:
        self._write(_update_plan, [(_mutable(record), record.seq) for record in records])

    def _write(self, plan: Callable[[tuple[bool, ...]], _Plan], rows: list[tuple[tuple[Any, ...], Any]]) -> None:
        """Run each ``(values, key)`` through the statement ``plan`` gives for its NULL pattern, binding the
        values that are not NULL and then the key (queue id or seq)."""
        batches: dict[str, list[tuple[Any, ...]]] = {}
        for values, last in rows:
            sql, pick = plan(tuple(map(is_, values, _NULLS)))
            batches.setdefault(sql, []).append((*pick(values), last))
        for sql, params in batches.items():
            self._conn.executemany(sql, params)

    def remove(self, queue: QueueRecord, seqs: Sequence[int]) -> None:
        queue_id = queue.id
        self._conn.executemany("DELETE FROM messages WHERE seq = ? AND queue_id = ?", [(s, queue_id) for s in seqs])

    def move(self, source: QueueRecord, target: QueueRecord, records: Sequence[MessageRecord], now: float) -> None:
        with self.transaction():
            seqs = self.next_seqs(len(records))
            params = [(*_moved(r), seq, target.id, r.seq, source.id) for r, seq in zip(records, seqs, strict=True)]
            self._conn.executemany(_MOVE, params)
        for record, seq in zip(records, seqs, strict=True):
            record.seq = seq

    def purge(self, queue: QueueRecord) -> None:
        self._conn.execute("DELETE FROM messages WHERE queue_id = ?", (queue.id,))

    def redelay(self, queue: QueueRecord, delay: int, now: float) -> None:
        self._conn.execute(_REDELAY, (delay, queue.id))

    def counts(self, queue: QueueRecord, now: float) -> Counts:
        cutoff = now - queue.attributes.message_retention_period
        row = self._conn.execute(_COUNTS, {"now": now, "queue": queue.id, "cutoff": cutoff}).fetchone()
        return Counts(*row)

    def next_change(self, queue: QueueRecord, now: float) -> float | None:
        return cast(float | None, self._conn.execute(_NEXT_CHANGE, (queue.id, now)).fetchone()[0])

    def in_flight_reaches(self, queue: QueueRecord, now: float, cap: int) -> bool:
        return bool(self._conn.execute(_IN_FLIGHT, (queue.id, now, cap)).fetchone()[0] >= cap)

    # other processes
    watch_interval: float | None = 0.2

    def external_change(self) -> bool:
        """Whether another connection committed since the last call: a long poll here cannot be woken by a
        send from another process, so one parked receiver looks this often (``watch_interval``)."""
        version: int = self._conn.execute("PRAGMA data_version").fetchone()[0]
        changed, self._watched = version != self._watched, version
        return changed

    # FIFO
    def get_dedup(self, queue: QueueRecord, key: str, now: float) -> DedupEntry | None:
        row = self._unexpired("dedup", "key", "message_id, sequence_number", queue, key, now)
        return None if row is None else DedupEntry(*row)

    def put_dedup(self, queue: QueueRecord, key: str, entry: DedupEntry) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO dedup (queue_id, key, message_id, sequence_number, expires_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (queue.id, key, entry.message_id, entry.sequence_number, entry.expires_at),
        )

    def get_attempt(self, queue: QueueRecord, attempt_id: str, now: float) -> Attempt | None:
        row = self._unexpired("attempts", "attempt_id", "receipts", queue, attempt_id, now)
        return (
            None
            if row is None
            else Attempt(tuple((seq, token, until) for seq, token, until in json.loads(row[0])), row[1])
        )

    def put_attempt(self, queue: QueueRecord, attempt_id: str, attempt: Attempt) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO attempts (queue_id, attempt_id, receipts, expires_at) VALUES (?, ?, ?, ?)",
            (queue.id, attempt_id, json.dumps(attempt.receipts), attempt.expires_at),
        )

    def _unexpired(self, table: str, key_column: str, columns: str, queue: QueueRecord, key: str, now: float) -> Any:
        """The row for ``key`` unless it has expired. An expired row is deleted when met; rows never looked up
        again are swept every so often, so a busy FIFO queue's tables stay the size of one window."""
        self._sweep_countdown -= 1
        if self._sweep_countdown <= 0:
            self._sweep_countdown = _SWEEP_EVERY
            for swept in ("dedup", "attempts"):
                self._conn.execute(f"DELETE FROM {swept} WHERE queue_id = ? AND expires_at <= ?", (queue.id, now))
        where = f"FROM {table} WHERE queue_id = ? AND {key_column} = ?"
        row = self._conn.execute(f"SELECT {columns}, expires_at {where}", (queue.id, key)).fetchone()
        if row is not None and row[-1] <= now:
            self._conn.execute(f"DELETE {where}", (queue.id, key))
            return None
        return row

    # message move tasks
    def tasks(self, running: bool = False) -> list[MoveTask]:
        # Every receive asks for the running ones, so that question is one indexed lookup.
        sql = (
            "SELECT data FROM tasks WHERE running = 1 ORDER BY rowid"
            if running
            else "SELECT data FROM tasks ORDER BY rowid"
        )
        return [MoveTask(**json.loads(data)) for (data,) in self._conn.execute(sql).fetchall()]

    def save_task(self, task: MoveTask) -> None:
        self._conn.execute(
            "INSERT INTO tasks (handle, running, data) VALUES (?, ?, ?) "
            "ON CONFLICT (handle) DO UPDATE SET running = excluded.running, data = excluded.data",
            (task.handle, int(task.status == "RUNNING"), json.dumps(asdict(task))),
        )


class _Transaction(AbstractContextManager[None]):
    """Re-entrant: a transaction opened inside another joins it, so a store method that needs atomicity of
    its own (``move``) also works inside the engine's transaction."""

    __slots__ = ("_store",)

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def __enter__(self) -> None:
        try:
            self._store._begin()
        except sqlite3.Error as exc:
            raise self._store._failure(exc) from exc

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self._store._end(exc_type is None)
        except sqlite3.Error as error:
            raise self._store._failure(error) from error
        if isinstance(exc, sqlite3.Error):
            raise self._store._failure(exc) from exc


# Statements per pattern of NULL values. Binding a Python None costs the sqlite3 module a failed adapter
# lookup, several times the cost of binding a number or a string, and a fresh message has ten NULL columns;
# writing NULL into the statement instead roughly halves the cost of an insert.
_NULLS = (None,) * len(_FIELDS)
_Plan: TypeAlias = tuple[str, "itemgetter[Any]"]


@cache
def _insert_plan(nulls: tuple[bool, ...]) -> _Plan:
    keep = [i for i, null in enumerate(nulls) if not null]  # seq, body, ... are never NULL, so pick gives a tuple
    columns = ", ".join(_FIELDS[i] for i in keep)
    marks = ", ".join("?" * (len(keep) + 1))
    return f"INSERT INTO messages ({columns}, queue_id) VALUES ({marks})", itemgetter(*keep)


@cache
def _update_plan(nulls: tuple[bool, ...]) -> _Plan:
    keep = [i for i, null in enumerate(nulls) if not null]  # visible_at, receive_count, ... are never NULL either
    assignments = ", ".join(f"{name} = {'NULL' if null else '?'}" for name, null in zip(_MUTABLE, nulls, strict=True))
    return f"UPDATE messages SET {assignments} WHERE seq = ?", itemgetter(*keep)


# (de)serialisation
def _row(record: MessageRecord) -> tuple[Any, ...]:
    values: tuple[Any, ...] = _values(record)
    if record.attributes is not None:
        values = (*values[:_ATTRIBUTES], _dump_attributes(record.attributes), *values[_ATTRIBUTES + 1 :])
    return values


def _records(rows: list[Any]) -> list[MessageRecord]:
    records = [MessageRecord(*row) for row in rows]
    for record in records:
        if record.attributes is not None:  # still the JSON text from the row
            record.attributes = _load_attributes(cast(str, record.attributes))
    return records


def _dump_attributes(attributes: dict[str, MessageAttributeValue]) -> str:
    def binary(value: bytes | None) -> str | None:
        return None if value is None else base64.b64encode(value).decode()

    return json.dumps({name: [v.data_type, v.string_value, binary(v.binary_value)] for name, v in attributes.items()})


def _load_attributes(text: str) -> dict[str, MessageAttributeValue]:
    return {
        name: MessageAttributeValue(data_type, string, None if binary is None else base64.b64decode(binary))
        for name, (data_type, string, binary) in json.loads(text).items()
    }


def _dump_queue(queue: QueueRecord) -> str:
    state = asdict(queue)
    del state["id"], state["name"]  # columns of their own
    return json.dumps(state)


def _load_queue(queue_id: int, name: str, data: str) -> QueueRecord:
    state = json.loads(data)
    attributes = state["attributes"]
    if attributes["redrive_policy"] is not None:
        attributes["redrive_policy"] = RedrivePolicy(**attributes["redrive_policy"])
    if attributes["redrive_allow_policy"] is not None:
        allow = attributes["redrive_allow_policy"]
        attributes["redrive_allow_policy"] = RedriveAllowPolicy(allow["permission"], tuple(allow["source_queue_arns"]))
    state["attributes"] = QueueAttributes(**attributes)
    return QueueRecord(name=name, id=queue_id, **state)
