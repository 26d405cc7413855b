"""A histogram as a plain record: what the runtime fills per message when asked to, and a collector reads.

Kept in the runtime, not in the metrics, because the cheapest place to record a message's processing duration
is where its fate is settled: there the runtime has the duration at hand, and an observation is a bisect and
two additions. Going through an observer instead (an ``Outcome`` built, a call, a label lookup) cost more than
the observation itself.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left
from collections.abc import Sequence

from consumerkit.errors import ConfigError

__all__ = ["Distribution", "check_buckets"]


def check_buckets(bounds: Sequence[float]) -> tuple[float, ...]:
    """``bounds`` as floats, once checked: at least one, strictly increasing."""
    if not bounds or any(b >= c for b, c in itertools.pairwise(bounds)):
        raise ConfigError(f"histogram buckets {tuple(bounds)!r}: need at least one, strictly increasing")
    return tuple(float(b) for b in bounds)


class Distribution:
    """Observations per bucket (``le`` inclusive, the last one +Inf) and their sum. Updated from the event loop
    only; a collector reads a :meth:`copy`."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = check_buckets(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.total = 0.0

    @property
    def count(self) -> int:
        return sum(self.counts)

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1  # the first bound ≥ value: Prometheus's le
        self.total += value

    def copy(self) -> Distribution:
        copied = Distribution.__new__(Distribution)
        copied.bounds, copied.counts, copied.total = self.bounds, list(self.counts), self.total
        return copied
