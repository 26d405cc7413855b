"""Heartbeats, the 12-hour cap, timeouts and lost leases, on a manual clock: time moves only when told.

``settle()`` lets every task run until all are blocked again (on the clock, a gate or a long poll), so a test
reads the queue only after the worker has done everything the clock's move made due.
"""

from __future__ import annotations

import anyio
import structlog.testing

from consumerkit import App, FixedBackoff, Message
from consumerkit.backends import LocalBackend
from consumerkit.clock import ManualClock
from consumerkit.engine import Engine
from tests.runtime.harness import Gate, advance, running, send, settle, url_of


async def test_a_running_job_keeps_its_message_invisible(
    local: LocalBackend, engine: Engine, clock: ManualClock, queue_name: str
) -> None:
    app = App()
    gate = Gate()

    @app.handler(queue_name, visibility_timeout=30)  # heartbeat every 15 s
    async def encode(message: Message) -> None:
        await gate.enter()

    async with running(app, local, clock=clock) as (supervisor, outcomes):
        url = url_of(supervisor, queue_name)
        await send(local, url, "4 hour encode")
        await gate.wait_started(1)
        for _ in range(4 * 3600 // 5):  # four hours, five seconds at a time
            clock.advance(5)
            await settle()
            stats = await engine.queue_stats(url)
            assert (stats.visible, stats.in_flight) == (0, 1), f"visible again after {clock.now()}"
        gate.open.set()
        await outcomes.wait(1)
    assert outcomes.kinds() == ["success"]
    extensions = supervisor.statistics()[0].extensions
    assert extensions["error"] == 0
    assert 4 * 3600 / 15 - 2 <= extensions["ok"] <= 4 * 3600 / 15  # once per 15 s interval, never more


async def test_heartbeats_coalesce_into_batches_of_ten(
    local: LocalBackend, engine: Engine, clock: ManualClock, queue_name: str
) -> None:
    app = App()
    gate = Gate()

    @app.handler(queue_name, concurrency=25, visibility_timeout=60)
    async def encode(message: Message) -> None:
        await gate.enter()

    async with running(app, local, clock=clock) as (supervisor, outcomes):
        await send(local, url_of(supervisor, queue_name), *[f"job {n}" for n in range(25)])
        await gate.wait_started(25)
        before = supervisor.statistics()[0].visibility_batches
        await advance(clock, 300, step=5)  # ten intervals of 30 s
        batches = supervisor.statistics()[0].visibility_batches - before
        gate.open.set()
        await outcomes.wait(25)
    # 25 messages: 3 calls per interval (10 + 10 + 5); the first interval needs none yet
    assert 9 * 3 <= batches <= 10 * 3


async def test_max_duration_cancels_and_releases_with_a_warning_first(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    app = App()
    receive_counts: list[int] = []
    second = anyio.Event()

    @app.handler(queue_name, visibility_timeout=30, max_duration=100, cap_warning=20)
    async def stuck(message: Message) -> None:
        receive_counts.append(message.receive_count)
        if message.receive_count > 1:
            second.set()
            return
        await anyio.sleep_forever()

    with structlog.testing.capture_logs() as logs:
        async with running(app, local, clock=clock) as (supervisor, outcomes):
            await send(local, url_of(supervisor, queue_name), "too long")
            await settle()
            start = clock.now()
            await advance(clock, 79, step=1)
            assert not any("nears its maximum" in e["event"] for e in logs)
            await advance(clock, 1, step=1)
            assert any("nears its maximum" in e["event"] for e in logs)  # 20 s before the cap
            await advance(clock, 20, step=1)
            await outcomes.wait(1)
            assert clock.now() - start == 100
            with anyio.fail_after(5):
                await second.wait()  # released with visibility 0: received again at once, no time passing
            await outcomes.wait(2)
    assert outcomes.kinds() == ["released", "success"]
    assert receive_counts == [1, 2]
    assert supervisor.statistics()[0].cap_reached == 1


async def test_the_twelve_hour_ceiling_is_never_asked_past(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    """With max_duration at SQS's 12 hours, the heartbeat stops short of the ceiling (SQS would refuse, not clamp,
    and a refusal would read as a lost lease); the job is cancelled and released just before it."""
    app = App()

    @app.handler(queue_name, visibility_timeout=120, max_duration=43_200)
    async def forever(message: Message) -> None:
        if message.receive_count == 1:
            await anyio.sleep_forever()

    async with running(app, local, clock=clock) as (supervisor, outcomes):
        await send(local, url_of(supervisor, queue_name), "endless")
        await settle()
        await advance(clock, 43_200, step=10)
        await outcomes.wait(2)
    assert outcomes.kinds() == ["released", "success"]
    assert supervisor.statistics()[0].extensions["error"] == 0


async def test_a_timeout_cancels_the_job_and_retries_after_the_back_off(
    local: LocalBackend, engine: Engine, clock: ManualClock, queue_name: str
) -> None:
    app = App()
    starts: list[float] = []

    @app.handler(queue_name, timeout=5, retry=FixedBackoff(30), visibility_timeout=60)
    async def slow(message: Message) -> None:
        starts.append(clock.now())
        if message.receive_count == 1:
            await anyio.sleep_forever()

    async with running(app, local, clock=clock) as (supervisor, outcomes):
        url = url_of(supervisor, queue_name)
        await send(local, url, "slow")
        await settle()
        await advance(clock, 5, step=1)
        await outcomes.wait(1)
        assert outcomes.kinds() == ["timeout"]
        await advance(clock, 29, step=1)
        assert len(starts) == 1  # still in its back-off
        await advance(clock, 1, step=1)
        await outcomes.wait(2)
    assert outcomes.kinds() == ["timeout", "success"]
    assert starts[1] - starts[0] == 35


async def test_a_lost_lease_cancels_the_job_and_leaves_the_message_alone(
    local: LocalBackend, engine: Engine, clock: ManualClock, queue_name: str
) -> None:
    app = App()
    handles: list[str] = []
    cancelled = anyio.Event()

    @app.handler(queue_name, concurrency=1, visibility_timeout=30)
    async def encode(message: Message) -> None:
        handles.append(message.receipt_handle)
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.set()

    with structlog.testing.capture_logs() as logs:
        async with running(app, local, clock=clock) as (supervisor, outcomes):
            url = url_of(supervisor, queue_name)
            await send(local, url, "contested")
            await settle()
            # Another consumer takes the message over: made visible, then received with a new receipt.
            await engine.change_message_visibility(url, handles[0], 0)
            (stolen,) = await engine.receive_message(url, visibility_timeout=600)
            await advance(clock, 20, step=5)  # the heartbeat's extension is refused
            await outcomes.wait(1)
            assert cancelled.is_set()
            stats = await engine.queue_stats(url)
    assert outcomes.kinds() == ["lease_lost"]
    assert (stats.visible, stats.in_flight) == (0, 1)  # the other consumer still holds it; we did not delete it
    assert handles[0] not in str(logs)  # SQS quotes the handle in its refusal; no log line does
    await engine.delete_message(url, stolen.receipt_handle)


async def test_a_lost_lease_in_a_batch_gives_the_others_back(
    local: LocalBackend, engine: Engine, clock: ManualClock, queue_name: str
) -> None:
    app = App()
    handles: list[str] = []

    @app.handler(queue_name, batch=True, concurrency=1, visibility_timeout=30)
    async def many(messages: list[Message]) -> None:
        if messages[0].receive_count == 1 and len(messages) == 3:
            handles.extend(m.receipt_handle for m in messages)
            await anyio.sleep_forever()

    async with running(app, local, clock=clock) as (supervisor, outcomes):
        url = url_of(supervisor, queue_name)
        await send(local, url, "a", "b", "c")
        await settle()
        await engine.change_message_visibility(url, handles[0], 0)
        (stolen,) = await engine.receive_message(url, visibility_timeout=600)
        await advance(clock, 20, step=5)
        await outcomes.wait(3)
    assert sorted(o.outcome for o in outcomes.items[:3]) == ["lease_lost", "released", "released"]
    await engine.delete_message(url, stolen.receipt_handle)
