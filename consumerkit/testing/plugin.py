"""consumerkit's pytest plugin: an in-memory engine on a manual clock, and a runner for an app on it.

pytest loads it for anyone who installs consumerkit (the ``pytest11`` entry point ``consumerkit``). Every
fixture's name starts with ``consumerkit_``, so none shadows a fixture of the project under test:

* ``consumerkit_clock``: a :class:`~consumerkit.clock.ManualClock`, shared by all of the below;
* ``consumerkit_engine``: an :class:`~consumerkit.engine.Engine` on ``consumerkit_engine_url`` (``memory://``
  unless a conftest overrides that fixture, e.g. with a SQLite file under ``tmp_path``);
* ``consumerkit_backend``: that engine as a :class:`~consumerkit.backends.LocalBackend`;
* ``consumerkit_runner``: ``consumerkit_runner(app)`` gives a :class:`~consumerkit.testing.Runner` for ``app``
  on that engine, to ``async with``.

The fixtures are plain (synchronous) ones: opening the engine needs no event loop, so they work the same under
pytest-asyncio's auto and strict modes and under anyio's plugin, whichever the project chose; only the test
that enters the runner is async.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from consumerkit.app import App
from consumerkit.backends.local import LocalBackend
from consumerkit.clock import ManualClock
from consumerkit.engine import Engine
from consumerkit.testing.runner import Runner

__all__ = [
    "consumerkit_backend",
    "consumerkit_clock",
    "consumerkit_engine",
    "consumerkit_engine_url",
    "consumerkit_runner",
]


@pytest.fixture
def consumerkit_clock() -> ManualClock:
    """The clock of the engine and of every worker the runner starts: it moves only when told to."""
    return ManualClock()


@pytest.fixture
def consumerkit_engine_url() -> str:
    """The store of ``consumerkit_engine``; override it to run on SQLite (``sqlite:///{tmp_path}/q.db``)."""
    return "memory://"


@pytest.fixture
def consumerkit_engine(consumerkit_engine_url: str, consumerkit_clock: ManualClock) -> Iterator[Engine]:
    """A fresh engine for the test, on the manual clock; closed after it."""
    engine = Engine.open(consumerkit_engine_url, consumerkit_clock)
    yield engine
    engine.store.close()  # all Engine.aclose does, without needing an event loop in a plain fixture


@pytest.fixture
def consumerkit_backend(consumerkit_engine: Engine) -> LocalBackend:
    """The engine as a backend (send with it, or hand it to ``App.serve``); the engine stays the test's."""
    return LocalBackend(consumerkit_engine)


@pytest.fixture
def consumerkit_runner(consumerkit_engine: Engine) -> Callable[[App], Runner]:
    """``async with consumerkit_runner(app) as runner:``: a runner for ``app`` on the test's engine and clock."""
    return lambda app: Runner(app, engine=consumerkit_engine)
