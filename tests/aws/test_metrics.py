"""The AWS hooks' metrics, scraped from a real worker on the local engine: ECS scale-in protection against the
fake agent and the Spot watch against the fake instance metadata, on one manual clock."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from consumerkit import App, Message
from consumerkit.aws import EcsTaskProtection, ImdsClient, protection_service, spot_watch_service
from consumerkit.backends import LocalBackend
from consumerkit.clock import ManualClock
from consumerkit.observability import install_metrics
from tests.aws.standins import FakeEcsAgent, FakeImds, RecordedProtector, RecordedSource, iso
from tests.observability.test_metrics import scrape, value
from tests.runtime.harness import Gate, advance, running, send, settle, url_of


async def test_protection_and_spot_metrics_follow_a_real_run(
    local: LocalBackend, clock: ManualClock, ecs_agent: FakeEcsAgent, imds: FakeImds, queue_name: str
) -> None:
    app = App(drain_timeout=90)
    gate = Gate()

    @app.handler(queue_name)
    async def encode(message: Message) -> None:
        await gate.enter()

    protector = RecordedProtector(EcsTaskProtection(ecs_agent.url, expires_in_minutes=60), clock)
    protection = protection_service(protector)
    source = RecordedSource(ImdsClient(imds.url), clock)
    watch = spot_watch_service(source)
    app.add_service(protection)
    app.add_service(watch)
    registry = CollectorRegistry()
    metrics = install_metrics(app, registry)
    metrics.watch_protection("ecs", protection)
    metrics.watch_spot(watch)

    def metric(name: str, **labels: str) -> float:
        return value(scrape(registry), f"consumerkit_{name}", **labels)

    async with running(app, local, clock=clock) as (supervisor, outcomes):
        await source.calls.wait(1)
        assert metric("scale_in_protected", protector="ecs") == 0
        assert metric("spot_interruption_scheduled") == 0
        await send(local, url_of(supervisor, queue_name), "a long encode")
        await gate.wait_started(1)
        await advance(clock, 1)  # the next check sees the busy slot
        await protector.calls.wait(1)
        assert metric("scale_in_protected", protector="ecs") == 1
        assert metric("scale_in_protection_changes_total", protector="ecs") == 1
        assert metric("scale_in_protection_errors_total", protector="ecs") == 0
        ecs_agent.scripted.append((500, {"error": {"Code": "ServerException", "Message": "agent busy"}}))
        await advance(clock, 1800)  # the renewal before the hour's expiry fails once
        await protector.calls.wait(2)
        assert metric("scale_in_protection_errors_total", protector="ecs") == 1
        assert metric("scale_in_protected", protector="ecs") == 1  # as last set

        imds.fail_next = 1
        looks = len(source.calls)
        await advance(clock, 5)
        await source.calls.wait(looks + 1)
        assert metric("spot_metadata_requests_total", result="error") == 1
        imds.instance_action = {"action": "terminate", "time": iso(clock.now() + 120)}
        await advance(clock, 5)
        await source.calls.wait(looks + 2)
        await settle()
        assert supervisor.draining
        assert metric("spot_interruption_scheduled") == 1
        assert metric("spot_metadata_requests_total", result="ok") == len(source.calls) - 1
        gate.open.set()
        await outcomes.wait(1)
