"""What only LocalBackend does: run on an injected clock, borrow or own its engine, and report a store that
failed for a moment (a SQLite file locked by another process) as transient."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from consumerkit.backends import LocalBackend, OutgoingMessage, QueueCounts, open_backend
from consumerkit.clock import ManualClock
from consumerkit.engine import Engine
from consumerkit.errors import TransientBackendError


async def test_the_clock_given_to_open_backend_drives_the_engine(local_backend_url: str) -> None:
    clock = ManualClock()
    async with open_backend(local_backend_url, clock=clock) as backend:
        url = await backend.create_queue("jobs")
        await backend.send_message_batch(url, [OutgoingMessage("now"), OutgoingMessage("later", "1", delay_seconds=60)])
        clock.advance(5)
        assert await backend.queue_counts(url) == QueueCounts(visible=1, in_flight=0, delayed=1, oldest_age=5.0)
        clock.advance(55)
        assert await backend.queue_counts(url) == QueueCounts(visible=2, in_flight=0, delayed=0, oldest_age=60.0)


async def test_a_borrowed_engine_outlives_the_backend() -> None:
    async with Engine.open("memory://") as engine:
        async with LocalBackend(engine) as backend:
            url = await backend.create_queue("jobs")
            await backend.send_message_batch(url, [OutgoingMessage("kept")])
        assert backend.engine is engine
        assert (await engine.queue_stats(url)).visible == 1  # still open after the backend's exit


async def test_an_owned_sqlite_engine_is_closed_and_its_queues_kept(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/queues.db"
    async with open_backend(url) as first:
        queue = await first.create_queue("jobs")
        await first.send_message_batch(queue, [OutgoingMessage("kept")])
    async with open_backend(url) as second:
        assert (await second.queue_counts(queue)).visible == 1


async def test_a_sqlite_file_locked_by_another_process_is_transient(tmp_path: Path) -> None:
    path = tmp_path / "queues.db"
    async with open_backend(f"sqlite:///{path}?busy_timeout=0") as backend:
        url = await backend.create_queue("jobs")
        lock = sqlite3.connect(path, isolation_level=None)
        try:
            lock.execute("BEGIN IMMEDIATE")
            with pytest.raises(TransientBackendError, match=r"SendMessageBatch: InternalError: .*locked"):
                await backend.send_message_batch(url, [OutgoingMessage("job")])
        finally:
            lock.close()
        ids, _ = await backend.send_message_batch(url, [OutgoingMessage("job")])
        assert len(ids) == 1
