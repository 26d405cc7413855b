"""A job: one handler call on one message (or one batch), and the settling of what it returns.

The life of a message reads top-down here: start (timers set, the heartbeat already covers it) → the handler
runs inside a cancel scope → the outcome is decided → the message is settled: deleted on success, made visible
after the retry policy's back-off on failure, sent to the dead-letter queue on :class:`~consumerkit.Reject`,
released on shutdown or at the 12-hour cap, left alone when the lease was lost.
"""

from __future__ import annotations

import contextvars
import inspect
import threading
from collections.abc import Iterable, Sequence
from typing import Any

import anyio
import structlog
from structlog.contextvars import STRUCTLOG_KEY_PREFIX, bind_contextvars, reset_contextvars

from consumerkit.backends.base import OutgoingMessage
from consumerkit.errors import PayloadError, Reject
from consumerkit.message import Message
from consumerkit.runtime.context import HandlerContext
from consumerkit.runtime.groups import Outcomes, held_back
from consumerkit.runtime.leases import Lease
from consumerkit.runtime.threads import run_in_thread

__all__ = ["run_group", "run_job"]

log = structlog.get_logger("consumerkit.jobs")

FALLBACK_DELAY = 30  # seconds, when a retry policy raises
# Why a job was cancelled → what becomes of its message.
_CANCELLED = {"timeout": "timeout", "max_duration": "released", "shutdown": "released", "lease_lost": "lease_lost"}


async def run_group(ctx: HandlerContext, group: Sequence[Lease]) -> None:
    """One FIFO group's messages of one receive, one job after another in one slot (see groups.py). A message
    starts only once the one before it succeeded and the worker is still receiving; otherwise it and those
    behind it are released unstarted, so that SQS delivers them again after the one in front."""
    for position, lease in enumerate(group):
        if position and (group[position - 1].outcome != "success" or not ctx.receiving):
            rest = group[position:]
            log.debug("FIFO group held back: its later messages released", queue=ctx.spec.queue,
                      after=group[position - 1].message_id, released=len(rest))  # fmt: skip
            for waiting in rest:  # one another worker took over meanwhile (lease lost) is left to it
                await settle(ctx, waiting, "lease_lost" if waiting.reason == "lease_lost" else "released", None)
            return
        await run_job(ctx, [lease])


async def run_job(ctx: HandlerContext, leases: Sequence[Lease]) -> None:
    # Every log line of the job, the handler's own included, carries which message it is about. Bound and
    # reset by token: structlog's bound_contextvars reads the whole context each time, a fifth of a job's cost.
    if len(leases) == 1:
        lease = leases[0]
        tokens = bind_contextvars(
            queue=ctx.spec.queue, handler=ctx.spec.name, message_id=lease.message_id,
            receive_count=lease.receive_count,
        )  # fmt: skip
    else:
        tokens = bind_contextvars(queue=ctx.spec.queue, handler=ctx.spec.name, messages=len(leases))
    before = contextvars.copy_context()
    try:
        await _run_job(ctx, leases)
    finally:
        _forget_handler_fields(before)
        reset_contextvars(**tokens)


def _forget_handler_fields(before: contextvars.Context) -> None:
    """Undo what the handler bound with a bare ``bind_contextvars``: one worker task runs job after job, so
    those fields would otherwise stay on the next message's lines. Contexts are immutable maps, so when the
    job bound nothing (the usual case) the comparison is one identity check; otherwise only structlog's
    variables that changed are put back."""
    after = contextvars.copy_context()
    if after == before:
        return
    for var, value in after.items():
        if var.name.startswith(STRUCTLOG_KEY_PREFIX):
            previous = before.get(var, Ellipsis)  # structlog's mark for "not bound"
            if previous is not value:
                var.set(previous)


async def _run_job(ctx: HandlerContext, leases: Sequence[Lease]) -> None:
    spec, now = ctx.spec, ctx.clock.now()
    ctx.stats.in_progress += len(leases)
    flag = None if spec.signature.is_async else threading.Event()  # a sync handler's thread watches it
    abandon = None if flag is None else anyio.Event()
    for lease in leases:
        lease.started, lease.started_at = True, now
        lease.cancelled, lease.abandon = flag, abandon  # one batch, one thread, one flag
        ctx.heartbeat.watch_cap(lease, now)
    outcomes: Outcomes = {}
    timeout = None
    ctx.running[id(leases)] = leases  # until the job ends, even if its messages are settled sooner (release)
    try:
        with anyio.CancelScope() as scope:
            for lease in leases:
                lease.scope = scope
            if any(lease.reason is not None for lease in leases):  # cancelled before it started: do not run it
                scope.cancel()
            else:
                if spec.timeout is not None:
                    timeout = ctx.timers.call_at(now + spec.timeout, lambda: _cancel(leases, "timeout"))
                outcomes = await _call(ctx, leases)
        if scope.cancel_called:  # also when a sync handler's thread ended on its own after the cancel
            # A batch cancelled for one message's sake (its lease was lost) gives the others back at once.
            outcomes = {id(lease): (_CANCELLED[lease.reason] if lease.reason else "released", None) for lease in leases}
        elif ctx.fifo and len(leases) > 1:
            outcomes = held_back(leases, outcomes)
        for lease in leases:
            outcome, error = outcomes.get(id(lease), ("success", None))
            await settle(ctx, lease, outcome, error)
    finally:
        if timeout is not None:
            timeout.cancel()  # a timeout after the job ended must not touch a message still being acknowledged
        del ctx.running[id(leases)]
        ctx.stats.in_progress -= len(leases)


def _cancel(leases: Sequence[Lease], reason: str) -> None:
    for lease in leases:
        lease.cancel(reason)


async def _call(ctx: HandlerContext, leases: Sequence[Lease]) -> Outcomes:
    """Run the handler; map each lease to (outcome, error) for those that did not simply succeed."""
    spec, sig = ctx.spec, ctx.spec.signature
    outcomes: Outcomes = {}
    called: list[tuple[Lease, Message]] = []
    args: list[Any] = []
    for lease in leases:
        message = Message(lease.raw, spec.queue, lease)
        try:
            args.append(message if sig.decode is None else sig.decode(message))
        except Exception as error:  # a model's own validator may raise anything: still this message's failure
            failure = error if isinstance(error, PayloadError) else PayloadError(f"message {message.id}: {error!r}")
            outcomes[id(lease)] = ("error", failure)
            _log_failure(ctx, lease, failure)
            continue
        called.append((lease, message))
    if not called:
        return outcomes
    if spec.batch:
        call_args: tuple[Any, ...] = (args,)
    else:
        call_args = (args[0], called[0][1]) if sig.with_message else (args[0],)
    try:
        if sig.is_async:
            result = await spec.func(*call_args)
        else:
            first = leases[0]
            assert first.cancelled is not None and first.abandon is not None
            result = await run_in_thread(spec.func, call_args, first.cancelled, first.abandon, ctx.limiter)
        if result is not None and inspect.isawaitable(result):  # an async function behind a plain decorator
            result = await result
        failed = _failed(result, called, args) if spec.batch and result is not None else []
    except Reject as error:
        return outcomes | {id(lease): ("rejected", error) for lease, _ in called}
    except Exception as error:
        _log_failure(ctx, called[0][0], error, len(called))
        return outcomes | {id(lease): ("error", error) for lease, _ in called}
    return outcomes | {id(lease): ("error", None) for lease in failed}


def _failed(result: object, called: list[tuple[Lease, Message]], args: list[Any]) -> list[Lease]:
    """A batch handler returns what failed: the messages, their ids, or (typed) the payload objects it was given;
    the others succeeded. Anything that names none of its messages fails the whole batch, never passes it."""
    if not isinstance(result, Iterable) or isinstance(result, str | bytes):
        raise TypeError(f"a batch handler returns None or what failed, not a {type(result).__name__}")
    by_id = {message.id: lease for lease, message in called}
    by_payload: dict[int, list[Lease]] = {}
    for (lease, _), arg in zip(called, args, strict=True):
        by_payload.setdefault(id(arg), []).append(lease)  # one shared object (None, a small int) may be several
    failed: list[Lease] = []
    for item in result:
        key = item.id if isinstance(item, Message) else item
        found = [by_id[key]] if isinstance(key, str) and key in by_id else by_payload.get(id(item), [])
        if not found:
            raise TypeError(f"a batch handler reported {item!r} as failed, which is none of the messages it was given")
        failed += [lease for lease in found if lease not in failed]
    return failed


def _log_failure(ctx: HandlerContext, lease: Lease, error: BaseException, count: int = 1) -> None:
    log.warning(
        "handler failed",
        queue=ctx.spec.queue,
        handler=ctx.spec.name,
        message_id=lease.message_id,
        receive_count=lease.receive_count,
        messages=count,
        exc_info=error,
    )


async def settle(ctx: HandlerContext, lease: Lease, outcome: str, error: BaseException | None) -> None:
    """Decide the message's fate, once: later decisions (a job ending after Message.release) change nothing."""
    if lease.settled:
        return
    lease.outcome = outcome
    if outcome == "success":
        lease.deleting = True
        ctx.acker.delete(lease)
    elif outcome in ("error", "timeout"):
        _retry(ctx, lease, outcome, error)
    elif outcome == "released":
        ctx.acker.change(lease, 0, "released")
    elif outcome == "rejected":
        await _reject(ctx, lease, error)
    else:  # lease_lost: whoever holds the message now decides
        ctx.finish(lease, outcome, error)


def _retry(ctx: HandlerContext, lease: Lease, outcome: str, error: BaseException | None) -> None:
    room = lease.room(ctx.clock.now())
    try:
        wanted = int(ctx.spec.retry.delay(lease.receive_count))
    except Exception:  # a custom policy's bug must not stop the worker
        log.exception("retry policy failed; retrying after its fallback", policy=repr(ctx.spec.retry))
        wanted = FALLBACK_DELAY
    delay = max(0, min(wanted, room))
    ctx.acker.change(lease, delay, outcome, error)


async def _reject(ctx: HandlerContext, lease: Lease, error: BaseException | None) -> None:
    """Copy the message to the dead-letter queue, then delete it; with no DLQ, retry it as a failure."""
    if ctx.dead_letter_url is None:
        log.warning(
            "Reject on a queue without a dead-letter queue: retried as a failure instead",
            queue=ctx.spec.queue,
            message_id=lease.message_id,
        )
        _retry(ctx, lease, "error", error)
        return
    raw, fifo = lease.raw, ctx.dead_letter_url.endswith(".fifo")
    copy = OutgoingMessage(
        raw.body,
        "0",
        message_attributes=raw.message_attributes or None,
        group_id=raw.attributes.get("MessageGroupId"),
        # SQS: a deduplication id only on FIFO queues; the message id keeps a retried Reject from doubling it
        # (with the receive count: the same message rejected again after a redrive is a new copy, not a duplicate)
        deduplication_id=f"{raw.message_id}-{lease.receive_count}" if fifo else None,
    )
    try:
        _, failures = await ctx.backend.send_message_batch(ctx.dead_letter_url, [copy])
        problem = f"{failures[0].code}: {failures[0].message}" if failures else None
    except Exception as send_error:  # a backend's failure or bug: retried like any failure
        problem = str(send_error)
    if problem is not None:
        log.warning("Reject: could not send to the dead-letter queue; retried", queue=ctx.spec.queue, error=problem)
        _retry(ctx, lease, "error", error)
        return
    lease.deleting = True
    ctx.acker.delete(lease, "rejected", error)
