"""Long-poll parking: receivers sleep on events and are woken by the operations that make messages
available, never by a polling loop.

Wake-ups are targeted: sending k messages wakes at most k parked receivers, in arrival order, so a single
message sent to a queue with a thousand open long polls wakes one of them, not a thundering herd. A receiver
that is woken and still finds messages left over (or leaves without taking its share) passes the wake on, so
no message waits while a receiver sleeps.

Another process sharing a durable store cannot set these events, so one parked receiver per engine (the
watcher) wakes every ``watch_interval`` to ask the store whether anyone else committed, and if so wakes one
receiver per queue to look.
"""

from __future__ import annotations

import contextlib
from collections import deque

import anyio


class Waiters:
    def __init__(self) -> None:
        self._parked: dict[int, deque[anyio.Event]] = {}
        self._watching = False

    def claim_watch(self) -> bool:
        """Become the one receiver that looks for other processes' changes, if none is yet."""
        if self._watching:
            return False
        self._watching = True
        return True

    def release_watch(self) -> None:
        """Stop watching, and wake a parked receiver (of any queue) to take the watch over."""
        self._watching = False
        for queue_id in self._parked:
            self.wake(queue_id, 1)
            break

    def park(self, queue_id: int) -> anyio.Event:
        event = anyio.Event()
        self._parked.setdefault(queue_id, deque()).append(event)
        return event

    def unpark(self, queue_id: int, event: anyio.Event) -> None:
        parked = self._parked.get(queue_id)
        if parked is not None:
            # Whether or not the event is set: a clock may set it to end a wait, and an entry left behind would
            # swallow the next wake-up meant for a live receiver.
            with contextlib.suppress(ValueError):
                parked.remove(event)
            if not parked:
                del self._parked[queue_id]

    def wake(self, queue_id: int, count: int = 1) -> None:
        """Wake up to ``count`` receivers parked on the queue (every one with ``count < 0``)."""
        parked = self._parked.get(queue_id)
        while parked and count != 0:
            parked.popleft().set()
            count -= 1
        if parked is not None and not parked:
            del self._parked[queue_id]

    def wake_every_queue(self) -> None:
        """Wake one receiver per queue, so each re-arms its timer (a new move task changes every timetable)."""
        for queue_id in list(self._parked):
            self.wake(queue_id, 1)

    def parked(self, queue_id: int) -> int:
        return len(self._parked.get(queue_id, ()))
