"""The engine suite runs every rule against every store, and once more over the wire: one test states one rule
for all of them.

``wire`` is the memory store behind the HTTP server, called through a real SDK client (``tests/engine/wire.py``);
a test that cannot go over the wire says why with ``@pytest.mark.in_process(reason)`` and is deselected there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import anyio
import pytest

from consumerkit.engine import Engine, ManualClock
from tests.engine.wire import served

WIRE = "wire"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the ``wire`` run of the tests marked ``in_process`` (every other run of them stays)."""
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        over_wire = callspec is not None and callspec.params.get("store_kind") == WIRE
        (dropped if over_wire and item.get_closest_marker("in_process") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(params=["memory", "sqlite", WIRE])
def store_kind(request: pytest.FixtureRequest) -> str:
    """Which store the engine runs on, and whether the suite reaches it over HTTP."""
    return str(request.param)


@pytest.fixture
def store_url(store_kind: str, tmp_path: Path) -> str:
    if store_kind == "sqlite":
        return f"sqlite:///{tmp_path / 'queues.db'}"
    return "memory://"  # wire: the memory store, behind the server


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def engine(store_kind: str, store_url: str, clock: ManualClock) -> AsyncIterator[Engine]:
    async with Engine.open(store_url, clock) as sqs:
        if store_kind != WIRE:
            yield sqs
            return
        async with served(sqs) as wire:
            yield cast(Engine, wire)  # a stand-in with the engine's API, every operation an SDK call


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
