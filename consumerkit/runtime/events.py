"""What the supervisor reports: one :class:`Outcome` per message when its fate is settled, and plain
statistics records. Observers (tests, and the metrics and logs of ``consumerkit.observability``) only read
these; they never steer the runtime."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from consumerkit.runtime.distribution import Distribution

__all__ = ["OUTCOMES", "HandlerStatistics", "Observer", "Outcome", "ReceiptObserver"]

# success: deleted. error: failed, retried after back-off. timeout: overran its timeout, retried likewise.
# rejected: sent to the dead-letter queue. released: given back (shutdown, the 12-hour cap, Message.release).
# lease_lost: SQS no longer knew the receipt (it expired, or another worker holds the message); not touched.
OUTCOMES = ("success", "error", "timeout", "rejected", "released", "lease_lost")


@dataclass(slots=True)  # not frozen: built once per message, and freezing costs observers 3 % of throughput
class Outcome:
    queue: str
    handler: str
    message_id: str
    outcome: str
    receive_count: int
    duration: float  # seconds from the job's start to the message's settlement (its delete or visibility change)
    queue_wait: float | None = None  # seconds from SentTimestamp to receipt, where SQS said
    error: BaseException | None = None


Observer = Callable[[Outcome], None]
# Told (queue, seconds since SentTimestamp of each message) as a receive returns: the queue-wait latency, when
# it happens rather than when an hour-long job ends; once per receive, not per message.
ReceiptObserver = Callable[[str, list[float]], None]


@dataclass(slots=True)
class HandlerStatistics:
    """Counters of one handler, updated in place by the runtime; copy with :meth:`snapshot` to keep one."""

    queue: str
    handler: str
    slots: int
    in_progress: int = 0
    received: int = 0
    receive_requests: Counter[str] = field(default_factory=Counter)  # messages | empty | error
    outcomes: Counter[str] = field(default_factory=Counter)
    extensions: Counter[str] = field(default_factory=Counter)  # ok | error
    visibility_batches: int = 0
    delete_batches: int = 0
    cap_reached: int = 0
    redeliveries: int = 0
    last_processed: float | None = None
    # Kept only when SupervisorSettings.histogram_buckets is set (install_metrics sets it): per outcome, seconds
    # from the job's start to the message's settlement; and seconds from SentTimestamp to receipt.
    durations: dict[str, Distribution] | None = None
    queue_waits: Distribution | None = None

    def snapshot(self) -> HandlerStatistics:
        return HandlerStatistics(
            self.queue,
            self.handler,
            self.slots,
            self.in_progress,
            self.received,
            Counter(self.receive_requests),
            Counter(self.outcomes),
            Counter(self.extensions),
            self.visibility_batches,
            self.delete_batches,
            self.cap_reached,
            self.redeliveries,
            self.last_processed,
            None if self.durations is None else {k: d.copy() for k, d in self.durations.items()},
            None if self.queue_waits is None else self.queue_waits.copy(),
        )
