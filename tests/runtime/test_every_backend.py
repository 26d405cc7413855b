"""The time-driven rules again, on every backend, with the real clock: through ``consumerkit serve`` too.

The manual-clock tests (test_heartbeat.py, test_shutdown.py) pin each rule exactly on the engine in-process;
these show the same rules hold when the queue is behind SQS's HTTP protocol, with short intervals so that
the real clock takes a few seconds at most. They wait on outcomes and on the queue's own answers (a second
consumer's long poll that finds nothing), never on a sleep.
"""

from __future__ import annotations

import anyio
import anyio.lowlevel

from consumerkit import App, FixedBackoff, Message
from consumerkit.backends import Backend, VisibilityChange
from tests.runtime.harness import Flaky, Gate, running, send, url_of


async def test_heartbeats_keep_a_long_job_invisible(backend: Backend, queue_name: str) -> None:
    app = App()
    gate = Gate()

    @app.handler(queue_name, visibility_timeout=1, heartbeat_interval=0.25)
    async def encode(message: Message) -> None:
        await gate.enter()

    async with running(app, backend) as (supervisor, outcomes):
        url = url_of(supervisor, queue_name)
        await send(backend, url, "long")
        await gate.wait_started(1)
        # Four times the visibility timeout: without heartbeats the message would come back to this receive.
        assert await backend.receive_messages(url, max_messages=10, wait_seconds=4, visibility_timeout=30) == []
        gate.open.set()
        await outcomes.wait(1)
    assert outcomes.kinds() == ["success"]
    # every 0.75 s: a lease is extended once its remaining time falls within 1.5 intervals
    assert supervisor.statistics()[0].extensions["ok"] >= 4


async def test_a_timeout_is_retried(backend: Backend, queue_name: str) -> None:
    app = App()

    @app.handler(queue_name, timeout=0.2, retry=FixedBackoff(0))
    async def slow(message: Message) -> None:
        if message.receive_count == 1:
            await anyio.sleep_forever()

    async with running(app, backend) as (supervisor, outcomes):
        await send(backend, url_of(supervisor, queue_name), "slow")
        await outcomes.wait(2)
    assert outcomes.kinds() == ["timeout", "success"]


async def test_max_duration_releases(backend: Backend, queue_name: str) -> None:
    app = App()

    @app.handler(queue_name, visibility_timeout=2, heartbeat_interval=0.5, max_duration=1, cap_warning=0.5)
    async def stuck(message: Message) -> None:
        if message.receive_count == 1:
            await anyio.sleep_forever()

    async with running(app, backend) as (supervisor, outcomes):
        await send(backend, url_of(supervisor, queue_name), "stuck")
        await outcomes.wait(2)
    assert outcomes.kinds() == ["released", "success"]


async def test_a_lost_lease_cancels_the_job(backend: Backend, queue_name: str) -> None:
    app = App()
    handles: list[str] = []
    cancelled = anyio.Event()
    gate = Gate()

    @app.handler(queue_name, concurrency=1, visibility_timeout=2, heartbeat_interval=0.25)
    async def encode(message: Message) -> None:
        handles.append(message.receipt_handle)
        try:
            await gate.enter()
        finally:
            cancelled.set()

    async with running(app, backend) as (supervisor, outcomes):
        url = url_of(supervisor, queue_name)
        await send(backend, url, "contested")
        await gate.wait_started(1)
        # another consumer takes it over: made visible, then received with a new receipt handle
        assert not await backend.change_visibility_batch(url, [VisibilityChange("0", handles[0], 0)])
        stolen = await backend.receive_messages(url, max_messages=1, wait_seconds=5, visibility_timeout=60)
        assert [m.body for m in stolen] == ["contested"]
        await outcomes.wait(1)
        assert cancelled.is_set()
    assert outcomes.kinds() == ["lease_lost"]


async def test_a_stop_under_load_strands_no_message(backend: Backend, queue_name: str) -> None:
    """Stopped while receives are out on a busy queue: a reply already on its way is caught in the receive grace
    and released, so every message is either done or visible again, none stuck invisible for 120 s."""
    app = App()

    @app.handler(queue_name, concurrency=40)
    async def work(message: Message) -> None:
        for _ in range(20):  # a little work, so that replies wait in the socket while the loop is busy
            await anyio.lowlevel.checkpoint()

    async with running(app, backend, receive_grace=2.0) as (supervisor, outcomes):
        url = url_of(supervisor, queue_name)
        await send(backend, url, *[str(n) for n in range(1000)])
        await outcomes.wait(100)
        supervisor.stop()  # the pollers' receives are out: the backlog answers them at once
    stats = supervisor.statistics()[0]
    counts = await backend.queue_counts(url)
    assert counts.in_flight == 0
    assert counts.visible == 1000 - stats.outcomes["success"]
    assert stats.received == sum(stats.outcomes.values())


async def test_only_free_slots_are_received_and_acks_go_ten_at_a_time(backend: Backend, queue_name: str) -> None:
    app = App()
    gate = Gate()

    @app.handler(queue_name, concurrency=3)
    async def held(message: Message) -> None:
        if message.body.startswith("held"):
            await gate.enter()

    async with running(app, backend) as (supervisor, outcomes):
        url = url_of(supervisor, queue_name)
        await send(backend, url, *[f"held {n}" for n in range(7)])
        await gate.wait_started(3)
        counts = await backend.queue_counts(url)
        assert (counts.in_flight, counts.visible) == (3, 4)  # nothing taken beyond the three free slots
        gate.open.set()
        await outcomes.wait(7)
    app = App()
    app.handler(queue_name, concurrency=40)(_noop)
    async with running(app, backend) as (supervisor, outcomes):
        await send(backend, url, *[str(n) for n in range(100)])
        await outcomes.wait(100)
    assert supervisor.statistics()[0].delete_batches <= 12


async def _noop(message: Message) -> None:
    pass


async def test_release_and_extend(backend: Backend, queue_name: str) -> None:
    app = App()
    counts: list[int] = []

    @app.handler(queue_name, visibility_timeout=1, heartbeat_interval=0.5)
    async def manual(message: Message) -> None:
        counts.append(message.receive_count)
        if message.receive_count == 1:
            await message.extend(30)  # past the heartbeat's own horizon
            await message.release(delay=1)

    async with running(app, backend) as (supervisor, outcomes):
        await send(backend, url_of(supervisor, queue_name), "manual")
        await outcomes.wait(2)
    assert outcomes.kinds() == ["released", "success"]
    assert counts == [1, 2]


async def test_transient_failures_are_retried(backend: Backend, queue_name: str) -> None:
    app = App()
    app.handler(queue_name)(_noop)
    flaky = Flaky(backend, receive=1, delete=1)  # each retry waits its back-off in real time: one is enough
    async with running(app, flaky) as (supervisor, outcomes):  # type: ignore[arg-type]
        url = url_of(supervisor, queue_name)
        await send(backend, url, "survives")
        await outcomes.wait(1)
    assert outcomes.kinds() == ["success"]
    assert supervisor.statistics()[0].receive_requests["error"] == 1
    counts = await backend.queue_counts(url)
    assert (counts.visible, counts.in_flight) == (0, 0)
