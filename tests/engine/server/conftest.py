"""Servers for the wire tests: one real ``consumerkit serve`` process per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.engine.server.serving import Served, consumerkit_serve


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with consumerkit_serve("--backend", "memory://") as server:
        yield server
    assert server.process.returncode == 0, "consumerkit serve must exit 0 on SIGTERM"
