"""One timer task for every deadline, driven by the injected clock."""

from __future__ import annotations

import anyio

from consumerkit.clock import ManualClock
from consumerkit.runtime.timers import Timers
from tests.runtime.harness import settle


async def test_timers_fire_in_order_when_the_clock_passes_them() -> None:
    clock = ManualClock()
    timers = Timers(clock)
    fired: list[str] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(timers.run)
        await settle()
        timers.call_later(10, lambda: fired.append("b"))
        timers.call_later(5, lambda: fired.append("a"))  # earlier than the one the task sleeps for
        cancelled = timers.call_later(7, lambda: fired.append("never"))
        cancelled.cancel()
        await settle()
        clock.advance(6)
        await settle()
        assert fired == ["a"]
        clock.advance(4)
        await settle()
        assert fired == ["a", "b"]
        assert len(timers) == 0
        tg.cancel_scope.cancel()


def test_cancelled_timers_do_not_pile_up() -> None:
    timers = Timers(ManualClock())
    for _ in range(10_000):
        timers.call_later(43_200, lambda: None).cancel()
    assert len(timers._heap) < 200
    assert len(timers) == 0
