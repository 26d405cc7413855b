"""Sync handlers: run in a worker thread, cancellable at their next :func:`check_cancelled`.

A thread cannot be interrupted from outside, so cancelling a sync job (a timeout, the 12-hour cap, a lost
lease) raises a flag that the thread sees the next time it calls :func:`check_cancelled` (which raises), and
the job waits for the thread to stop there, heartbeating meanwhile: settling the message while the thread ran
on would let a retry run the same message twice at once. Only a shutdown stops waiting (``abandon``): the
message is released and the process is about to exit anyway. Call it between the steps of a long job.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread

from consumerkit.errors import ConsumerkitError

__all__ = ["JobCancelled", "check_cancelled", "run_in_thread"]

_local = threading.local()
_abandoned: set[_Run] = set()  # runs left to finish alone at a shutdown, until their thread returns
_lock = threading.Lock()


class _Run:
    """One sync call's thread-side state."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = False


def abandoned_threads() -> int:
    """How many threads a shutdown left running (their handler never reached check_cancelled)."""
    with _lock:
        return sum(1 for run in _abandoned if not run.done)


class JobCancelled(ConsumerkitError):
    """Raised in a sync handler's thread by :func:`check_cancelled` once its job has been cancelled."""


def check_cancelled() -> None:
    """In a sync handler: raise :class:`JobCancelled` if the job was cancelled; elsewhere, do nothing."""
    flag: threading.Event | None = getattr(_local, "cancelled", None)
    if flag is not None and flag.is_set():
        raise JobCancelled("the job was cancelled (timeout, maximum duration, lost lease or shutdown)")


def _call(func: Callable[..., Any], args: tuple[Any, ...], cancelled: threading.Event, run: _Run) -> Any:
    _local.cancelled = cancelled
    try:
        return func(*args)
    finally:
        _local.cancelled = None
        with _lock:
            run.done = True
            _abandoned.discard(run)


async def run_in_thread(
    func: Callable[..., Any],
    args: tuple[Any, ...],
    cancelled: threading.Event,
    abandon: anyio.Event,
    limiter: anyio.CapacityLimiter,
) -> Any:
    """Run ``func`` in a worker thread and return (or raise) what it did, even if the job is cancelled
    meanwhile, unless ``abandon`` is set first; then the thread is left to run out alone."""
    outcome: list[Any] = []
    failure: list[BaseException] = []
    finished = anyio.Event()
    run = _Run()

    async def call() -> None:
        try:
            outcome.append(
                await anyio.to_thread.run_sync(
                    _call, func, args, cancelled, run, abandon_on_cancel=True, limiter=limiter
                )
            )
        except Exception as error:
            failure.append(error)
        finally:
            finished.set()

    with anyio.CancelScope(shield=True):
        async with anyio.create_task_group() as tg:
            tg.start_soon(call)
            tg.start_soon(_cancel_when, abandon, finished, tg.cancel_scope)
            await finished.wait()
            tg.cancel_scope.cancel()
    if not outcome and not failure:  # abandoned: the thread runs on alone
        with _lock:
            if not run.done:
                _abandoned.add(run)
    await anyio.lowlevel.checkpoint()  # a cancellation of the job lands here, once the thread has stopped
    if failure:
        raise failure[0]
    if not outcome:
        raise JobCancelled("the job was abandoned at shutdown; its thread runs on alone")
    return outcome[0]


async def _cancel_when(abandon: anyio.Event, finished: anyio.Event, scope: anyio.CancelScope) -> None:
    await abandon.wait()
    finished.set()
    scope.cancel()
