"""Engine throughput, backlog scaling and idle long-poll cost (issue: the local SQS engine).

Run: ``make bench`` or ``python bench/engine.py [--quick]``. Prints a table, then as its last line one JSON
object with the same figures. The process pins itself to one core, as the targets are stated per core.

Targets: memory ≥ 50,000 msg/s and SQLite ≥ 20,000 msg/s in cycles of send(10) + receive(10) + delete(10);
receive throughput with 1,000,000 messages stored within 2× of that with 1,000 stored; 1,000 receivers
long-polling an empty queue under 2% of a core.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from consumerkit.engine import DeleteEntry, Engine, SendEntry

BODY = '{"video": "s3://bucket/input/clip-0001.mp4", "preset": "1080p"}'


def _store_urls(tmp: str) -> dict[str, Callable[[], str]]:
    return {"memory": lambda: "memory://", "sqlite": lambda: f"sqlite:///{tmp}/{uuid.uuid4().hex}.db"}


async def _cycles(engine: Engine, url: str, cycles: int) -> float:
    """Seconds for ``cycles`` rounds of send(10) + receive(10) + delete(10)."""
    entries = [SendEntry(BODY, id=str(i)) for i in range(10)]
    start = time.perf_counter()
    for _ in range(cycles):
        await engine.send_message_batch(url, entries)
        got = await engine.receive_message(url, max_messages=10)
        await engine.delete_message_batch(url, [DeleteEntry(str(i), m.receipt_handle) for i, m in enumerate(got)])
    return time.perf_counter() - start


async def throughput(store_url: str, cycles: int) -> float:
    async with Engine.open(store_url) as engine:
        url = await engine.create_queue("bench")
        await _cycles(engine, url, max(50, cycles // 20))  # warm up
        return cycles * 10 / await _cycles(engine, url, cycles)


def bare_sqlite(tmp: str, cycles: int) -> float:
    """The ceiling: the same send/receive/delete shape as bare SQL, no SQS rules at all."""
    db = sqlite3.connect(f"{tmp}/bare.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE m (seq INTEGER PRIMARY KEY, body TEXT, visible_at REAL)")
    db.execute("CREATE INDEX m_vis ON m (visible_at, seq)")
    rows = [(BODY, 0.0)] * 10
    start = time.perf_counter()
    for _ in range(cycles):
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT INTO m (body, visible_at) VALUES (?, ?)", rows)
        db.execute("COMMIT")
        db.execute("BEGIN IMMEDIATE")
        got = db.execute(
            "SELECT seq, body FROM m WHERE visible_at <= ? ORDER BY visible_at LIMIT 10", (1.0,)
        ).fetchall()
        db.executemany("UPDATE m SET visible_at = ? WHERE seq = ?", [(time.time() + 30, s) for s, _ in got])
        db.execute("COMMIT")
        db.execute("BEGIN IMMEDIATE")
        db.executemany("DELETE FROM m WHERE seq = ?", [(s,) for s, _ in got])
        db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    return cycles * 10 / elapsed


async def backlog(store_url: str, stored: int, cycles: int) -> float:
    """Receive + delete throughput (msg/s) with ``stored`` messages waiting: each timed receive(10) + delete(10)
    is followed by an untimed send(10), so the backlog stays at ``stored`` however many messages are timed."""
    async with Engine.open(store_url) as engine:
        url = await engine.create_queue("backlog")
        entries = [SendEntry(BODY, id=str(i)) for i in range(10)]
        for _ in range(stored // 10):
            await engine.send_message_batch(url, entries)
        elapsed = 0.0
        for _ in range(cycles):
            start = time.perf_counter()
            got = await engine.receive_message(url, max_messages=10)
            await engine.delete_message_batch(url, [DeleteEntry(str(i), m.receipt_handle) for i, m in enumerate(got)])
            elapsed += time.perf_counter() - start
            await engine.send_message_batch(url, entries)
        return cycles * 10 / elapsed


async def idle_long_polls(store_url: str, receivers: int, window: float, wait: int) -> float:
    """Share of one core used while ``receivers`` long polls wait on an empty queue."""
    async with Engine.open(store_url) as engine:
        url = await engine.create_queue("idle")

        async def receiver() -> None:
            while True:
                await engine.receive_message(url, wait_time_seconds=wait)

        async with anyio.create_task_group() as tg:
            for _ in range(receivers):
                tg.start_soon(receiver)
            await anyio.sleep(1.0)  # let every receiver park before measuring
            cpu, wall = time.process_time(), time.perf_counter()
            await anyio.sleep(window)
            share = (time.process_time() - cpu) / (time.perf_counter() - wall)
            tg.cancel_scope.cancel()
        return share


async def main(quick: bool) -> dict[str, float]:
    cycles = 1_000 if quick else 5_000
    big = 100_000 if quick else 1_000_000
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        urls = _store_urls(tmp)
        for name, make in urls.items():
            figures[f"{name}_msgs_per_s"] = await throughput(make(), cycles)
        figures["bare_sqlite_msgs_per_s"] = bare_sqlite(tmp, cycles)
        for name, make in urls.items():
            small = await backlog(make(), 1_000, 500)
            large = await backlog(make(), big, 500)
            figures[f"{name}_backlog_small_msgs_per_s"] = small
            figures[f"{name}_backlog_large_msgs_per_s"] = large
            figures[f"{name}_backlog_slowdown"] = small / large
        figures["backlog_large_messages"] = big
        window = 5.0 if quick else 21.0
        for name, make in urls.items():
            figures[f"{name}_idle_1000_long_polls_core_share"] = await idle_long_polls(make(), 1_000, window, 20)
    return figures


def report(figures: dict[str, float]) -> None:
    targets = {
        "memory_msgs_per_s": (">=", 50_000),
        "sqlite_msgs_per_s": (">=", 20_000),
        "memory_backlog_slowdown": ("<=", 2.0),
        "sqlite_backlog_slowdown": ("<=", 2.0),
        "memory_idle_1000_long_polls_core_share": ("<=", 0.02),
        "sqlite_idle_1000_long_polls_core_share": ("<=", 0.02),
    }
    print(f"{'figure':44} {'value':>14} {'target':>12}  ok")
    for key, value in figures.items():
        op, limit = targets.get(key, ("", 0))
        ok = "" if not op else ("yes" if (value >= limit if op == ">=" else value <= limit) else "NO")
        target = f"{op} {limit:g}" if op else ""
        print(f"{key:44} {value:14.4g} {target:>12}  {ok}")
    ratio = figures["sqlite_msgs_per_s"] / figures["bare_sqlite_msgs_per_s"]
    print(f"{'sqlite engine / bare sqlite loop':44} {ratio:14.3g}")
    print(json.dumps({k: round(v, 4) for k, v in figures.items()}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (100k backlog, shorter windows)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    report(anyio.run(main, args.quick))
