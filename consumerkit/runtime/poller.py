"""Pollers: long-poll for exactly as many messages as there are free slots, and hand each to a job.

A poller takes free slots first and receives second, so no message waits in memory while its visibility
timeout burns. Each handler has a few pollers (one per 10 slots, at most four), so a big pool refills while
one long poll is still out. Received messages go to the handler's workers through a memory stream that
has room for every slot, so handing over never waits.

When the supervisor stops receiving, a receive still out gets a short grace (``receive_grace``) and is then
cancelled. Over HTTP a reply can already be on its way when the stop comes: cancelling it at once would
strand its messages, invisible and unprocessed, until their visibility timeout ran out. Within the grace
such a reply arrives and its messages are released at once (visibility 0) for another worker; a long poll
parked on an empty queue holds nothing, and is cancelled when the grace ends.
"""

from __future__ import annotations

import math

import anyio
import structlog
from anyio.streams.memory import MemoryObjectSendStream

from consumerkit.clock import sleep_until
from consumerkit.errors import BackendError
from consumerkit.runtime.context import HandlerContext
from consumerkit.runtime.groups import in_groups
from consumerkit.runtime.leases import Lease

__all__ = ["Poller", "poller_count"]

MAX_POLLERS = 4
RECEIVE_MAX = 10  # SQS: at most 10 messages per receive
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 30.0

log = structlog.get_logger("consumerkit.poller")


def poller_count(concurrency: int, batch: bool) -> int:
    return min(MAX_POLLERS, concurrency if batch else math.ceil(concurrency / RECEIVE_MAX))


class Poller:
    def __init__(self, ctx: HandlerContext, dispatch: MemoryObjectSendStream[list[Lease]]) -> None:
        self.ctx = ctx
        self.dispatch = dispatch
        self.scope = anyio.CancelScope()
        self._backoff = BACKOFF_FIRST

    def stop(self, grace: float) -> None:
        """Stop receiving: a receive still out may finish within ``grace`` seconds, then it is cancelled."""
        if grace > 0:
            self.scope.deadline = min(self.scope.deadline, anyio.current_time() + grace)
        else:
            self.scope.cancel()

    async def run(self) -> None:
        ctx = self.ctx
        with self.scope:
            while ctx.receiving:
                taken = await ctx.slots.take(1 if ctx.spec.batch else RECEIVE_MAX)
                if not ctx.receiving:
                    ctx.slots.give(taken)
                    return
                await self._receive(taken)

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
        if ctx.records_waits:
            ctx.received(leases)
        if not ctx.receiving:  # stopped while this receive was out: give them straight back
            for lease in leases:
                lease.outcome = "released"
                ctx.acker.change(lease, 0, "released")
            ctx.slots.give(taken)
            return
        if spec.batch:
            if leases:
                self.dispatch.send_nowait(leases)
            else:
                ctx.slots.give(taken)
            return
        # One slot per job: a message, or on a FIFO queue a group's messages of this receive (see groups.py).
        jobs = in_groups(leases) if ctx.fifo else [[lease] for lease in leases]
        ctx.slots.give(taken - len(jobs))
        for job in jobs:
            self.dispatch.send_nowait(job)
