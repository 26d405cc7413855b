"""Everything one handler's tasks share: its spec, its queue, its leases, its acker, its counters.

The poller, the jobs, the heartbeat and the acker each take this one object, rather than a dozen arguments,
and the supervisor builds one per handler. Settling a message (its outcome, its statistics, the observers)
happens here, in one place, whatever path led to it.
"""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import structlog

from consumerkit.backends.base import Backend
from consumerkit.clock import Clock
from consumerkit.handlers import HandlerSpec
from consumerkit.runtime.acks import Acker
from consumerkit.runtime.distribution import Distribution
from consumerkit.runtime.events import OUTCOMES, HandlerStatistics, Observer, Outcome, ReceiptObserver
from consumerkit.runtime.heartbeat import Heartbeat
from consumerkit.runtime.leases import Lease, Slots
from consumerkit.runtime.timers import Timers

__all__ = ["HandlerContext"]

log = structlog.get_logger("consumerkit.runtime")


class HandlerContext:
    def __init__(
        self,
        spec: HandlerSpec,
        queue_url: str,
        backend: Backend,
        clock: Clock,
        timers: Timers,
        observers: Sequence[Observer] = (),
        dead_letter_url: str | None = None,
        receipt_observers: Sequence[ReceiptObserver] = (),
        histogram_buckets: Sequence[float] | None = None,
    ) -> None:
        self.spec = spec
        self.queue_url = queue_url
        self.backend = backend
        self.clock = clock
        self.timers = timers
        self.observers = tuple(observers)
        self.receipt_observers = tuple(receipt_observers)
        self.dead_letter_url = dead_letter_url
        self.fifo = spec.queue.endswith(".fifo")  # SQS: a FIFO queue's name ends so; its groups keep their order
        self.leases: dict[int, Lease] = {}  # by id(lease): two deliveries of one message are two leases
        self.running: dict[int, Sequence[Lease]] = {}  # the jobs under way, by id of their lease list
        self.slots = Slots(spec.concurrency)
        self.limiter = anyio.CapacityLimiter(spec.concurrency)  # threads for a sync handler: one per slot
        # Slots counted in messages, as in_progress is, so in_progress / slots is utilisation for batches too.
        self.stats = HandlerStatistics(spec.queue, spec.name, spec.concurrency * (spec.batch_size if spec.batch else 1))
        if histogram_buckets is not None:
            self.stats.durations = {outcome: Distribution(histogram_buckets) for outcome in OUTCOMES}
            self.stats.queue_waits = Distribution(histogram_buckets)
        self.records_waits = bool(self.receipt_observers) or self.stats.queue_waits is not None
        self.acker = Acker(self, self.finish)
        self.heartbeat = Heartbeat(self)
        self.receiving = True
        self.finished = False  # its tasks have all ended (during a drain, before the others')

    def lease(self, raw_lease: Lease) -> Lease:
        self.leases[id(raw_lease)] = raw_lease
        return raw_lease

    def finish(self, lease: Lease, outcome: str, error: BaseException | None = None) -> None:
        """The message's fate is settled (and acknowledged, where it needed a call): forget it, count it, tell
        the observers."""
        if self.leases.pop(id(lease), None) is None:
            return
        lease.clear_timers()
        now = self.clock.now()
        stats = self.stats
        stats.outcomes[outcome] += 1
        stats.last_processed = now
        if stats.durations is not None:
            stats.durations[outcome].observe(now - lease.started_at)
        if not self.observers:
            return
        event = Outcome(
            self.spec.queue, self.spec.name, lease.message_id, outcome, lease.receive_count,
            now - lease.started_at, lease.waited(), error,
        )  # fmt: skip
        for observer in self.observers:
            try:
                observer(event)
            except Exception:  # an observer's bug must not stop the worker
                log.exception("observer failed", observer=repr(observer))

    def received(self, leases: Sequence[Lease]) -> None:
        """Record, and tell the receipt observers, how long each message waited in the queue."""
        waits = [wait for lease in leases if (wait := lease.waited()) is not None]
        if self.stats.queue_waits is not None:
            for wait in waits:
                self.stats.queue_waits.observe(wait)
        for observer in self.receipt_observers:
            try:
                observer(self.spec.queue, waits)
            except Exception:
                log.exception("receipt observer failed", observer=repr(observer))
