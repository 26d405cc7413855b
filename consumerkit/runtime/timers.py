"""One task that runs callbacks at deadlines of the injected clock.

Heartbeat ticks, handler timeouts, the 12-hour cap and its warning are all "at time T, do X". Rather than a
sleeping task per job (1,000 long jobs would be 1,000 tasks waking on their own), the supervisor keeps them
in one heap and one task sleeps until the earliest. On a :class:`~consumerkit.clock.ManualClock` a test fires
them by advancing the clock, so nothing in the runtime's timing needs a real sleep to test.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

import anyio

from consumerkit.clock import Clock

__all__ = ["Timer", "Timers"]


class Timer:
    """A scheduled call; :meth:`cancel` makes it a no-op. Cancelled timers are swept out of the heap once they
    are the majority, so a million short jobs with 12-hour caps do not leave a million dead entries behind."""

    __slots__ = ("_owner", "callback", "when")

    def __init__(self, owner: Timers, when: float, callback: Callable[[], None]) -> None:
        self._owner = owner
        self.when = when
        self.callback: Callable[[], None] | None = callback

    def cancel(self) -> None:
        if self.callback is not None:
            self.callback = None
            self._owner._cancelled()

    @property
    def active(self) -> bool:
        return self.callback is not None


class Timers:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._heap: list[tuple[float, int, Timer]] = []
        self._ids = itertools.count()
        self._changed = anyio.Event()
        self._dead = 0

    def call_at(self, when: float, callback: Callable[[], None]) -> Timer:
        timer = Timer(self, when, callback)
        if not self._heap or when < self._heap[0][0]:
            self._changed.set()  # the sleeper must wake earlier than it planned
        heapq.heappush(self._heap, (when, next(self._ids), timer))
        return timer

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        return self.call_at(self.clock.now() + delay, callback)

    def __len__(self) -> int:
        return len(self._heap) - self._dead

    def _cancelled(self) -> None:
        self._dead += 1
        if self._dead > 64 and self._dead * 2 > len(self._heap):
            self._heap = [entry for entry in self._heap if entry[2].active]
            heapq.heapify(self._heap)
            self._dead = 0

    async def run(self) -> None:
        """Fire timers as their time comes, forever (the supervisor cancels this task when it stops)."""
        while True:
            self._fire_due()
            self._changed = anyio.Event()
            deadline = self._heap[0][0] if self._heap else self.clock.now() + 3600.0
            await self.clock.wait(self._changed, deadline)

    def _fire_due(self) -> None:
        now = self.clock.now()
        while self._heap and self._heap[0][0] <= now:
            timer = heapq.heappop(self._heap)[2]
            callback, timer.callback = timer.callback, None
            if callback is None:
                self._dead -= 1
            else:
                callback()
