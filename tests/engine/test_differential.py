"""Differential test: the memory store and the SQLite store must be indistinguishable through the engine.

One seeded random sequence of operations runs against two engines, ``Engine.open("memory://", clock_a)`` and
``Engine.open("sqlite:///…", clock_b)``, whose manual clocks start at the same instant and are advanced
identically. After every operation the two must agree on the operation's outcome and on a probe of the whole
state. Any disagreement is a bug in one store, or in how the engine uses it (the memory store, for instance,
cannot roll back a transaction).

Queues: "std" (standard, RedrivePolicy → "std-dlq", maxReceiveCount 2) and "f.fifo" (FIFO, content-based
deduplication, RedrivePolicy → "f-dlq.fifo", maxReceiveCount 2). Operations: send (single and batch, with an
occasional invalid entry), short-poll receive, delete and change visibility (single and batch, with current,
stale, foreign and forged receipt handles), purge, set attributes, clock advance, GetQueueAttributes,
queue_stats, and message move tasks (start, list, cancel).

What is compared
- The outcome of each call: its result, or the error's shape, code, status and message. Batch results: the
  successful entries and each failure's id, shape, code and message.
- Message ids, receipt handles and move-task handles are random per engine, so they are mapped: each engine
  maps a message id to a logical id (numbered in the order the harness first saw the message, from a send
  result), and a task handle to a logical task number; both must assign the same logical ids. A move task
  gives a redriven message a new random id; it is recognised by its birth key (the SequenceNumber it was sent
  with on FIFO, as store-wide seqs are handed out identically; its body on standard queues, where every body
  carries a counter), and a message id quoted as data (a FIFO DLQ's MessageDeduplicationId) is replaced by
  its logical id. Receipt handles the engines issued are kept side by side (``issued``), so "use handle #k"
  names the same receive in both, and an error message quoting a handle is compared with the handle replaced
  by its number.
- After every operation, a probe with no side effects, through the store's read-only calls: ``counts`` (what
  ``queue_stats`` and the counters report, but without catching move tasks up, which would hide a divergence
  in *when* a task moved something), the stored messages of every queue (logical id, body, timestamps,
  receive count, group, deduplication id, DLQ source, and the seq for FIFO), the queue records and every move
  task. All of it is observable through the API (counters, ``oldest_age``, received attributes, listings).

What is not compared, and why (no false positives by construction)
- Order on standard queues. SQS promises none, and the stores break ties differently (SQLite by
  ``(visible_at, seq)``, memory by when it saw a message become visible). Standard receives are compared as sets
  (sorted by logical id), and so that *which* messages come back is well defined, every receive on a standard
  queue asks for at least as many messages as are visible (``max_messages`` is drawn from [visible, 10]) and
  the standard family (std + std-dlq) never holds more than 10 live messages (sends are bounded). Likewise a
  move task on the standard DLQ is never rate-limited (it would take a store-dependent subset); the FIFO DLQ's
  tasks may be, as FIFO order is deterministic. Store-wide seqs of standard messages moved to a DLQ may be
  permuted between the stores, so only FIFO messages' seqs are compared.
- Messages past retention. The engine drops them lazily, and on a standard queue whether a receive happens to
  touch (and drop) one depends on that same tie order; they are never delivered nor counted, so the probe
  leaves them out. Retention is only ever lowered (and never on std-dlq), so an expired message cannot come
  back to life.
- FIFO order, receive counts, timestamps, SequenceNumbers, counters and errors are deterministic and compared
  exactly.

On a mismatch the failure names the seed, the operation's index, the operation with its parameters, both
results and the operations before it; rerun one seed with ``-k "test_differential[SEED]"``.
"""

from __future__ import annotations

import dataclasses
import json
import random
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from consumerkit.engine import (
    DeleteEntry,
    Engine,
    ManualClock,
    MessageAttributeValue,
    MoveTask,
    ReceivedMessage,
    SendEntry,
    SendResult,
    SqsError,
    VisibilityEntry,
)
from consumerkit.engine.model import BatchFailure, MessageRecord
from consumerkit.engine.semantics import expired

SEEDS = 40
OPERATIONS = 150

ARN = "arn:aws:sqs:us-east-1:000000000000:"
STD, STD_DLQ, FIFO, FIFO_DLQ = "std", "std-dlq", "f.fifo", "f-dlq.fifo"
QUEUES = (STD, STD_DLQ, FIFO, FIFO_DLQ)
STANDARD = (STD, STD_DLQ)
FAMILY_CAP = 10  # live messages in std + std-dlq: every standard receive can take all visible ones
WORDS = ("alpha", "beta", "gamma", "delta", "epsilon")
GROUPS = ("a", "b", "c")
ADVANCES = (0, 0, 0.5, 1, 5, 31, 61, 301)
FORGED = ("garbage", "0" * 80, "ab" * 40)  # never issued: ReceiptHandleIsInvalid


# -- the two engines -----------------------------------------------------------------------------------------


@dataclass
class Side:
    """One engine and its own mapping of random ids to logical ones."""

    label: str
    index: int
    engine: Engine
    clock: ManualClock
    urls: dict[str, str]
    messages: dict[str, int] = field(default_factory=dict)  # message id -> logical id
    births: dict[tuple[str, str], int] = field(default_factory=dict)  # birth key -> logical id
    tasks: dict[str, int] = field(default_factory=dict)  # move task handle -> logical task number

    def sent(self, message_id: str, birth: tuple[str, str]) -> int:
        """The logical id of a message a send returned (a FIFO duplicate returns its original)."""
        if message_id not in self.messages:
            self.messages[message_id] = self.births.setdefault(birth, len(self.births))
        return self.messages[message_id]

    def message(self, message_id: str) -> int | str:
        """The logical id of a stored or received message. A move task gives a message a new id (as SQS
        does); it is recognised by its birth key, the same in both engines."""
        if message_id not in self.messages:
            for name in QUEUES:
                queue = self.engine.queue(self.urls[name])
                for record in self.engine.store.scan(queue, 1_000_000):
                    if record.message_id == message_id and birth(record) in self.births:
                        self.messages[message_id] = self.births[birth(record)]
        return self.messages.get(message_id, f"unknown:{message_id}")

    def text(self, value: str | None) -> str | None:
        """A message id quoted as data (a FIFO DLQ's MessageDeduplicationId), by its logical id."""
        return f"<message {self.messages[value]}>" if value in self.messages else value

    def task(self, handle: str) -> int:
        return self.tasks.setdefault(handle, len(self.tasks))

    def task_handle(self, number: int) -> str:
        return next(h for h, n in self.tasks.items() if n == number)


def birth(record: MessageRecord) -> tuple[str, str]:
    """What tells a stored message apart for good, in both engines: the SequenceNumber it was sent with
    (FIFO; store-wide seqs are handed out identically), else its body (unique on standard queues)."""
    if record.sequence_number is not None:
        return ("sent as", record.sequence_number)
    return ("body", record.body)


@dataclass(frozen=True)
class Issued:
    """A receipt handle both engines issued for the same receive of the same logical message."""

    queue: str
    logical: int
    handles: tuple[str, str]


@dataclass
class Run:
    seed: int
    rng: random.Random
    sides: tuple[Side, Side]
    issued: list[Issued] = field(default_factory=list)
    tasks_started: int = 0
    sent: int = 0
    log: list[str] = field(default_factory=list)
    probe: dict[str, Any] = field(default_factory=dict)  # the last probe (equal on both sides)
    retention: dict[str, int] = field(default_factory=lambda: dict.fromkeys(QUEUES, 345_600))


async def create_queues(engine: Engine) -> dict[str, str]:
    fifo = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    urls = {STD_DLQ: await engine.create_queue(STD_DLQ), FIFO_DLQ: await engine.create_queue(FIFO_DLQ, fifo)}
    for source, dlq, extra in ((STD, STD_DLQ, {}), (FIFO, FIFO_DLQ, fifo)):
        policy = json.dumps({"deadLetterTargetArn": ARN + dlq, "maxReceiveCount": 2})
        urls[source] = await engine.create_queue(source, {**extra, "RedrivePolicy": policy})
    return urls


# -- normalising what an engine answers ------------------------------------------------------------------------


def error_view(error: SqsError, subs: dict[str, str]) -> tuple[Any, ...]:
    message = error.message
    for real, placeholder in subs.items():
        if real:
            message = message.replace(real, placeholder)
    return ("error", error.shape, error.code, error.status, error.sender_fault, message)


def failure_view(failure: BatchFailure, subs: dict[str, str]) -> tuple[Any, ...]:
    return (failure.id, *error_view(failure.error, subs))


def send_view(side: Side, result: SendResult, body: str) -> tuple[Any, ...]:
    key = ("sent as", result.sequence_number) if result.sequence_number is not None else ("body", body)
    return (
        side.sent(result.message_id, key),
        result.id,
        result.md5_of_body,
        result.md5_of_attributes,
        result.md5_of_system_attributes,
        result.sequence_number,
    )


def received_view(side: Side, message: ReceivedMessage) -> tuple[Any, ...]:
    return (
        side.message(message.message_id),
        message.body,
        message.md5_of_body,
        {name: side.text(value) for name, value in message.attributes.items()},
        message.message_attributes,
        message.md5_of_message_attributes,
    )


def task_view(side: Side, task: MoveTask) -> dict[str, Any]:
    view = dataclasses.asdict(task)
    view["handle"] = side.task(task.handle)
    return view


def record_view(side: Side, record: MessageRecord, fifo: bool) -> dict[str, Any]:
    view = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    view["message_id"] = side.message(record.message_id)
    view["deduplication_id"] = side.text(record.deduplication_id)
    del view["receipt_token"]  # random by design
    if not fifo:
        del view["seq"]  # standard messages moved to a DLQ may get their new seqs in another order
    return view


def probe(side: Side) -> dict[str, Any]:
    """The whole observable state, read without side effects (no move task is caught up)."""
    store, now = side.engine.store, side.clock.now()
    state: dict[str, Any] = {}
    for name in QUEUES:
        queue = side.engine.queue(side.urls[name])
        records = [
            record_view(side, r, queue.fifo)
            for r in store.scan(queue, 1_000_000)
            if not expired(r, queue.attributes, now)
        ]
        if not queue.fifo:
            records.sort(key=lambda r: str(r["message_id"]))
        state[f"{name} counts"] = store.counts(queue, now)
        state[f"{name} messages"] = records
        state[f"{name} queue"] = dataclasses.asdict(queue)
    state["tasks"] = [task_view(side, t) for t in store.tasks()]
    return state


# -- drawing operations ------------------------------------------------------------------------------------------


def live(run: Run, name: str) -> int:
    c = run.probe[f"{name} counts"]
    return int(c.visible + c.in_flight + c.delayed)


def room(run: Run) -> int:
    return FAMILY_CAP - sum(live(run, q) for q in STANDARD)


def draw_queue(rng: random.Random, weights: tuple[float, ...] = (4, 1, 4, 1)) -> str:
    return rng.choices(QUEUES, weights)[0]


def draw_entry(run: Run, queue: str, valid: bool = True) -> dict[str, Any]:
    rng = run.rng
    entry: dict[str, Any] = {}
    if queue in STANDARD:
        run.sent += 1
        entry["body"] = f"{rng.choice(WORDS)}#{run.sent}"
        entry["delay"] = rng.choice((None, None, 0, 0, 5))
        entry["group"] = rng.choice((None, None, None, None, "g"))  # a fair queue's group, rendered as such
    else:
        entry["body"] = rng.choice(WORDS)  # a small pool: content-based deduplication kicks in
        entry["group"] = rng.choice(GROUPS)
        entry["dedup"] = rng.choice((None, None, None, None, None, "d1", "d2"))
    if rng.random() < 0.2:
        entry["attrs"] = {"kind": ("String", rng.choice(WORDS)), "n": ("Number", str(rng.randint(0, 9)))}
        if rng.random() < 0.3:
            entry["attrs"]["blob"] = ("Binary", rng.choice(WORDS))
    if not valid:
        fault = rng.choice(("empty body", "bad attribute", "bad character", "bad group", "misplaced"))
        if fault == "empty body":
            entry["body"] = ""
        elif fault == "bad attribute":
            entry["attrs"] = {"x": ("Bogus", "1")}
        elif fault == "bad character":
            entry["body"] = "nul\x00"
        elif fault == "bad group":
            entry["group"] = "has space"
        elif queue in STANDARD:
            entry["dedup"] = "d1"  # not for a standard queue
        else:
            entry["delay"] = 5  # not for a FIFO queue
    return entry


def draw_ref(run: Run, queue: str) -> tuple[Any, ...]:
    """A receipt handle: mostly one issued for ``queue`` (often the latest), sometimes a forged one."""
    rng = run.rng
    mine = [i for i, issued in enumerate(run.issued) if issued.queue == queue]
    roll = rng.random()
    if not run.issued or roll < 0.06:
        return ("forged", rng.choice(FORGED))
    if mine and roll < 0.9:
        return ("issued", rng.choice(mine[-3:]) if rng.random() < 0.7 else rng.choice(mine))
    return ("issued", rng.randrange(len(run.issued)))  # possibly another queue's: ReceiptHandleIsInvalid


def draw_timeout(rng: random.Random) -> int:
    return rng.choice((0, 0, 1, 5, 30, 300, 43_000, 43_200, 43_200, 43_201, -1))


def draw(run: Run) -> tuple[str, dict[str, Any]]:
    rng = run.rng
    ops = {
        "send_message": 14,
        "send_message_batch": 6,
        "receive_message": 18,
        "delete_message": 6,
        "delete_message_batch": 3,
        "change_message_visibility": 6,
        "change_message_visibility_batch": 3,
        "purge_queue": 1,
        "set_queue_attributes": 3,
        "advance": 14,
        "get_queue_attributes": 2,
        "queue_stats": 2,
        "start_message_move_task": 3,
        "list_message_move_tasks": 2,
        "cancel_message_move_task": 1,
    }
    name = rng.choices(list(ops), list(ops.values()))[0]
    if name == "send_message":
        queue = draw_queue(rng, (8, 1, 8, 0.5))
        valid = rng.random() > 0.08
        if queue in STANDARD and room(run) < 1 and valid:
            queue = rng.choice((FIFO, FIFO_DLQ))
        return name, {"queue": queue, **draw_entry(run, queue, valid)}
    if name == "send_message_batch":
        queue = draw_queue(rng, (8, 1, 8, 0.5))
        if queue in STANDARD and room(run) < 1:
            queue = FIFO
        count = rng.randint(1, min(10, room(run)) if queue in STANDARD else 10)
        entries = [draw_entry(run, queue, rng.random() > 0.1) for _ in range(count)]
        ids = [f"e{k}" for k in range(count)]
        if rng.random() < 0.04:
            ids[-1] = ids[0]  # BatchEntryIdsNotDistinct
        return name, {"queue": queue, "entries": [{"id": i, **e} for i, e in zip(ids, entries, strict=True)]}
    if name == "receive_message":
        queue = draw_queue(rng, (4, 2, 4, 2))
        if queue in STANDARD:
            visible = run.probe[f"{queue} counts"].visible
            assert visible <= FAMILY_CAP, f"harness: {visible} visible in {queue}"
            most = rng.randint(max(1, visible), 10)
        else:
            most = rng.randint(1, 10)
        params: dict[str, Any] = {
            "queue": queue,
            "max": most,
            "vt": rng.choice((None, 0, 1, 5, 30)),
            "message_attributes": rng.choice(((), ("All",), ("kind",))),
        }
        if queue not in STANDARD and rng.random() < 0.15:
            params["attempt"] = rng.choice(("r1", "r2"))
        if rng.random() < 0.03:
            params["max"] = rng.choice((0, 11))  # invalid
        return name, params
    if name in ("delete_message", "change_message_visibility"):
        queue = draw_queue(rng)
        params = {"queue": queue, "ref": draw_ref(run, queue)}
        if name == "change_message_visibility":
            params["timeout"] = draw_timeout(rng)
        return name, params
    if name in ("delete_message_batch", "change_message_visibility_batch"):
        queue = draw_queue(rng)
        count = rng.choice((1, 1, 2, 3, 5, 10, 10, 0, 11)) if rng.random() < 0.1 else rng.randint(1, 6)
        entries: list[dict[str, Any]] = []
        for k in range(count):
            entry = {"id": f"h{k}", "ref": draw_ref(run, queue)}
            if name == "change_message_visibility_batch":
                entry["timeout"] = draw_timeout(rng)
            entries.append(entry)
        if count > 1 and rng.random() < 0.05:
            entries[-1]["id"] = entries[0]["id"]
        return name, {"queue": queue, "entries": entries}
    if name == "purge_queue":
        return name, {"queue": draw_queue(rng)}
    if name == "set_queue_attributes":
        queue = draw_queue(rng)
        kind = rng.choice(
            ("VisibilityTimeout", "VisibilityTimeout", "DelaySeconds", "retention", "redrive", "deduplication", "bad")
        )
        if kind == "VisibilityTimeout":
            attrs = {"VisibilityTimeout": str(rng.choice((0, 1, 5, 30)))}
        elif kind == "DelaySeconds":
            attrs = {"DelaySeconds": str(rng.choice((0, 0, 3)))}
        elif kind == "retention" and queue != STD_DLQ:
            lower = [v for v in (60, 120, 600, 345_600) if v <= run.retention[queue]]
            attrs = {"MessageRetentionPeriod": str(rng.choice(lower))}
        elif kind == "redrive" and queue in (STD, FIFO):
            dlq = STD_DLQ if queue == STD else FIFO_DLQ
            count = rng.choice((1, 2, 3))
            attrs = {"RedrivePolicy": json.dumps({"deadLetterTargetArn": ARN + dlq, "maxReceiveCount": count})}
        elif kind == "deduplication" and queue in (FIFO, FIFO_DLQ):
            attrs = rng.choice(
                (
                    {"DeduplicationScope": rng.choice(("queue", "messageGroup"))},
                    {"ContentBasedDeduplication": rng.choice(("true", "true", "false"))},
                )
            )
        else:
            attrs = rng.choice(
                (
                    {"VisibilityTimeout": "43201"},
                    {"MessageRetentionPeriod": "59"},
                    {"Bogus": "1"},
                    {"FifoQueue": "true"},
                )
            )
        return name, {"queue": queue, "attributes": attrs}
    if name == "advance":
        return name, {"seconds": rng.choice(ADVANCES)}
    if name in ("get_queue_attributes", "queue_stats"):
        params = {"queue": draw_queue(rng, (1, 1, 1, 1))}
        if name == "get_queue_attributes":
            params["names"] = rng.choice((["All"], ["All"], ["ApproximateNumberOfMessages", "QueueArn"], ["Nope"]))
        return name, params
    if name == "start_message_move_task":
        stocked = [6 if live(run, q) else 1 for q in (STD_DLQ, FIFO_DLQ)]  # mostly a DLQ with something to move
        source = rng.choices((STD_DLQ, FIFO_DLQ, STD, "missing"), (*stocked, 0.5, 0.5))[0]
        params = {"source": source, "destination": None, "rate": None}
        if rng.random() < 0.4:
            params["destination"] = rng.choice((STD, FIFO, FIFO, STD_DLQ, "missing"))
        if source == FIFO_DLQ and rng.random() < 0.5:
            params["rate"] = rng.choice((1, 2))  # never on std-dlq: a rate takes a store-dependent subset there
        if rng.random() < 0.03:
            params["rate"] = rng.choice((0, 501))  # invalid
        return name, params
    if name == "list_message_move_tasks":
        source = rng.choices((STD_DLQ, FIFO_DLQ, "missing"), (4, 4, 1))[0]
        return name, {"source": source, "max": rng.choice((1, 10, 10, 11))}
    assert name == "cancel_message_move_task"
    if run.tasks_started and rng.random() < 0.85:
        latest = run.tasks_started - 1
        return name, {"task": ("task", latest if rng.random() < 0.7 else rng.randrange(run.tasks_started))}
    return name, {"task": ("forged", "bm9wZQ==")}


# -- applying an operation to one engine -------------------------------------------------------------------------


def attributes(raw: dict[str, tuple[str, str]] | None) -> dict[str, MessageAttributeValue] | None:
    if raw is None:
        return None
    return {
        k: MessageAttributeValue(t, binary_value=v.encode()) if t == "Binary" else MessageAttributeValue(t, v)
        for k, (t, v) in raw.items()
    }


def send_entry(entry: dict[str, Any]) -> SendEntry:
    return SendEntry(
        entry["body"],
        entry.get("id", ""),
        delay_seconds=entry.get("delay"),
        attributes=attributes(entry.get("attrs")),
        group_id=entry.get("group"),
        deduplication_id=entry.get("dedup"),
    )


def handle(run: Run, side: Side, ref: tuple[Any, ...], subs: dict[str, str]) -> str:
    if ref[0] == "forged":
        return str(ref[1])
    real = run.issued[ref[1]].handles[side.index]
    subs[real] = f"<issued#{ref[1]}>"
    return real


def arn(name: str | None) -> str | None:
    return None if name is None else ARN + name


async def apply(run: Run, side: Side, name: str, p: dict[str, Any]) -> tuple[Any, Any]:
    """Run one operation; return (what to compare, what the harness keeps: the handles a receive issued)."""
    engine = side.engine
    url = side.urls.get(p.get("queue", ""), "")
    subs: dict[str, str] = {}
    try:
        if name == "send_message":
            entry = send_entry(p)
            result = await engine.send_message(
                url,
                entry.body,
                delay_seconds=entry.delay_seconds,
                attributes=entry.attributes,
                group_id=entry.group_id,
                deduplication_id=entry.deduplication_id,
            )
            return send_view(side, result, entry.body), None
        if name == "send_message_batch":
            batch = await engine.send_message_batch(url, [send_entry(e) for e in p["entries"]])
            bodies = {e["id"]: e["body"] for e in p["entries"]}
            sent = [send_view(side, r, bodies[r.id]) for r in batch.successful]
            return (sent, [failure_view(f, subs) for f in batch.failed]), None
        if name == "receive_message":
            got = await engine.receive_message(
                url,
                max_messages=p["max"],
                wait_time_seconds=0,
                visibility_timeout=p["vt"],
                attribute_names=["All"],
                message_attribute_names=p["message_attributes"],
                attempt_id=p.get("attempt"),
            )
            pairs = [(received_view(side, m), m.receipt_handle) for m in got]
            if p["queue"] in STANDARD:  # no order on a standard queue
                pairs.sort(key=lambda pair: str(pair[0][0]))
            return [view for view, _ in pairs], [h for _, h in pairs]
        if name == "delete_message":
            await engine.delete_message(url, handle(run, side, p["ref"], subs))
            return None, None
        if name == "delete_message_batch":
            entries = [DeleteEntry(e["id"], handle(run, side, e["ref"], subs)) for e in p["entries"]]
            batch = await engine.delete_message_batch(url, entries)
            return (batch.successful, [failure_view(f, subs) for f in batch.failed]), None
        if name == "change_message_visibility":
            await engine.change_message_visibility(url, handle(run, side, p["ref"], subs), p["timeout"])
            return None, None
        if name == "change_message_visibility_batch":
            changes = [VisibilityEntry(e["id"], handle(run, side, e["ref"], subs), e["timeout"]) for e in p["entries"]]
            batch = await engine.change_message_visibility_batch(url, changes)
            return (batch.successful, [failure_view(f, subs) for f in batch.failed]), None
        if name == "purge_queue":
            await engine.purge_queue(url)
            return None, None
        if name == "set_queue_attributes":
            await engine.set_queue_attributes(url, p["attributes"])
            return None, None
        if name == "advance":
            side.clock.advance(p["seconds"])
            return side.clock.now(), None
        if name == "get_queue_attributes":
            return await engine.get_queue_attributes(url, p["names"]), None
        if name == "queue_stats":
            return await engine.queue_stats(url), None
        if name == "start_message_move_task":
            started = await engine.start_message_move_task(arn(p["source"]), arn(p["destination"]), p["rate"])
            return side.task(started), None
        if name == "list_message_move_tasks":
            listed = await engine.list_message_move_tasks(arn(p["source"]), p["max"])
            return [task_view(side, t) for t in listed], None
        if name == "cancel_message_move_task":
            kind, value = p["task"]
            task = side.task_handle(value) if kind == "task" else value
            subs[task] = f"<task#{value}>"
            return await engine.cancel_message_move_task(task), None
        raise AssertionError(f"unknown operation {name}")
    except SqsError as error:
        return error_view(error, subs), None
    except Exception as error:  # an engine crash is a bug whatever the other store did
        return ("crash", type(error).__name__, str(error), traceback.format_exc(limit=-4)), None


# -- the test ------------------------------------------------------------------------------------------------------


def report(run: Run, index: int, name: str, params: dict[str, Any], what: str, a: Any, b: Any) -> str:
    lines = [
        f"seed={run.seed} op#{index} {name} {params!r}: {what}",
        f"  memory: {a!r}",
        f"  sqlite: {b!r}",
        "operations before it:",
        *run.log[-12:],
    ]
    return "\n".join(lines)


def differences(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """What differs between two probes; for lists, only the differing positions."""
    diff: dict[str, Any] = {}
    for key in sorted(a.keys() | b.keys()):
        x, y = a.get(key), b.get(key)
        if x == y:
            continue
        if isinstance(x, list) and isinstance(y, list):
            diff[key] = {
                i: (x[i] if i < len(x) else "-", y[i] if i < len(y) else "-")
                for i in range(max(len(x), len(y)))
                if x[i : i + 1] != y[i : i + 1]
            }
        else:
            diff[key] = (x, y)
    return diff


async def check(run: Run, index: int, name: str, params: dict[str, Any]) -> None:
    memory, sqlite = run.sides
    a, kept_a = await apply(run, memory, name, params)
    b, kept_b = await apply(run, sqlite, name, params)
    for outcome in (a, b):
        assert not (isinstance(outcome, tuple) and outcome[:1] == ("crash",)), report(
            run, index, name, params, "an engine crashed", a, b
        )
    assert a == b, report(run, index, name, params, "the results differ", a, b)
    if name == "receive_message" and isinstance(a, list):
        for view, ha, hb in zip(a, kept_a, kept_b, strict=True):
            run.issued.append(Issued(params["queue"], view[0], (ha, hb)))
    if name == "start_message_move_task" and isinstance(a, int):
        run.tasks_started += 1
    if name == "set_queue_attributes" and a is None and "MessageRetentionPeriod" in params["attributes"]:
        run.retention[params["queue"]] = int(params["attributes"]["MessageRetentionPeriod"])
    run.log.append(f"  op#{index} {name} {params!r} -> {a!r}")
    state_a, state_b = probe(memory), probe(sqlite)
    diff = differences(state_a, state_b)
    assert not diff, report(run, index, name, params, f"the states differ after it: {diff!r}", a, b)
    run.probe = state_a


@pytest.mark.parametrize("seed", range(SEEDS))
async def test_differential(seed: int, tmp_path: Path) -> None:
    clocks = ManualClock(), ManualClock()
    opened = Engine.open("memory://", clocks[0]), Engine.open(f"sqlite:///{tmp_path / 'diff.db'}", clocks[1])
    try:
        memory = Side("memory", 0, opened[0], clocks[0], await create_queues(opened[0]))
        sqlite = Side("sqlite", 1, opened[1], clocks[1], await create_queues(opened[1]))
        run = Run(seed, random.Random(seed), (memory, sqlite))
        run.probe = probe(run.sides[0])
        for index in range(OPERATIONS):
            name, params = draw(run)
            await check(run, index, name, params)
    finally:
        for engine in opened:
            await engine.aclose()


# -- the divergences the random runs found, as fixed scenarios -----------------------------------------------------


async def on_both_stores(tmp_path: Path, scenario: Callable[[Engine, ManualClock], Awaitable[Any]]) -> tuple[Any, Any]:
    outcomes = []
    for url in ("memory://", f"sqlite:///{tmp_path / 'scenario.db'}"):
        clock = ManualClock()
        async with Engine.open(url, clock) as sqs:
            outcomes.append(await scenario(sqs, clock))
    return outcomes[0], outcomes[1]


async def source_and_dlq(sqs: Engine) -> str:
    await sqs.create_queue("dlq")
    policy = json.dumps({"deadLetterTargetArn": ARN + "dlq", "maxReceiveCount": 1})
    return await sqs.create_queue("src", {"VisibilityTimeout": "0", "RedrivePolicy": policy})


async def test_a_refused_move_task_call_changes_nothing_on_either_store(tmp_path: Path) -> None:
    """A call refused after it caught a rate-limited task up must leave both stores alike (found by the random runs)."""

    async def scenario(sqs: Engine, clock: ManualClock) -> tuple[Any, ...]:
        src = await source_and_dlq(sqs)
        await sqs.send_message(src, "a")
        await sqs.receive_message(src)
        await sqs.receive_message(src)  # moves "a" to the DLQ
        await sqs.start_message_move_task(ARN + "dlq", max_per_second=1)
        clock.advance(1)
        with pytest.raises(SqsError):
            await sqs.list_message_move_tasks(ARN + "no-such-queue")
        clock.advance(10)
        return (await sqs.queue_stats(src)).oldest_age, (await sqs.queue_stats("dlq")).visible

    memory, sqlite = await on_both_stores(tmp_path, scenario)
    assert memory == sqlite


async def test_a_standard_receive_returns_as_many_as_asked_when_more_are_visible(tmp_path: Path) -> None:
    """With VisibilityTimeout 0 a message delivered earlier in the same receive must not use up a place
    meant for another visible one, whichever store orders the ties (found by the random runs)."""

    async def scenario(sqs: Engine, clock: ManualClock) -> list[str]:
        src = await source_and_dlq(sqs)
        await sqs.send_message(src, "poison")
        await sqs.receive_message(src)  # visible again at once, and due for the DLQ at its next receive
        for body in ("a", "b", "c"):
            await sqs.send_message(src, body)
        return sorted(m.body for m in await sqs.receive_message(src, max_messages=2))

    memory, sqlite = await on_both_stores(tmp_path, scenario)
    assert len(memory) == len(sqlite) == 2
