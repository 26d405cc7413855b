"""A lease: one received message while this worker holds it, from receipt to its settled outcome.

The lease is what the heartbeat extends, what a timeout or the 12-hour cap cancels, and what
:class:`~consumerkit.message.Message`'s controls act on. It records *why* a job was cancelled (``reason``), so
the job's end can settle the message correctly: a timeout is retried, a shutdown or the cap releases it, a
lost lease leaves it alone for whoever holds it now.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import anyio
import anyio.lowlevel

from consumerkit.backends.base import QueueMessage, VisibilityChange
from consumerkit.errors import BackendError, ConfigError
from consumerkit.runtime.timers import Timer

if TYPE_CHECKING:
    from consumerkit.runtime.context import HandlerContext

__all__ = ["MAX_TOTAL_VISIBILITY", "Lease", "Slots", "without_handle"]

MAX_TOTAL_VISIBILITY = 43_200  # SQS: a message's visibility cannot reach past 12 h from its receipt
# Our receipt time is when the receive returned; SQS started its 12 hours a round trip earlier.
CAP_SAFETY = 10.0
# A job stopped at the cap needs its receipt alive a little longer, to release the message.
STOP_MARGIN = 30.0


class Lease:
    __slots__ = (
        "abandon",
        "cancelled",
        "ctx",
        "deadline",
        "deleting",
        "message_id",
        "outcome",
        "queue_wait",
        "raw",
        "reason",
        "receive_count",
        "received_at",
        "scope",
        "started",
        "started_at",
        "timers",
        "warned",
    )

    def __init__(self, ctx: HandlerContext, raw: QueueMessage, received_at: float) -> None:
        self.ctx = ctx
        self.raw = raw
        # read once: the poller, the log fields, the retry policy and every observer ask for them
        self.message_id = raw.message_id
        self.receive_count = int(raw.attributes.get("ApproximateReceiveCount", "1"))
        self.received_at = received_at
        self.deadline = received_at + ctx.spec.visibility_timeout
        self.scope: anyio.CancelScope | None = None
        self.reason: str | None = None
        self.outcome: str | None = None  # the fate decided for it, once: no later decision may override it
        self.deleting = False  # settled by a delete not yet done: the heartbeat keeps it invisible meanwhile
        self.started = False  # its job has begun (a FIFO group's later messages wait their turn)
        self.started_at = received_at
        self.timers: list[Timer] = []
        self.warned = False
        self.queue_wait: float | None = None  # seconds from SentTimestamp to receipt, once worked out
        self.cancelled: threading.Event | None = None  # a sync handler's thread watches it (check_cancelled)
        self.abandon: anyio.Event | None = None  # set at shutdown: stop waiting for a sync handler's thread

    @property
    def settled(self) -> bool:
        return self.outcome is not None

    def waited(self) -> float | None:
        """Seconds from the producer's send (SQS's SentTimestamp) to this receipt; worked out once."""
        if self.queue_wait is None:
            sent = self.raw.attributes.get("SentTimestamp")
            if sent is not None:
                self.queue_wait = max(0.0, self.received_at - int(sent) / 1000)
        return self.queue_wait

    @property
    def cap(self) -> float:
        """The last moment SQS lets this receipt stay invisible."""
        return self.received_at + MAX_TOTAL_VISIBILITY - CAP_SAFETY

    def room(self, now: float) -> int:
        """Whole seconds this receipt may still stay invisible from ``now``: the most any visibility change may
        ask (SQS refuses more, it does not clamp)."""
        return max(0, int(self.cap - now))

    def stop_at(self, max_duration: float) -> float:
        """When the job must end: its ``max_duration``, or early enough before the cap to release it still."""
        return min(self.started_at + max_duration, self.cap - STOP_MARGIN)

    def cancel(self, reason: str) -> None:
        """Stop the job, remembering the first reason given (a timeout that fires during a shutdown is still a
        timeout)."""
        if self.reason is None:
            self.reason = reason
        if self.cancelled is not None:
            self.cancelled.set()
        if reason == "shutdown" and self.abandon is not None:
            self.abandon.set()
        if self.scope is not None:
            self.scope.cancel()

    def clear_timers(self) -> None:
        for timer in self.timers:
            timer.cancel()
        self.timers.clear()

    async def extend(self, seconds: int) -> None:
        now = self.ctx.clock.now()
        room = self.room(now)
        if not isinstance(seconds, int) or isinstance(seconds, bool) or not 0 <= seconds <= room:
            raise ConfigError(
                f"Message.extend(seconds={seconds!r}) is out of range: an integer in 0..{room} "
                "(SQS: at most 12 hours from the receive)"
            )
        if self.settled:
            return
        change = VisibilityChange("0", self.raw.receipt_handle, seconds)
        failures = await self.ctx.backend.change_visibility_batch(self.ctx.queue_url, [change])
        self.ctx.stats.extensions["error" if failures else "ok"] += 1
        if failures and failures[0].sender_fault:
            self.cancel("lease_lost")
            await anyio.lowlevel.checkpoint()  # the cancellation lands here
        if failures:
            reason = without_handle(failures[0].message, self.raw.receipt_handle)
            raise BackendError(f"Message.extend: {failures[0].code}: {reason}")
        self.deadline = now + seconds

    async def release(self, delay: int) -> None:
        room = self.room(self.ctx.clock.now())
        if not isinstance(delay, int) or isinstance(delay, bool) or not 0 <= delay <= room:
            raise ConfigError(f"Message.release(delay={delay!r}) is out of range: an integer in 0..{room}")
        if self.settled:
            return
        self.outcome = "released"
        self.ctx.acker.change(self, delay, "released")


def without_handle(text: str, handle: str) -> str:
    """SQS quotes the receipt handle in its refusals ("Value <handle> for parameter ReceiptHandle is invalid");
    a receipt handle never goes into a log line or an exception a handler might log."""
    return text.replace(handle, "<receipt handle>") if handle else text


class Slots:
    """A handler's bounded pool: pollers take free slots *before* they receive, so a message never waits in
    memory while its visibility burns, and give back what the receive did not fill."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0
        self._freed = anyio.Event()

    @property
    def free(self) -> int:
        return self.capacity - self.used

    async def take(self, most: int) -> int:
        """Wait for at least one free slot and take up to ``most``. Before counting, let the tasks that are
        finishing in this same moment give theirs back, so a batch of quick jobs frees a whole batch of slots
        for the next receive rather than one at a time."""
        while True:
            while self.free <= 0:
                await self._freed.wait()  # every waiter shares the current event; give() sets and renews it
            await anyio.lowlevel.checkpoint()
            if self.free > 0:  # another poller may have taken them meanwhile
                taken = min(most, self.free)
                self.used += taken
                return taken

    def give(self, count: int) -> None:
        if count:
            self.used -= count
            self._freed.set()
            self._freed = anyio.Event()
