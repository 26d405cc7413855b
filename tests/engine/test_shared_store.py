"""Several processes on one SQLite file: a long poll is woken by another process's send well before its
deadline, though no in-process event can reach it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio

from consumerkit.engine import Engine
from consumerkit.engine.waiters import Waiters

ROOT = Path(__file__).resolve().parents[2]
SEND = """
import sys, anyio
from consumerkit.engine import Engine
async def main():
    async with Engine.open("sqlite:///" + sys.argv[1]) as sqs:
        await sqs.send_message(await sqs.get_queue_url("jobs"), "from another process")
anyio.run(main)
"""


async def test_long_poll_wakes_on_a_send_from_another_process(tmp_path: Path) -> None:
    db = tmp_path / "queues.db"
    async with Engine.open(f"sqlite:///{db}") as sqs:
        url = await sqs.create_queue("jobs")
        got = []

        async def poll() -> None:
            got.extend(await sqs.receive_message(url, wait_time_seconds=20))

        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        # The deadline is 20 s; returning within 15 s with the message proves a wake-up, not the final poll.
        with anyio.fail_after(15):
            async with anyio.create_task_group() as tg:
                tg.start_soon(poll)
                await anyio.wait_all_tasks_blocked()
                await anyio.run_process([sys.executable, "-c", SEND, str(db)], env=env, check=True)
    assert [m.body for m in got] == ["from another process"]


def test_one_receiver_watches_for_other_processes_and_hands_the_watch_on() -> None:
    waiters = Waiters()
    assert waiters.claim_watch()
    assert not waiters.claim_watch()
    parked = waiters.park(1)
    waiters.release_watch()
    assert parked.is_set(), "a parked receiver is woken to take the watch over"
    assert waiters.claim_watch()
