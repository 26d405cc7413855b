"""The bounded pool: pollers ask only for free slots; sync handlers run in threads; a job's manual controls."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence

import anyio
import anyio.to_thread
import pytest

from consumerkit import App, ConfigError, FixedBackoff, Message, check_cancelled
from consumerkit.backends import LocalBackend, QueueMessage
from consumerkit.clock import ManualClock
from consumerkit.engine import Engine
from consumerkit.runtime.leases import Slots
from tests.runtime.harness import Gate, running, send, settle, url_of


class Recording(LocalBackend):
    """The real engine, with a note of how many messages each receive asked for."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.asked: list[int] = []

    async def receive_messages(
        self, queue_url: str, *, max_messages: int, wait_seconds: int, visibility_timeout: int
    ) -> list[QueueMessage]:
        self.asked.append(max_messages)
        return await super().receive_messages(
            queue_url, max_messages=max_messages, wait_seconds=wait_seconds, visibility_timeout=visibility_timeout
        )


async def test_no_message_waits_in_memory_while_its_visibility_burns(
    engine: Engine, clock: ManualClock, queue_name: str
) -> None:
    backend = Recording(engine)
    app = App()
    gate = Gate()

    @app.handler(queue_name, concurrency=3)
    async def encode(message: Message) -> None:
        await gate.enter()

    async with running(app, backend, clock=clock) as (supervisor, outcomes):
        url = url_of(supervisor, queue_name)
        await send(backend, url, *[f"job {n}" for n in range(7)])
        await gate.wait_started(3)
        await settle()
        stats = await engine.queue_stats(url)
        assert (stats.in_flight, stats.visible) == (3, 4)  # only as many taken as there are slots
        assert supervisor.statistics()[0].in_progress == 3
        assert all(n <= 3 for n in backend.asked)
        gate.open.set()
        await outcomes.wait(7)
    assert all(n <= 3 for n in backend.asked)


async def test_a_big_pool_asks_for_ten_at_a_time(engine: Engine, clock: ManualClock, queue_name: str) -> None:
    backend = Recording(engine)
    app = App()

    @app.handler(queue_name, concurrency=40)
    async def quick(message: Message) -> None:
        pass

    async with running(app, backend, clock=clock) as (supervisor, outcomes):
        await send(backend, url_of(supervisor, queue_name), *[f"job {n}" for n in range(100)])
        await outcomes.wait(100)
    assert max(backend.asked) == 10
    stats = supervisor.statistics()[0]
    # one delete call per ten messages, as a busy worker should
    assert stats.delete_batches <= 12


async def test_a_sync_handler_runs_in_a_thread_and_stops_at_its_next_check(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    app = App()
    stopped = threading.Event()
    in_thread: list[bool] = []
    entered = threading.Event()
    release = threading.Event()

    @app.handler(queue_name, timeout=5, retry=FixedBackoff(600))
    def encode(message: Message) -> None:
        in_thread.append(threading.current_thread() is not threading.main_thread())
        entered.set()
        try:
            while not release.wait(0.005):  # a long job, checking between its steps
                check_cancelled()
        except BaseException:
            stopped.set()
            raise

    async with running(app, local, clock=clock) as (supervisor, outcomes):
        await send(local, url_of(supervisor, queue_name), "sync job")
        assert await anyio.to_thread.run_sync(entered.wait, 10)
        clock.advance(5)
        await outcomes.wait(1)
        assert await anyio.to_thread.run_sync(stopped.wait, 10)
    assert in_thread == [True]
    assert outcomes.kinds() == ["timeout"]


async def test_message_release_gives_it_back_without_a_failure(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    app = App()
    counts: list[int] = []

    @app.handler(queue_name)
    async def defer(message: Message) -> None:
        counts.append(message.receive_count)
        if message.receive_count == 1:
            await message.release(delay=10)

    async with running(app, local, clock=clock) as (supervisor, outcomes):
        await send(local, url_of(supervisor, queue_name), "later")
        await outcomes.wait(1)
        await settle()
        clock.advance(9)
        await settle()
        assert counts == [1]
        clock.advance(1)
        await outcomes.wait(2)
    assert outcomes.kinds() == ["released", "success"]


async def test_message_extend_keeps_it_past_the_heartbeats_horizon(
    local: LocalBackend, engine: Engine, clock: ManualClock, queue_name: str
) -> None:
    app = App()
    done = anyio.Event()
    errors: list[str] = []

    @app.handler(queue_name, visibility_timeout=30, heartbeat_interval=25)
    async def long(message: Message) -> None:
        await message.extend(3600)
        with pytest.raises(ConfigError) as info:
            await message.extend(43_200)
        errors.append(str(info.value))
        await done.wait()

    async with running(app, local, clock=clock) as (supervisor, outcomes):
        url = url_of(supervisor, queue_name)
        await send(local, url, "long")
        await settle()
        clock.advance(1000)  # far past the 30 s visibility; no heartbeat was needed
        await settle()
        stats = await engine.queue_stats(url)
        assert (stats.visible, stats.in_flight) == (0, 1)
        done.set()
        await outcomes.wait(1)
    assert "Message.extend(seconds=43200) is out of range: an integer in 0..431" in errors[0]


async def test_the_batch_handler_gets_what_one_receive_returned(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    app = App()
    sizes: list[int] = []

    @app.handler(queue_name, batch=True, batch_size=5, concurrency=1)
    async def many(messages: Sequence[Message]) -> None:
        sizes.append(len(messages))

    async with running(app, local, clock=clock) as (supervisor, outcomes):
        await send(local, url_of(supervisor, queue_name), *[str(n) for n in range(12)])
        await outcomes.wait(12)
    assert max(sizes) == 5 and sum(sizes) == 12


@dataclasses.dataclass
class Job:
    n: int


async def test_a_typed_batch_handler_reports_failed_payloads(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    app = App()

    tried: list[int] = []

    @app.handler(queue_name, batch=True, retry=FixedBackoff(0), concurrency=1)
    async def many(jobs: list[Job]) -> list[Job]:
        failed = [job for job in jobs if job.n == 2 and 2 not in tried]
        tried.extend(job.n for job in jobs)
        return failed

    async with running(app, local, clock=clock) as (supervisor, outcomes):
        await send(local, url_of(supervisor, queue_name), '{"n": 1}', '{"n": 2}')
        await outcomes.wait(3)
    assert sorted(outcomes.kinds()) == ["error", "success", "success"]
    assert sorted(tried) == [1, 2, 2]  # only the failed payload's message came back


async def test_a_batch_that_reports_strangers_fails_whole(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    app = App()

    @app.handler(queue_name, batch=True, retry=FixedBackoff(600), concurrency=1)
    async def many(messages: list[Message]) -> list[str]:
        return ["no-such-message-id"]

    async with running(app, local, clock=clock) as (supervisor, outcomes):
        await send(local, url_of(supervisor, queue_name), "a", "b")
        await outcomes.wait(2)
    assert outcomes.kinds() == ["error", "error"]  # never deleted as if it had worked


async def test_a_retry_policy_that_raises_does_not_stop_the_worker(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    class Broken:
        def delay(self, receive_count: int) -> int:
            raise ZeroDivisionError("bug in a custom policy")

    app = App()
    handled: list[str] = []

    @app.handler(queue_name, retry=Broken())
    async def work(message: Message) -> None:
        handled.append(message.body)
        if message.body == "fails":
            raise RuntimeError("fails")

    async with running(app, local, clock=clock) as (supervisor, outcomes):
        url = url_of(supervisor, queue_name)
        await send(local, url, "fails")
        await outcomes.wait(1)
        await send(local, url, "still served")
        await outcomes.wait(2)
    assert handled == ["fails", "still served"]


async def test_every_waiter_for_a_slot_wakes() -> None:
    slots = Slots(2)
    assert await slots.take(10) == 2
    got: list[int] = []

    async def take() -> None:
        got.append(await slots.take(10))

    async with anyio.create_task_group() as tg:
        tg.start_soon(take)
        tg.start_soon(take)
        await settle()
        slots.give(1)
        await settle()
        slots.give(1)
    assert got == [1, 1]


@dataclasses.dataclass
class Checked:
    width: int

    def __post_init__(self) -> None:
        if self.width <= 0:
            raise ValueError("width must be positive")


async def test_a_payload_whose_own_checks_raise_is_a_failure_not_a_crash(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    app = App()
    widths: list[int] = []

    @app.handler(queue_name, retry=FixedBackoff(600))
    async def encode(job: Checked) -> None:
        widths.append(job.width)

    async with running(app, local, clock=clock) as (supervisor, outcomes):
        await send(local, url_of(supervisor, queue_name), '{"width": -1}', '{"width": 720}')
        await outcomes.wait(2)
    assert sorted(outcomes.kinds()) == ["error", "success"]
    assert widths == [720]
    assert "width must be positive" in str(next(o.error for o in outcomes.items if o.outcome == "error"))


async def test_a_cancelled_sync_job_is_not_run_twice_at_once(
    local: LocalBackend, engine: Engine, clock: ManualClock, queue_name: str
) -> None:
    """A timeout cancels a sync job whose thread does not check: the message stays held (and heartbeated) until
    the thread ends, so its retry never runs beside it."""
    app = App()
    running_now = 0
    most = 0
    entered = threading.Event()
    proceed = threading.Event()
    lock = threading.Lock()

    @app.handler(queue_name, concurrency=2, timeout=5, retry=FixedBackoff(0), visibility_timeout=30)
    def encode(message: Message) -> None:
        nonlocal running_now, most
        with lock:
            running_now += 1
            most = max(most, running_now)
        entered.set()
        try:
            if message.receive_count == 1:
                proceed.wait(20)  # a step that does not look at check_cancelled
        finally:
            with lock:
                running_now -= 1

    async with running(app, local, clock=clock) as (supervisor, outcomes):
        url = url_of(supervisor, queue_name)
        await send(local, url, "one message")
        assert await anyio.to_thread.run_sync(entered.wait, 10)
        for _ in range(20):  # past the timeout, and past the 30 s visibility
            clock.advance(5)
            await settle()
        assert not outcomes.items
        assert (await engine.queue_stats(url)).in_flight == 1  # still held and heartbeated, not offered again
        proceed.set()
        await outcomes.wait(2)
    assert outcomes.kinds() == ["timeout", "success"]
    assert most == 1


async def test_only_threads_a_shutdown_abandoned_are_counted(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    from consumerkit.runtime.threads import abandoned_threads

    app = App(drain_timeout=0)
    entered = threading.Event()
    finish = threading.Event()

    @app.handler(queue_name)
    def stubborn(message: Message) -> None:
        entered.set()
        finish.wait(20)  # never checks for cancellation

    async with running(app, local, clock=clock) as (supervisor, outcomes):
        await send(local, url_of(supervisor, queue_name), "stubborn")
        assert await anyio.to_thread.run_sync(entered.wait, 10)
        assert abandoned_threads() == 0  # running, not abandoned
    assert outcomes.kinds() == ["released"]
    assert abandoned_threads() == 1
    finish.set()
    with anyio.fail_after(10):
        while abandoned_threads():  # the thread returns on its own; nothing else signals it
            await anyio.to_thread.run_sync(finish.wait, 0.01)
