"""Sync handlers: run in a worker thread, cancellable at their next :func:`check_cancelled`.

A thread cannot be interrupted from outside, so cancelling a sync job (a timeout, the 12-hour cap, a shutdown)
does two things: the supervisor stops waiting for it at once and settles its message, and a flag is raised
that the thread sees the next time it calls :func:`check_cancelled` (which raises). A sync handler that
never checks runs on to its end with its result discarded; call it between steps of a long job.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread

from consumerkit.errors import ConsumerkitError

__all__ = ["JobCancelled", "check_cancelled", "run_in_thread"]

_local = threading.local()


class JobCancelled(ConsumerkitError):
    """Raised in a sync handler's thread by :func:`check_cancelled` once its job has been cancelled."""


def check_cancelled() -> None:
    """In a sync handler: raise :class:`JobCancelled` if the job was cancelled; elsewhere, do nothing."""
    flag: threading.Event | None = getattr(_local, "cancelled", None)
    if flag is not None and flag.is_set():
        raise JobCancelled("the job was cancelled (timeout, maximum duration, lost lease or shutdown)")


def _call(func: Callable[..., Any], args: tuple[Any, ...], cancelled: threading.Event) -> Any:
    _local.cancelled = cancelled
    try:
        return func(*args)
    finally:
        _local.cancelled = None


async def run_in_thread(
    func: Callable[..., Any], args: tuple[Any, ...], cancelled: threading.Event, limiter: anyio.CapacityLimiter
) -> Any:
    return await anyio.to_thread.run_sync(_call, func, args, cancelled, abandon_on_cancel=True, limiter=limiter)
