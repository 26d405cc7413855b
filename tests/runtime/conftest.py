"""Runtime tests on the engine in-process, with one manual clock for the worker and its queue alike."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from consumerkit.backends import LocalBackend
from consumerkit.clock import ManualClock
from consumerkit.engine import Engine


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def engine(local_backend_url: str, clock: ManualClock) -> AsyncIterator[Engine]:
    async with Engine.open(local_backend_url, clock) as opened:
        yield opened


@pytest.fixture
def local(engine: Engine) -> LocalBackend:
    """The engine as the worker's backend; the test keeps the engine to look at the queue directly."""
    return LocalBackend(engine)
