"""Heartbeats: keep every running job's message invisible, in as few calls as SQS allows.

One loop per handler ticks every ``interval`` seconds (by default half the visibility timeout, AWS's recipe:
receive with 2 minutes, extend by 2 minutes every minute). At each tick it extends every lease whose
visibility ends within the next 1.5 intervals, to a full visibility timeout from now, ten per
``ChangeMessageVisibilityBatch``. A lease is therefore extended once per interval, and 1,000 running jobs cost
100 calls per interval, however their receipts were spread in time.

SQS caps a receipt's total visibility at 12 hours. Extensions never ask past it (SQS refuses, it does not
clamp); a job's ``max_duration`` (default 5 minutes short of the cap) is enforced by timers that the tick sets
once the cap comes within reach, with a warning ``cap_warning`` seconds before. An extension SQS refuses
means the lease is lost (the receipt expired, or another worker received the message): the job is cancelled
so that it does not run twice at once, and the message is left alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
import structlog

from consumerkit.backends.base import VisibilityChange
from consumerkit.clock import sleep_until
from consumerkit.runtime.leases import Lease

if TYPE_CHECKING:
    from consumerkit.runtime.context import HandlerContext

__all__ = ["Heartbeat"]

BATCH = 10
log = structlog.get_logger("consumerkit.heartbeat")


class Heartbeat:
    def __init__(self, ctx: HandlerContext) -> None:
        self.ctx = ctx
        self.last_tick = ctx.clock.now()  # liveness counts from the start

    async def run(self) -> None:
        interval = self.ctx.spec.interval
        next_tick = self.ctx.clock.now() + interval
        while True:
            await sleep_until(self.ctx.clock, next_tick)
            retry_soon = await self.beat()
            now = self.ctx.clock.now()
            next_tick = now + (min(interval, 5.0) if retry_soon else interval)

    async def beat(self) -> bool:
        """One tick; returns whether an extension failed on the service's side and should be retried soon."""
        ctx, now = self.ctx, self.ctx.clock.now()
        self.last_tick = now
        horizon = now + 1.5 * ctx.spec.interval
        due: list[tuple[Lease, int]] = []
        for lease in list(ctx.leases.values()):
            # A FIFO group's waiting messages need no stop of their own: they share the running one's receive,
            # hence its 12 hours, and it is stopped before them. Their max_duration counts from their start.
            if lease.started:
                self.watch_cap(lease, now)
            # Extended while its job runs (a cancelled sync job runs until its thread stops) or its delete is
            # pending; not once it is given back, nor once another worker holds it.
            wanted = (not lease.settled or lease.deleting) and lease.reason != "lease_lost"
            if wanted and lease.deadline <= horizon:
                timeout = min(ctx.spec.visibility_timeout, lease.room(now))
                if now + timeout > lease.deadline:  # otherwise the cap allows no more
                    due.append((lease, timeout))
        retry: list[Lease] = []
        async with anyio.create_task_group() as tg:
            for start in range(0, len(due), BATCH):
                tg.start_soon(self._extend, due[start : start + BATCH], now, retry)
        return bool(retry)

    async def _extend(self, batch: list[tuple[Lease, int]], now: float, retry: list[Lease]) -> None:
        """Extend one batch; leases whose extension the service failed on its side go to ``retry``."""
        ctx = self.ctx
        changes = [VisibilityChange(str(i), lease.raw.receipt_handle, t) for i, (lease, t) in enumerate(batch)]
        ctx.stats.visibility_batches += 1
        try:
            # bounded, so that one slow call cannot hold up the next tick's extensions
            with anyio.fail_after(max(1.0, ctx.spec.interval / 2)):
                failures = await ctx.backend.change_visibility_batch(ctx.queue_url, changes)
        except Exception as error:  # a failure, a timeout or a backend's bug: retried soon either way
            ctx.stats.extensions["error"] += len(batch)
            log.warning("heartbeat failed; retrying", queue=ctx.spec.queue, error=str(error), messages=len(batch))
            retry += [lease for lease, _ in batch]
            return
        by_id = {f.id: f for f in failures}
        for index, (lease, timeout) in enumerate(batch):
            failure = by_id.get(str(index))
            if failure is None:
                ctx.stats.extensions["ok"] += 1
                lease.deadline = now + timeout
                continue
            ctx.stats.extensions["error"] += 1
            if not failure.sender_fault:
                retry.append(lease)
            elif not lease.settled:
                log.warning(
                    "lease lost: the job is cancelled",
                    queue=ctx.spec.queue,
                    handler=ctx.spec.name,
                    message_id=lease.message_id,
                    code=failure.code,
                )
                lease.cancel("lease_lost")

    def watch_cap(self, lease: Lease, now: float) -> None:
        """Once the cap (or its warning) falls before the next tick, hand it to a timer for an exact time."""
        if lease.warned:
            return
        spec, timers = self.ctx.spec, self.ctx.timers
        stop_at = lease.stop_at(spec.max_duration)
        warn_at = stop_at - spec.warning_lead
        if warn_at > now + 1.5 * spec.interval:
            return
        lease.warned = True
        lease.timers.append(timers.call_at(warn_at, lambda: self._warn(lease, stop_at)))
        lease.timers.append(timers.call_at(stop_at, lambda: self._stop(lease)))

    def _warn(self, lease: Lease, stop_at: float) -> None:
        log.warning(
            "job nears its maximum duration; it will be cancelled and its message released",
            queue=self.ctx.spec.queue,
            handler=self.ctx.spec.name,
            message_id=lease.message_id,
            seconds_left=round(stop_at - self.ctx.clock.now(), 3),
        )

    def _stop(self, lease: Lease) -> None:
        self.ctx.stats.cap_reached += 1
        log.error(
            "job reached its maximum duration: cancelled, message released",
            queue=self.ctx.spec.queue,
            handler=self.ctx.spec.name,
            message_id=lease.message_id,
        )
        lease.cancel("max_duration")
