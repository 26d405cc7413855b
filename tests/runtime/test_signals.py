"""What the supervisor tells the world: the backlog it samples, whether it is live and ready, services."""

from __future__ import annotations

import functools

import anyio
import pytest

from consumerkit import App, ConfigError, Message, Supervisor
from consumerkit.backends import LocalBackend
from consumerkit.clock import ManualClock
from consumerkit.engine import Engine
from tests.runtime.harness import Gate, running, send, settle, url_of


async def test_the_sampler_reads_each_queue_and_its_dlq_once_per_interval(
    local: LocalBackend, engine: Engine, clock: ManualClock, queue_name: str
) -> None:
    app = App()
    app.queue(queue_name, dead_letter=f"{queue_name}-dlq")
    gate = Gate()

    @app.handler(queue_name, concurrency=1)
    async def encode(message: Message) -> None:
        await gate.enter()

    async with running(app, local, clock=clock) as (supervisor, _):
        url = url_of(supervisor, queue_name)
        await send(local, url, "a", "b", "c")
        await gate.wait_started(1)
        assert supervisor.sampler is not None
        clock.advance(30)
        await settle()
        counts = supervisor.sampler.latest[queue_name]
        assert (counts.visible, counts.in_flight, counts.delayed) == (2, 1, 0)
        assert counts.oldest_age == 30  # the local engine can tell
        assert supervisor.sampler.latest[f"{queue_name}-dlq"].visible == 0
        gate.open.set()


async def test_live_and_ready(local: LocalBackend, clock: ManualClock, queue_name: str) -> None:
    app = App(drain_timeout=60)
    gate = Gate()

    @app.handler(queue_name, visibility_timeout=30)
    async def encode(message: Message) -> None:
        await gate.enter()

    async with running(app, local, clock=clock) as (supervisor, _):
        assert supervisor.ready and supervisor.live()
        await send(local, url_of(supervisor, queue_name), "job")
        await gate.wait_started(1)
        for _ in range(20):
            clock.advance(5)
            await settle()
            assert supervisor.live()
        supervisor.stop()
        await settle()
        assert supervisor.draining and not supervisor.ready and supervisor.live()  # draining is still alive
        gate.open.set()
    assert not supervisor.live() and not supervisor.ready


async def test_services_run_beside_the_supervisor(local: LocalBackend, clock: ManualClock, queue_name: str) -> None:
    app = App()
    app.handler(queue_name)(_noop)
    seen: list[bool] = []

    async def service(supervisor: Supervisor) -> None:
        seen.append(supervisor.ready)  # services start first: before the queues are resolved
        await supervisor.started.wait()
        seen.append(supervisor.ready)

    app.add_service(service)
    async with running(app, local, clock=clock):
        await settle()
    assert seen == [False, True]


async def _noop(message: Message) -> None:
    pass


async def test_a_handler_done_draining_does_not_fail_liveness(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    app = App(drain_timeout=3600)
    gate = Gate()
    app.handler(f"{queue_name}-idle", visibility_timeout=30)(_noop)

    @app.handler(queue_name, visibility_timeout=30)
    async def long(message: Message) -> None:
        await gate.enter()

    async with running(app, local, clock=clock) as (supervisor, _):
        await send(local, url_of(supervisor, queue_name), "long")
        await gate.wait_started(1)
        supervisor.stop()
        for _ in range(60):  # ten minutes of drain; the idle handler finished its part at once
            clock.advance(10)
            await settle()
            assert supervisor.live()
        gate.open.set()


async def test_a_failing_service_stops_the_worker_and_is_raised(
    local: LocalBackend, engine: Engine, clock: ManualClock, queue_name: str
) -> None:
    app = App(drain_timeout=3600)
    gate = Gate()

    @app.handler(queue_name, visibility_timeout=600)
    async def long(message: Message) -> None:
        await gate.enter()

    started = Gate()

    async def broken(supervisor: Supervisor) -> None:
        await started.enter()  # held until the test has a message in flight
        raise ConfigError("--http-port=9750: address already in use")

    app.add_service(broken)
    with pytest.raises(ExceptionGroup) as raised:  # App.serve raises it as itself; the test's group wraps it
        async with anyio.create_task_group() as tg:
            supervisor: Supervisor = await tg.start(
                functools.partial(app.serve, local, clock=clock, handle_signals=False)
            )
            url = url_of(supervisor, queue_name)
            await send(local, url, "held")
            await gate.wait_started(1)
            started.open.set()
    assert raised.group_contains(ConfigError, match="address already in use")
    stats = await engine.queue_stats(url)
    assert (stats.visible, stats.in_flight) == (1, 0)  # released on the way out, not stranded for 600 s


async def test_batch_slots_count_messages(local: LocalBackend, clock: ManualClock, queue_name: str) -> None:
    app = App()

    @app.handler(queue_name, batch=True, batch_size=5, concurrency=2)
    async def many(messages: list[Message]) -> None:
        pass

    async with running(app, local, clock=clock) as (supervisor, _):
        assert supervisor.statistics()[0].slots == 10  # so in_progress / slots is utilisation
