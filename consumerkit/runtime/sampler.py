"""The backlog sampler: every queue's counters, read every ``interval`` seconds, for autoscaling signals.

Scalers read queue depth from SQS or CloudWatch themselves; a worker exporting it too lets a Prometheus-based
scaler (KEDA's prometheus trigger, an HPA through prometheus-adapter) divide the backlog by the fleet's slots
without a separate exporter. One sampler per process samples each queue once (a queue shared by handlers, or
a DLQ, is not read twice), through ``GetQueueAttributes``, whose counts SQS itself calls approximate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import structlog

from consumerkit.backends.base import Backend, QueueCounts
from consumerkit.clock import Clock, sleep_until

__all__ = ["Sampler"]

log = structlog.get_logger("consumerkit.sampler")


class Sampler:
    def __init__(self, backend: Backend, queues: Mapping[str, str], clock: Clock, interval: float) -> None:
        self.backend = backend
        self.queues = dict(queues)  # name → URL
        self.clock = clock
        self.interval = interval
        self.latest: dict[str, QueueCounts] = {}
        self.sampled_at: dict[str, float] = {}
        self.errors: Counter[str] = Counter()  # failed reads, by queue name

    async def run(self) -> None:
        while True:
            await self.sample()
            await sleep_until(self.clock, self.clock.now() + self.interval)

    async def sample(self) -> None:
        for name, url in self.queues.items():
            try:
                self.latest[name] = await self.backend.queue_counts(url)
                self.sampled_at[name] = self.clock.now()
            except Exception as error:  # the last good sample stands; the failure shows in the error count
                self.errors[name] += 1
                log.warning("queue sample failed", queue=name, error=str(error))
