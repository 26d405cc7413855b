"""Time, injected: one clock for the engine and the runtime alike.

Every SQS rule is a function of "now": visibility, delay, retention, deduplication windows, purge limits,
long-poll deadlines; so is every duty of the runtime: heartbeats, back-off, handler timeouts, the drain
deadline. Both read time only through a :class:`Clock`, so tests move a :class:`ManualClock` forward instead
of sleeping, and a wait on a manual clock ends the moment the test advances past its deadline. The engine and
the runtime share it, so one manual clock drives a worker and the queue it consumes from in step.
"""

from __future__ import annotations

import heapq
import itertools
import time
from typing import Protocol

import anyio
import anyio.lowlevel

__all__ = ["Clock", "ManualClock", "SystemClock", "sleep_until"]


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch (SQS timestamps are wall-clock)."""
        ...

    async def wait(self, event: anyio.Event, deadline: float) -> None:
        """Return when ``event`` is set or the clock reaches ``deadline``, whichever comes first. The event may
        be set on return either way: callers must not read it to learn why the wait ended."""
        ...


class SystemClock:
    """The wall clock; waits are anyio timeouts."""

    def now(self) -> float:
        return time.time()

    async def wait(self, event: anyio.Event, deadline: float) -> None:
        with anyio.move_on_after(max(0.0, deadline - time.time())):
            await event.wait()

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that moves only when told to; waiters wake as soon as :meth:`advance` passes their deadline."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        # Steps add up apart from the epoch-sized start, where a float resolves only ~0.24 µs: ten steps of
        # 0.1 s then land on start + 1, not a microsecond short of it.
        self._start = start
        self._elapsed = 0.0
        self._now = start
        self._timers: list[tuple[float, int, anyio.Event]] = []
        self._waiting: set[tuple[float, int, anyio.Event]] = set()
        self._ids = itertools.count()

    def now(self) -> float:
        return self._now

    async def wait(self, event: anyio.Event, deadline: float) -> None:
        """Ends the wait by setting ``event`` when the deadline comes; a deadline already past still yields to
        the scheduler once, so a caller that loops on it cannot starve every other task."""
        if deadline <= self._now:
            await anyio.lowlevel.checkpoint()
            return
        entry = (deadline, next(self._ids), event)
        heapq.heappush(self._timers, entry)
        self._waiting.add(entry)
        try:
            await event.wait()
        finally:
            self._waiting.discard(entry)

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every waiter whose deadline has come."""
        if seconds < 0:
            raise ValueError(f"a clock only moves forward; advance({seconds}) is negative")
        self._elapsed += seconds
        self._now = self._start + self._elapsed
        while self._timers and self._timers[0][0] <= self._now:
            heapq.heappop(self._timers)[2].set()

    @property
    def sleepers(self) -> int:
        """How many waits are pending (tests wait for a long poll to be parked before advancing)."""
        return sum(1 for _, _, e in self._waiting if not e.is_set())

    @property
    def next_deadline(self) -> float | None:
        """The earliest deadline a pending wait has, if any: where a test runner moves the clock to when
        every task is blocked, so the next thing due happens without stepping past anything in between."""
        return min((deadline for deadline, _, e in self._waiting if not e.is_set()), default=None)

    def __repr__(self) -> str:
        return f"ManualClock(now={self._now})"


async def sleep_until(clock: Clock, deadline: float) -> None:
    """Wait until ``clock`` reaches ``deadline`` (cancellable, like every anyio wait)."""
    await clock.wait(anyio.Event(), deadline)
