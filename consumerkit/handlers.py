"""HandlerSpec: everything the supervisor needs to know about one handler, as plain validated data.

The decorator builds one; nothing here runs anything. Every limit is checked when the handler is registered,
so a mistake is a :class:`~consumerkit.errors.ConfigError` naming the handler, the field, the value and the
range, before a single message is received.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from consumerkit.errors import ConfigError
from consumerkit.payloads import Signature, inspect_handler
from consumerkit.runtime.retry import ExponentialBackoff, RetryPolicy

__all__ = ["HandlerSpec"]

MAX_VISIBILITY = 43_200  # SQS: total visibility of one receive is at most 12 h
MAX_WAIT = 20  # SQS: a long poll waits at most 20 s
MAX_BATCH = 10  # SQS: a receive returns at most 10 messages
MAX_CONCURRENCY = 100_000


@dataclass(frozen=True, slots=True)
class HandlerSpec:
    """One handler. Defaults follow AWS's heartbeat recipe: receive with a 120 s visibility, extend it every
    60 s while the job runs, give up just before SQS's 12-hour ceiling."""

    queue: str
    func: Callable[..., Any]
    name: str = ""
    concurrency: int = 10
    visibility_timeout: int = 120
    heartbeat_interval: float | None = None  # default: half the visibility timeout
    batch: bool = False
    batch_size: int = MAX_BATCH
    timeout: float | None = None
    max_duration: float = MAX_VISIBILITY - 300
    cap_warning: float | None = None  # warn this long before max_duration; default 600 s, or a tenth of it
    retry: RetryPolicy = field(default_factory=ExponentialBackoff)
    wait_seconds: int = MAX_WAIT
    signature: Signature = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", getattr(self.func, "__name__", repr(self.func)))
        self._check()
        object.__setattr__(self, "signature", inspect_handler(self.func, self.name, batch=self.batch))

    @property
    def interval(self) -> float:
        """Seconds between heartbeats."""
        return self.heartbeat_interval if self.heartbeat_interval is not None else self.visibility_timeout / 2

    @property
    def warning_lead(self) -> float:
        """Seconds before ``max_duration`` at which the warning is logged."""
        return self.cap_warning if self.cap_warning is not None else min(600.0, self.max_duration / 10)

    def replace(self, **changes: Any) -> HandlerSpec:
        return dataclasses.replace(self, **changes)

    def _check(self) -> None:
        where = f"handler {self.name!r}"
        if not isinstance(self.queue, str) or not self.queue:
            raise ConfigError(f"{where}: queue must be a queue name, got {self.queue!r}")
        if not callable(self.func):
            raise ConfigError(f"{where}: {self.func!r} is not callable")
        _int_range(where, "concurrency", self.concurrency, 1, MAX_CONCURRENCY)
        _int_range(where, "visibility_timeout", self.visibility_timeout, 1, MAX_VISIBILITY)
        _int_range(where, "batch_size", self.batch_size, 1, MAX_BATCH)
        # SQS allows 0 (a short poll), but a worker that short-polls an empty queue spins, paying per request
        _int_range(where, "wait_seconds", self.wait_seconds, 1, MAX_WAIT)
        _range(where, "heartbeat_interval", self.interval, 0.001, self.visibility_timeout * 0.9)
        _range(where, "max_duration", self.max_duration, 1, MAX_VISIBILITY)
        if self.cap_warning is not None:
            _range(where, "cap_warning", self.cap_warning, 0, self.max_duration)
        if self.timeout is not None:
            _range(where, "timeout", self.timeout, 0.001, math.inf)
        if not callable(getattr(self.retry, "delay", None)):
            raise ConfigError(f"{where}: retry={self.retry!r} has no delay(receive_count) method")


def _int_range(where: str, name: str, value: object, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(f"{where}: {name}={value!r} is out of range: an integer in {low}..{high}")


def _range(where: str, name: str, value: object, low: float, high: float) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(f"{where}: {name}={value!r} is out of range: {low:g}..{high:g} seconds")
