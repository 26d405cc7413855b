"""SQLite durability: a SIGKILL at any moment loses no message whose send returned and brings back no message
whose delete returned."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from consumerkit.engine import Engine, ManualClock

CHILD = Path(__file__).with_name("crash_child.py")
ROOT = Path(__file__).resolve().parents[2]


def _run_and_kill(db: Path, prefix: str, lines: int) -> dict[str, set[str]]:
    """Run the child until it has printed ``lines`` lines, SIGKILL it, and return every body it announced, by
    line kind: the child may be ahead of our reading, and what it wrote before dying still counts."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(CHILD), str(db), prefix], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    with proc.stdout:
        try:
            read = [proc.stdout.readline() for _ in range(lines)]
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            read.append(proc.stdout.read())  # the rest, up to the moment it died
        finally:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the child must die by SIGKILL, not by an error"
    seen: dict[str, set[str]] = {"SENT": set(), "DELETING": set(), "DELETED": set()}
    text = "".join(read)
    # The child writes each batch of lines in one write() under PIPE_BUF, which a kill cannot cut.
    assert not text or text.endswith("\n")
    for line in text.splitlines():
        kind, body = line.split()
        seen[kind].add(body)
    return seen


async def _stored_bodies(db: Path) -> list[str]:
    """Every message in the file, received with a clock an hour ahead so in-flight ones are visible again."""
    bodies: list[str] = []
    async with Engine.open(f"sqlite:///{db}", ManualClock(time.time() + 3600)) as engine:
        url = await engine.get_queue_url("durable")
        while got := await engine.receive_message(url, max_messages=10, visibility_timeout=43_200):
            bodies += [m.body for m in got]
    return bodies


@pytest.mark.slow
async def test_sigkill_keeps_every_returned_send_and_delete(tmp_path: Path) -> None:
    db = tmp_path / "queues.db"
    rng = random.Random(7)
    sent: set[str] = set()
    deleting: set[str] = set()
    deleted: set[str] = set()
    for round_ in range(6):  # each child also consumes what the ones before it left
        seen = _run_and_kill(db, f"r{round_}", rng.randrange(200, 3000))
        assert seen["SENT"], "the child printed nothing before the kill"
        sent |= seen["SENT"]
        deleting |= seen["DELETING"]
        deleted |= seen["DELETED"]
    kept = sent - deleting
    assert deleted and kept, "the kills should fall after both sends and deletes"
    stored = await _stored_bodies(db)
    assert len(stored) == len(set(stored)), "a message came back twice"
    assert kept <= set(stored), f"lost after SIGKILL: {sorted(kept - set(stored))[:5]}"
    assert not deleted & set(stored), f"deleted but back after SIGKILL: {sorted(deleted & set(stored))[:5]}"
