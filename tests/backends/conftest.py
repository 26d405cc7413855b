"""The backend suites state SQS's rules, so they run on moto too: a second SQS that is not ours."""

from __future__ import annotations

import pytest

from tests.fixtures.backends import KINDS


@pytest.fixture(params=[*KINDS, "moto"])
def backend_kind(request: pytest.FixtureRequest) -> str:
    """memory, sqlite, serve (our server, through SqsBackend) and moto (moto's server, through SqsBackend)."""
    return str(request.param)
