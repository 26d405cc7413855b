"""Back-off policies: how long a failed message stays invisible before SQS offers it again.

A policy is a pure function of the message's receive count, so a retry schedule is the same on every worker
and survives restarts: SQS keeps the count (``ApproximateReceiveCount``), the worker keeps nothing. Past the
queue's ``maxReceiveCount`` SQS itself moves the message to the dead-letter queue; the policy only spaces the
attempts out. Policies are tiny frozen objects with a readable ``repr``, handed to a handler as data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Protocol

from consumerkit.errors import ConfigError

__all__ = ["ExponentialBackoff", "FixedBackoff", "RetryPolicy"]

MAX_VISIBILITY = 43_200  # SQS: a visibility timeout is at most 12 hours


class RetryPolicy(Protocol):
    def delay(self, receive_count: int) -> int:
        """Seconds (0..43,200) before the message may be received again, after its ``receive_count``-th try."""
        ...


def _check(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ConfigError(f"{name}={value!r} is out of range: {low:g}..{high:g} seconds")


@dataclass(frozen=True, slots=True)
class ExponentialBackoff:
    """``base × factor^(n-1)`` seconds after the n-th receive, capped at ``maximum``, with equal jitter (the
    delay is drawn from its upper half) so that a burst of failures does not return as a burst."""

    base: float = 5.0
    factor: float = 2.0
    maximum: float = 900.0
    jitter: bool = True
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check("ExponentialBackoff.base", self.base, 0, MAX_VISIBILITY)
        _check("ExponentialBackoff.maximum", self.maximum, self.base, MAX_VISIBILITY)
        if not 1 <= self.factor <= 100:
            raise ConfigError(f"ExponentialBackoff.factor={self.factor!r} is out of range: 1..100")

    def delay(self, receive_count: int) -> int:
        exponent = min(max(receive_count, 1) - 1, 64)  # 2^64 × base is past any cap; avoids float overflow
        ceiling = min(self.maximum, self.base * self.factor**exponent)
        if self.jitter:
            ceiling = ceiling / 2 + self.rng.random() * ceiling / 2
        return round(ceiling)


@dataclass(frozen=True, slots=True)
class FixedBackoff:
    """The same delay after every failure; ``FixedBackoff(0)`` retries at once."""

    seconds: int = 30

    def __post_init__(self) -> None:
        _check("FixedBackoff.seconds", self.seconds, 0, MAX_VISIBILITY)

    def delay(self, receive_count: int) -> int:
        return self.seconds
