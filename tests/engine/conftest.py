"""The engine suite runs every rule against every store: one test states one rule for all of them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from consumerkit.engine import Engine, ManualClock


@pytest.fixture(params=["memory", "sqlite"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory://"
    return f"sqlite:///{tmp_path / 'queues.db'}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def engine(store_url: str, clock: ManualClock) -> AsyncIterator[Engine]:
    async with Engine.open(store_url, clock) as sqs:
        yield sqs


@pytest.fixture
async def queue(engine: Engine) -> str:
    """A standard queue with default attributes."""
    return await engine.create_queue("jobs")


@pytest.fixture
async def fifo(engine: Engine) -> str:
    """A FIFO queue with content-based deduplication."""
    return await engine.create_queue("jobs.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"})


async def parked(clock: ManualClock, count: int = 1) -> None:
    """Return once ``count`` long polls are parked on the clock (no sleeping: the scheduler tells us)."""
    with anyio.fail_after(5):
        while clock.sleepers < count:
            await anyio.wait_all_tasks_blocked()
