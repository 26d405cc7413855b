"""Graceful shutdown: stop receiving, keep heartbeating, let jobs finish until the drain deadline, release the rest."""

from __future__ import annotations

import anyio

from consumerkit import App, Message
from consumerkit.backends import LocalBackend
from consumerkit.clock import ManualClock
from consumerkit.engine import Engine
from tests.runtime.harness import WAIT, Gate, running, send, settle, url_of


async def test_jobs_that_finish_within_the_drain_are_deleted(
    local: LocalBackend, engine: Engine, clock: ManualClock, queue_name: str
) -> None:
    app = App(drain_timeout=60)
    gate = Gate()

    @app.handler(queue_name, visibility_timeout=30)
    async def encode(message: Message) -> None:
        await gate.enter()

    async with running(app, local, clock=clock) as (supervisor, outcomes):
        url = url_of(supervisor, queue_name)
        await send(local, url, "finishing")
        await gate.wait_started(1)
        supervisor.stop()
        await settle()
        assert supervisor.draining and not supervisor.stopped.is_set()
        await send(local, url, "arrived during the drain")
        for _ in range(8):  # 40 s of drain: the heartbeat must keep the running job's message invisible
            clock.advance(5)
            await settle()
            assert (await engine.queue_stats(url)).in_flight == 1
        gate.open.set()
        with anyio.fail_after(WAIT):
            await supervisor.wait_stopped()
    assert outcomes.kinds() == ["success"]
    stats = await engine.queue_stats(url)
    assert (stats.visible, stats.in_flight) == (1, 0)  # nothing new was received after the stop


async def test_at_the_drain_deadline_running_jobs_are_released(
    local: LocalBackend, engine: Engine, clock: ManualClock, queue_name: str
) -> None:
    app = App(drain_timeout=25)
    gate = Gate()

    @app.handler(queue_name, concurrency=12, visibility_timeout=600)
    async def encode(message: Message) -> None:
        await gate.enter()

    async with running(app, local, clock=clock) as (supervisor, outcomes):
        url = url_of(supervisor, queue_name)
        await send(local, url, *[f"encode {n}" for n in range(12)])
        await gate.wait_started(12)
        supervisor.stop()
        await settle()
        clock.advance(24.9)
        await settle()
        assert not outcomes.items
        clock.advance(0.1)
        with anyio.fail_after(WAIT):
            await supervisor.wait_stopped()
    assert outcomes.kinds() == ["released"] * 12
    stats = await engine.queue_stats(url)
    assert (stats.visible, stats.in_flight) == (12, 0)  # visible at once, for another worker
    assert supervisor.statistics()[0].visibility_batches == 2  # released ten at a time


async def test_a_second_stop_releases_at_once(local: LocalBackend, clock: ManualClock, queue_name: str) -> None:
    app = App(drain_timeout=3600)
    gate = Gate()

    @app.handler(queue_name)
    async def encode(message: Message) -> None:
        await gate.enter()

    async with running(app, local, clock=clock) as (supervisor, outcomes):
        await send(local, url_of(supervisor, queue_name), "long")
        await gate.wait_started(1)
        supervisor.stop()
        await settle()
        supervisor.stop(immediate=True)
        with anyio.fail_after(WAIT):
            await supervisor.wait_stopped()
    assert outcomes.kinds() == ["released"]


async def test_a_job_that_goes_on_after_releasing_is_cancelled_at_the_deadline(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    app = App(drain_timeout=5)
    cancelled = anyio.Event()

    @app.handler(queue_name, concurrency=1)  # one slot, held by the job: the released message is not taken again
    async def encode(message: Message) -> None:
        await message.release()
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.set()

    async with running(app, local, clock=clock) as (supervisor, outcomes):
        await send(local, url_of(supervisor, queue_name), "released early")
        await outcomes.wait(1)
        supervisor.stop()
        await settle()
        clock.advance(5)
        with anyio.fail_after(2):  # not the final grace: the job is cancelled at the deadline
            await cancelled.wait()
    assert outcomes.kinds() == ["released"]


async def test_a_job_cancelled_before_it_starts_never_calls_the_handler(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    from consumerkit.runtime.jobs import run_job
    from consumerkit.runtime.leases import Lease

    app = App()
    calls: list[str] = []

    @app.handler(queue_name)
    async def encode(message: Message) -> None:
        calls.append(message.body)

    async with running(app, local, clock=clock) as (supervisor, outcomes):
        ctx = supervisor.contexts[0]
        await send(local, ctx.queue_url, "cancelled first")
        supervisor.stop()  # nothing running yet; receive by hand, as a poller whose job was cancelled would
        raw = await local.receive_messages(ctx.queue_url, max_messages=1, wait_seconds=1, visibility_timeout=60)
        lease = ctx.lease(Lease(ctx, raw[0], clock.now()))
        lease.cancel("shutdown")
        await ctx.slots.take(1)
        await run_job(ctx, [lease])
        await outcomes.wait(1)
    assert calls == []
    assert outcomes.kinds() == ["released"]
