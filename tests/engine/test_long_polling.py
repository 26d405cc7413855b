"""Long polling, driven by a manual clock: a parked receive returns the moment a message is available, and
empty exactly at its deadline. Nothing here sleeps; ``parked()`` waits until the scheduler shows the polls."""

from __future__ import annotations

import asyncio

import anyio
import pytest

from consumerkit.engine import Engine, ManualClock, ReceivedMessage, SendEntry
from tests.engine.conftest import parked

T0 = 1_700_000_000.0

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


class Polls:
    """Results of concurrent receives, in completion order."""

    def __init__(self, engine: Engine, queue: str) -> None:
        self.engine, self.queue = engine, queue
        self.results: list[list[ReceivedMessage]] = []

    async def receive(self, **options: object) -> None:
        self.results.append(await self.engine.receive_message(self.queue, **options))  # type: ignore[arg-type]

    @property
    def bodies(self) -> list[str]:
        return [m.body for r in self.results for m in r]


async def test_returns_at_once_when_a_message_is_available(engine: Engine, clock: ManualClock, queue: str) -> None:
    await engine.send_message(queue, "ready")
    with anyio.fail_after(2):
        got = await engine.receive_message(queue, wait_time_seconds=20)
    assert [m.body for m in got] == ["ready"]
    assert clock.now() == T0


async def test_parked_receive_returns_the_moment_a_message_is_sent(
    engine: Engine, clock: ManualClock, queue: str
) -> None:
    polls = Polls(engine, queue)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: polls.receive(wait_time_seconds=20))
            await parked(clock)
            assert polls.results == []
            await engine.send_message(queue, "hello")
    assert polls.bodies == ["hello"]
    assert clock.now() == T0


async def test_parked_receive_returns_empty_exactly_at_its_deadline(
    engine: Engine, clock: ManualClock, queue: str
) -> None:
    polls = Polls(engine, queue)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: polls.receive(wait_time_seconds=20))
            await parked(clock)
            clock.advance(19.9)
            await anyio.wait_all_tasks_blocked()
            assert polls.results == []
            clock.advance(0.1)
    assert polls.results == [[]]


async def test_queue_receive_wait_time_applies_when_the_request_omits_it(engine: Engine, clock: ManualClock) -> None:
    waiting = await engine.create_queue("waiting", {"ReceiveMessageWaitTimeSeconds": "10"})
    polls = Polls(engine, waiting)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(polls.receive)
            await parked(clock)
            clock.advance(9)
            await anyio.wait_all_tasks_blocked()
            assert polls.results == []
            clock.advance(1)
    assert polls.results == [[]]


async def test_default_queue_wait_time_is_zero(engine: Engine, clock: ManualClock, queue: str) -> None:
    with anyio.fail_after(2):
        assert await engine.receive_message(queue) == []
    assert clock.sleepers == 0


async def test_request_wait_time_zero_overrides_the_queue(engine: Engine, clock: ManualClock) -> None:
    waiting = await engine.create_queue("waiting", {"ReceiveMessageWaitTimeSeconds": "20"})
    with anyio.fail_after(2):
        assert await engine.receive_message(waiting, wait_time_seconds=0) == []
    assert clock.sleepers == 0


async def test_wakes_when_a_delayed_message_becomes_visible(engine: Engine, clock: ManualClock, queue: str) -> None:
    await engine.send_message(queue, "later", delay_seconds=5)
    polls = Polls(engine, queue)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: polls.receive(wait_time_seconds=20))
            await parked(clock)
            clock.advance(4.9)
            await anyio.wait_all_tasks_blocked()
            assert polls.results == []
            clock.advance(0.1)
    assert polls.bodies == ["later"]
    assert clock.now() == T0 + 5


async def test_wakes_for_a_delayed_message_sent_while_parked(engine: Engine, clock: ManualClock, queue: str) -> None:
    """The parked receive's timer was set before the message existed; the send must re-arm it."""
    polls = Polls(engine, queue)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: polls.receive(wait_time_seconds=20))
            await parked(clock)
            await engine.send_message(queue, "later", delay_seconds=5)
            await anyio.wait_all_tasks_blocked()
            assert polls.results == []
            clock.advance(5)
    assert polls.bodies == ["later"]


async def test_wakes_when_an_in_flight_message_times_out(engine: Engine, clock: ManualClock, queue: str) -> None:
    await engine.send_message(queue, "retry")
    await engine.receive_message(queue, visibility_timeout=5)
    polls = Polls(engine, queue)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: polls.receive(wait_time_seconds=20, attribute_names=["ApproximateReceiveCount"]))
            await parked(clock)
            clock.advance(5)
    [[got]] = polls.results
    assert got.attributes["ApproximateReceiveCount"] == "2"


async def test_wakes_when_a_message_is_released(engine: Engine, clock: ManualClock, queue: str) -> None:
    await engine.send_message(queue, "released")
    [held] = await engine.receive_message(queue)
    polls = Polls(engine, queue)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: polls.receive(wait_time_seconds=20))
            await parked(clock)
            await engine.change_message_visibility(queue, held.receipt_handle, 0)
    assert polls.bodies == ["released"]
    assert clock.now() == T0


async def test_one_message_wakes_exactly_one_of_many_parked_receives(
    engine: Engine, clock: ManualClock, queue: str
) -> None:
    polls = Polls(engine, queue)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(lambda: polls.receive(wait_time_seconds=20))
            await parked(clock, 50)
            await engine.send_message(queue, "only")
            await anyio.wait_all_tasks_blocked()
            assert polls.bodies == ["only"]
            assert len(polls.results) == 1
            assert clock.sleepers == 49
            clock.advance(20)
    assert len(polls.results) == 50
    assert polls.bodies == ["only"]
    assert sum(1 for r in polls.results if r) == 1


async def test_a_batch_wakes_as_many_receives_as_it_has_messages(
    engine: Engine, clock: ManualClock, queue: str
) -> None:
    polls = Polls(engine, queue)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(lambda: polls.receive(wait_time_seconds=20))
            await parked(clock, 5)
            await engine.send_message_batch(queue, [SendEntry(str(i), f"e{i}") for i in range(3)])
            await anyio.wait_all_tasks_blocked()
            assert sorted(polls.bodies) == ["0", "1", "2"]
            assert clock.sleepers == 2
            clock.advance(20)
    assert sum(1 for r in polls.results if r) == 3


async def test_woken_receive_takes_what_is_available(engine: Engine, clock: ManualClock, queue: str) -> None:
    polls = Polls(engine, queue)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: polls.receive(wait_time_seconds=20, max_messages=10))
            await parked(clock)
            await engine.send_message_batch(queue, [SendEntry(str(i), f"e{i}") for i in range(5)])
    assert sorted(polls.bodies) == ["0", "1", "2", "3", "4"]


async def test_after_a_parked_receive_is_cancelled_a_send_wakes_another(
    engine: Engine, clock: ManualClock, queue: str
) -> None:
    polls = Polls(engine, queue)
    scope = anyio.CancelScope()

    async def cancellable() -> None:
        with scope:
            await polls.receive(wait_time_seconds=20)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(cancellable)  # parked first: the next wake would be aimed at it
            await parked(clock)
            tg.start_soon(lambda: polls.receive(wait_time_seconds=20))
            await parked(clock, 2)
            scope.cancel()
            await anyio.wait_all_tasks_blocked()
            await engine.send_message(queue, "survives")
    assert polls.results == [polls.results[0]]
    assert polls.bodies == ["survives"]
    assert clock.now() == T0


# In-process, cancelling the engine's coroutine between its wake-up and its look is possible; over HTTP the client's
# cancel cannot reach the server's handler before that handler has run, so the message goes to the cancelled
# request and stays in flight (as on SQS when a client gives up on a receive).
@pytest.mark.in_process("cancels the engine's own coroutine between its wake-up and its look")
async def test_a_woken_receive_cancelled_before_it_looks_passes_the_wake_on(
    engine: Engine, clock: ManualClock, queue: str
) -> None:
    """asyncio cancellation (``asyncio.timeout`` around a receive) can land after the wake-up: the message must
    then go to another parked receive, not wait out its long poll."""
    first = asyncio.ensure_future(engine.receive_message(queue, wait_time_seconds=20))
    await parked(clock)
    second = asyncio.ensure_future(engine.receive_message(queue, wait_time_seconds=20))
    await parked(clock, 2)
    try:
        await engine.send_message(queue, "handed-on")  # wakes the first receive, which has not run yet
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        await anyio.wait_all_tasks_blocked()
        assert second.done()
        assert [m.body for m in second.result()] == ["handed-on"]
    finally:
        second.cancel()


async def test_fifo_delete_wakes_a_receive_waiting_on_the_group(engine: Engine, clock: ManualClock, fifo: str) -> None:
    await engine.send_message(fifo, "a1", group_id="a")
    await engine.send_message(fifo, "a2", group_id="a")
    [a1] = await engine.receive_message(fifo)
    polls = Polls(engine, fifo)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: polls.receive(wait_time_seconds=20))
            await parked(clock)
            await engine.delete_message(fifo, a1.receipt_handle)
    assert polls.bodies == ["a2"]
    assert clock.now() == T0


async def test_fifo_send_to_another_group_wakes_a_receive(engine: Engine, clock: ManualClock, fifo: str) -> None:
    await engine.send_message(fifo, "a1", group_id="a")
    await engine.send_message(fifo, "a2", group_id="a")
    await engine.receive_message(fifo)
    polls = Polls(engine, fifo)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: polls.receive(wait_time_seconds=20))
            await parked(clock)
            await engine.send_message(fifo, "b1", group_id="b")
    assert polls.bodies == ["b1"]


# -- regressions: no wake-up lost, no spin while nothing can be delivered --------------------------------------------


async def test_a_receive_that_timed_out_does_not_swallow_the_next_wake_up(
    engine: Engine, clock: ManualClock, queue: str
) -> None:
    """A long poll the clock ended must leave the parked list: a stale entry there took the wake-up meant for
    the receive still waiting, which then slept out its whole wait with a message in the queue."""
    polls = Polls(engine, queue)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: polls.receive(wait_time_seconds=5))
            await parked(clock)
            tg.start_soon(lambda: polls.receive(wait_time_seconds=20))
            await parked(clock, 2)
            clock.advance(5)
            await anyio.wait_all_tasks_blocked()
            assert polls.results == [[]]
            await engine.send_message(queue, "hello")
            await anyio.wait_all_tasks_blocked()
            assert polls.bodies == ["hello"]  # at once: no further clock advance
    assert clock.now() == T0 + 5


async def test_fifo_long_poll_parks_while_an_extended_head_blocks_its_group(
    engine: Engine, clock: ManualClock, fifo: str
) -> None:
    """The second message's visibility has ended but the head, extended by a heartbeat, still blocks the group:
    the poll must park until its deadline (it used to spin on the second message's past visibility time)."""
    await engine.send_message_batch(fifo, [SendEntry("m1", "a", group_id="g"), SendEntry("m2", "b", group_id="g")])
    head, _ = await engine.receive_message(fifo, max_messages=10, visibility_timeout=1)
    await engine.change_message_visibility(fifo, head.receipt_handle, 60)
    clock.advance(1)
    polls = Polls(engine, fifo)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: polls.receive(wait_time_seconds=5))
            await parked(clock)
            clock.advance(4.9)
            await anyio.wait_all_tasks_blocked()
            assert polls.results == []
            clock.advance(0.1)
    assert polls.results == [[]]
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: polls.receive(wait_time_seconds=20))
            await parked(clock)
            await engine.delete_message(fifo, head.receipt_handle)
    assert polls.bodies == ["m2"]
    assert clock.now() == T0 + 6


# Opens its own Engine (a small quota) from ``store_url``: its [wire] run would only repeat the memory run in-process.
@pytest.mark.in_process("opens its own in-process Engine with a custom in-flight quota")
async def test_standard_long_poll_at_the_in_flight_cap_parks_until_its_deadline(
    store_url: str, clock: ManualClock
) -> None:
    """Over the in-flight quota a long poll gets nothing, and must wait for it rather than loop."""
    async with Engine.open(store_url, clock, max_in_flight=2) as engine:
        queue = await engine.create_queue("capped")
        await engine.send_message_batch(queue, [SendEntry(f"m{i}", f"e{i}") for i in range(4)])
        first, _, _ = await engine.receive_message(queue, max_messages=3, visibility_timeout=100)
        await engine.change_message_visibility(queue, first.receipt_handle, 1)
        clock.advance(1)  # m0 is visible again; two messages are still in flight: at the cap
        polls = Polls(engine, queue)
        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                tg.start_soon(lambda: polls.receive(wait_time_seconds=5))
                await parked(clock)
                clock.advance(4.9)
                await anyio.wait_all_tasks_blocked()
                assert polls.results == []
                clock.advance(0.1)
        assert polls.results == [[]]
        assert clock.now() == T0 + 6
