"""AWS hooks against local stand-ins: a fake ECS agent and metadata service in the test's loop, moto for Auto
Scaling, and a real worker on the engine in-process, all on one manual clock.

No test may reach the real instance metadata address: every test starts with the metadata endpoint variable
pointing at a loopback port nobody listens on, and the ECS agent variable unset.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from consumerkit.aws.ecs import AGENT_URI_ENV
from consumerkit.aws.imds import ENDPOINT_ENV
from consumerkit.clock import ManualClock
from tests.aws.standins import FakeEcsAgent, FakeImds, serving
from tests.fixtures.backends import free_port


@pytest.fixture(autouse=True)
def nowhere_on_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENDPOINT_ENV, f"http://127.0.0.1:{free_port()}")
    monkeypatch.delenv(AGENT_URI_ENV, raising=False)


@pytest.fixture
async def ecs_agent(clock: ManualClock) -> AsyncIterator[FakeEcsAgent]:
    agent = FakeEcsAgent(clock)
    async with serving(agent.app()) as base:
        agent.url = f"{base}/api/0123456789abcdef0-1234567890"
        yield agent


@pytest.fixture
async def imds(clock: ManualClock) -> AsyncIterator[FakeImds]:
    server = FakeImds(clock)
    async with serving(server.app()) as base:
        server.url = base
        yield server
