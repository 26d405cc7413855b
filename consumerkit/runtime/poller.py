"""Pollers: long-poll for exactly as many messages as there are free slots, and hand each to a job.

A poller takes free slots first and receives second, so no message waits in memory while its visibility
timeout burns. Each handler has a few pollers (one per 10 slots, at most four), so a big pool refills while
one long poll is still out. When the supervisor stops receiving, the pending long polls are cancelled and
anything a receive still returns is released at once (visibility 0) for another worker.
"""

from __future__ import annotations

import math

import anyio
import structlog

from consumerkit.clock import sleep_until
from consumerkit.errors import BackendError
from consumerkit.runtime.context import HandlerContext
from consumerkit.runtime.jobs import run_job
from consumerkit.runtime.leases import Lease

__all__ = ["Poller", "poller_count"]

MAX_POLLERS = 4
RECEIVE_MAX = 10  # SQS: at most 10 messages per receive
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 30.0

log = structlog.get_logger("consumerkit.poller")


def poller_count(concurrency: int, batch: bool) -> int:
    return min(MAX_POLLERS, concurrency if batch else math.ceil(concurrency / RECEIVE_MAX))


class Poller:
    def __init__(self, ctx: HandlerContext, jobs: anyio.abc.TaskGroup) -> None:
        self.ctx = ctx
        self.jobs = jobs
        self.scope = anyio.CancelScope()
        self._backoff = BACKOFF_FIRST

    def stop(self) -> None:
        self.scope.cancel()

    async def run(self) -> None:
        ctx = self.ctx
        with self.scope:
            while ctx.receiving:
                await self._receive(await ctx.slots.take(1 if ctx.spec.batch else RECEIVE_MAX))

    async def _receive(self, taken: int) -> None:
        ctx, spec = self.ctx, self.ctx.spec
        want = spec.batch_size if spec.batch else taken
        try:
            received = await ctx.backend.receive_messages(
                ctx.queue_url, max_messages=want, wait_seconds=spec.wait_seconds,
                visibility_timeout=spec.visibility_timeout,
            )  # fmt: skip
        except Exception as error:  # a backend's failure, or its bug: either way the worker carries on
            ctx.stats.receive_requests["error"] += 1
            ctx.slots.give(taken)
            unexpected = None if isinstance(error, BackendError) else error
            log.warning("receive failed; retrying", queue=spec.queue, error=str(error), retry_in=self._backoff,
                        exc_info=unexpected)  # fmt: skip
            await sleep_until(ctx.clock, ctx.clock.now() + self._backoff)
            self._backoff = min(self._backoff * 2, BACKOFF_MAX)
            return
        except BaseException:  # cancelled: the supervisor is stopping
            ctx.slots.give(taken)
            raise
        self._backoff = BACKOFF_FIRST
        now = ctx.clock.now()
        ctx.stats.receive_requests["messages" if received else "empty"] += 1
        ctx.stats.received += len(received)
        leases = [ctx.lease(Lease(ctx, raw, now)) for raw in received]
        ctx.stats.redeliveries += sum(1 for lease in leases if lease.receive_count > 1)
        if not ctx.receiving:  # stopped while this receive was out: give them straight back
            for lease in leases:
                lease.settled = True
                ctx.acker.change(lease, 0, "released")
            ctx.slots.give(taken)
            return
        if spec.batch:
            if leases:
                self.jobs.start_soon(run_job, ctx, leases)
            else:
                ctx.slots.give(taken)
            return
        ctx.slots.give(taken - len(leases))
        for lease in leases:
            self.jobs.start_soon(run_job, ctx, [lease])
