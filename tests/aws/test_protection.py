"""Protect while busy, with hysteresis: a real worker on the engine, ECS task protection to a fake agent, time on a
manual clock. The agent's log says what was asked and when; ``RecordedProtector`` says when each call returned, so
the clock moves on only once the worker has acted on an answer."""

from __future__ import annotations

import anyio
import pytest
import structlog.testing

from consumerkit import App, ConfigError, Message
from consumerkit.aws import EcsTaskProtection, Hysteresis, ProtectionService, protection_service
from consumerkit.aws.protection import _State, next_action
from consumerkit.backends import LocalBackend
from consumerkit.clock import ManualClock
from tests.aws.standins import FakeEcsAgent, RecordedProtector
from tests.fixtures.backends import free_port
from tests.runtime.harness import WAIT, Gate, advance, running, send, settle, url_of

ENABLE = {"ProtectionEnabled": True, "ExpiresInMinutes": 60}
DISABLE = {"ProtectionEnabled": False}


def gated_app(
    queue: str, gates: list[Gate], recorded: RecordedProtector, idle_after: float = 60
) -> tuple[App, ProtectionService]:
    """A worker whose n-th job waits on ``gates[n]``, protected through ``recorded``."""
    app = App()

    @app.handler(queue)
    async def encode(message: Message) -> None:
        await gates[int(message.body)].enter()

    service = app.add_service(protection_service(recorded, idle_after=idle_after))
    assert isinstance(service, ProtectionService)
    return app, service


def puts(agent: FakeEcsAgent, start: float) -> list[tuple[float, object]]:
    return [(r.at - start, r.body) for r in agent.requests.items if r.method == "PUT"]


async def test_protects_when_busy_renews_while_busy_and_unprotects_after_idle_after(
    local: LocalBackend, clock: ManualClock, ecs_agent: FakeEcsAgent, queue_name: str
) -> None:
    gates = [Gate(), Gate()]
    recorded = RecordedProtector(EcsTaskProtection(ecs_agent.url, expires_in_minutes=60), clock)
    app, service = gated_app(queue_name, gates, recorded)
    async with running(app, local, clock=clock) as (supervisor, outcomes):
        start = clock.now()
        await settle()  # the first check: idle, and not yet idle for long enough to unprotect
        await send(local, url_of(supervisor, queue_name), "0")
        await gates[0].wait_started(1)
        await advance(clock, 1)  # the next check sees the busy slot
        await recorded.calls.wait(1)
        assert ecs_agent.protected
        await advance(clock, 1799)
        assert len(recorded.calls) == 1
        await advance(clock, 1)  # 30 minutes on, still busy: renew before the hour's expiry
        await recorded.calls.wait(2)

        gates[0].open.set()
        await outcomes.wait(1)
        await advance(clock, 30)  # a short gap between two jobs does not unprotect
        await send(local, url_of(supervisor, queue_name), "1")
        await gates[1].wait_started(1)
        await advance(clock, 5)
        assert len(recorded.calls) == 2 and ecs_agent.protected

        gates[1].open.set()
        await outcomes.wait(2)
        await settle()
        idle_from = clock.now() + 1  # the first check that sees no job
        await advance(clock, 60)
        assert len(recorded.calls) == 2
        await advance(clock, 1)
        await recorded.calls.wait(3)
        await advance(clock, 600)  # idle, unprotected: nothing more to say
        stats = service.statistics()

    assert puts(ecs_agent, start) == [(1, ENABLE), (1801, ENABLE), (idle_from + 60 - start, DISABLE)]
    assert not ecs_agent.protected
    assert (stats.protected, stats.toggles, stats.renewals, stats.errors) == (False, 2, 1, 0)
    assert [c.error for c in recorded.calls.items] == [None, None, None]


async def test_a_worker_that_starts_idle_clears_a_protection_left_behind(
    local: LocalBackend, clock: ManualClock, ecs_agent: FakeEcsAgent, queue_name: str
) -> None:
    ecs_agent.protected = True  # e.g. by the previous process in this task, which crashed mid-job
    recorded = RecordedProtector(EcsTaskProtection(ecs_agent.url), clock)
    async with running(gated_app(queue_name, [], recorded)[0], local, clock=clock):
        start = clock.now()
        await settle()
        await advance(clock, 59)
        assert not recorded.calls.items
        await advance(clock, 1)
        await recorded.calls.wait(1)
        await advance(clock, 300)
    assert puts(ecs_agent, start) == [(60, DISABLE)]
    assert not ecs_agent.protected


async def test_failures_are_logged_and_retried_with_back_off_and_never_stop_the_worker(
    local: LocalBackend, clock: ManualClock, ecs_agent: FakeEcsAgent, queue_name: str
) -> None:
    ecs_agent.scripted = [
        (200, {"failure": {"Arn": "arn:aws:ecs:task/x", "Detail": None, "Reason": "TASK_NOT_VALID"}}),
        (400, {"requestID": "r-1", "error": {"Arn": "x", "Code": "ThrottlingException", "Message": "Rate exceeded"}}),
    ]
    gates = [Gate()]
    recorded = RecordedProtector(EcsTaskProtection(ecs_agent.url), clock)
    app, service = gated_app(queue_name, gates, recorded)
    with structlog.testing.capture_logs() as logs:
        async with running(app, local, clock=clock) as (supervisor, outcomes):
            start = clock.now()
            await settle()
            await send(local, url_of(supervisor, queue_name), "0")
            await gates[0].wait_started(1)
            for count, wait in ((1, 1), (2, 5), (3, 10)):  # fail, 5 s pause, fail, 10 s pause, succeed
                await advance(clock, wait)
                await recorded.calls.wait(count)
            await advance(clock, 30)
            assert supervisor.ready and supervisor.in_progress == 1
            stats = service.statistics()
            gates[0].open.set()
            await outcomes.wait(1)
    assert puts(ecs_agent, start) == [(1, ENABLE), (6, ENABLE), (16, ENABLE)]
    errors = [c.error or "" for c in recorded.calls.items]
    assert "TASK_NOT_VALID" in errors[0] and "ThrottlingException" in errors[1] and errors[2] == ""
    assert (stats.protected, stats.toggles, stats.errors) == (True, 1, 2)
    assert stats.last_error is not None and "ThrottlingException" in stats.last_error
    warnings = [e for e in logs if e["log_level"] == "warning" and "protection" in e["event"]]
    assert [w["retry_in"] for w in warnings] == [5.0, 10.0]
    assert outcomes.kinds() == ["success"]


async def test_an_unreachable_agent_costs_retries_not_the_worker(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    gates = [Gate()]
    nowhere = EcsTaskProtection(f"http://127.0.0.1:{free_port()}/api/x")
    recorded = RecordedProtector(nowhere, clock)
    app, service = gated_app(queue_name, gates, recorded)
    async with running(app, local, clock=clock) as (supervisor, outcomes):
        start = clock.now()
        await settle()
        await send(local, url_of(supervisor, queue_name), "0")
        await gates[0].wait_started(1)
        for count, wait in ((1, 1), (2, 5), (3, 10), (4, 20)):
            await advance(clock, wait)
            await recorded.calls.wait(count)
        gates[0].open.set()
        await outcomes.wait(1)
        assert supervisor.ready
    assert [c.at - start for c in recorded.calls.items] == [1, 6, 16, 36]
    assert all(c.error and "ProtectionError" in c.error for c in recorded.calls.items)
    assert (service.statistics().errors, service.statistics().protected) == (4, False)
    assert outcomes.kinds() == ["success"]


async def test_once_draining_it_no_longer_calls(
    local: LocalBackend, clock: ManualClock, ecs_agent: FakeEcsAgent, queue_name: str
) -> None:
    gates = [Gate()]
    recorded = RecordedProtector(EcsTaskProtection(ecs_agent.url), clock)
    app, _ = gated_app(queue_name, gates, recorded, idle_after=5)
    app.settings = app.settings.replace(drain_timeout=600)
    async with running(app, local, clock=clock) as (supervisor, outcomes):
        await settle()
        await send(local, url_of(supervisor, queue_name), "0")
        await gates[0].wait_started(1)
        await advance(clock, 1)
        await recorded.calls.wait(1)
        supervisor.stop()  # SIGTERM: the platform is stopping this task anyway
        await advance(clock, 60)
        gates[0].open.set()
        await outcomes.wait(1)
        with anyio.fail_after(WAIT):
            await supervisor.wait_stopped()
    assert [r.body for r in ecs_agent.requests.items] == [ENABLE]


def test_the_hysteresis_is_a_pure_decision() -> None:
    policy = Hysteresis(idle_after=60, renew_every=1800)
    state = _State()
    assert next_action(policy, state, busy=False, now=0) is None  # unknown, idle for 0 s
    assert next_action(policy, state, busy=False, now=59) is None
    assert next_action(policy, state, busy=True, now=59.5) == "enable"  # busy resets the idle time
    state.protected, state.renew_at = True, 59.5 + 1800
    assert next_action(policy, state, busy=False, now=100) is None
    assert next_action(policy, state, busy=False, now=159) is None
    assert next_action(policy, state, busy=False, now=160) == "disable"
    state.protected = False
    assert next_action(policy, state, busy=False, now=10_000) is None
    state.retry_at = 10_005
    assert next_action(policy, state, busy=True, now=10_001) is None  # pausing after a failure
    assert next_action(policy, state, busy=True, now=10_005) == "enable"


def test_a_protection_that_expires_is_renewed_even_in_the_idle_grace() -> None:
    policy = Hysteresis(idle_after=60, renew_every=10)
    state = _State(protected=True, renew_at=10)
    assert next_action(policy, state, busy=False, now=5) is None
    assert next_action(policy, state, busy=False, now=10) == "renew"


def test_policies_are_small_objects_with_a_repr_and_checked_ranges() -> None:
    assert repr(Hysteresis()) == (
        "Hysteresis(idle_after=60.0, renew_every=None, check_every=1.0, retry_after=5.0, max_retry_after=300.0)"
    )
    assert [Hysteresis().retry_delay(n) for n in (1, 2, 3, 7, 8, 100)] == [5, 10, 20, 300, 300, 300]
    with pytest.raises(ConfigError, match=r"idle_after=-1 is out of range"):
        Hysteresis(idle_after=-1)
    with pytest.raises(ConfigError, match=r"renew_every=0 is out of range"):
        Hysteresis(renew_every=0)
    service = protection_service(EcsTaskProtection("http://127.0.0.1:1/api/x", expires_in_minutes=10))
    assert service.policy.renew_every == 300  # the protector's own: half its expiry
    assert "EcsTaskProtection('http://127.0.0.1:1/api/x/task-protection/v1/state'" in repr(service)
    assert service.statistics().protected is False


class NeverExpires:
    """A protector whose protection does not lapse by itself, as EC2's instance protection does not."""

    renew_every = None

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def enable(self) -> None:
        self.calls.append("enable")

    async def disable(self) -> None:
        self.calls.append("disable")


async def test_protection_that_never_expires_is_lifted_as_the_worker_stops(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    gates = [Gate()]
    protector = NeverExpires()
    recorded = RecordedProtector(protector, clock)  # type: ignore[arg-type]
    app, _ = gated_app(queue_name, gates, recorded, idle_after=600)
    async with running(app, local, clock=clock) as (supervisor, outcomes):
        await settle()
        await send(local, url_of(supervisor, queue_name), "0")
        await gates[0].wait_started(1)
        await advance(clock, 1)
        await recorded.calls.wait(1)
        supervisor.stop()  # drains while still protected: the job is still running
        await advance(clock, 5)
        assert protector.calls == ["enable"]
        gates[0].open.set()
        await outcomes.wait(1)
    assert protector.calls == ["enable", "disable"]  # not left protected once the worker is gone
