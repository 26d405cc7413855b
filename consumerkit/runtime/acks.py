"""Acks: deletes and visibility changes, coalesced into SQS's batch calls of up to 10.

Every settled message ends here: deleted after success, made visible again after a failure (its back-off) or
a release. Entries gather while a call is in flight, and for a linger of a few event-loop rounds after the first
one arrives (the jobs of one receive finish in the same rounds), then go out ten at a time, so a busy worker
pays one request per ten messages (SQS bills per request), and an idle one acknowledges a finished job at
once. The linger is counted in loop rounds, not seconds: it adds no latency that a clock must pass, real or
injected. An entry the service failed on its side is retried with back-off; one it refused (a receipt that
expired) is logged and given up, since no retry can succeed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio
import anyio.lowlevel
import structlog

from consumerkit.backends.base import EntryFailure, Receipt, VisibilityChange
from consumerkit.clock import sleep_until
from consumerkit.errors import TransientBackendError
from consumerkit.runtime.leases import Lease, without_handle

if TYPE_CHECKING:
    from consumerkit.runtime.context import HandlerContext

__all__ = ["Acker"]

BATCH = 10  # SQS: at most 10 entries per batch call
LINGER_ROUNDS = 3
RETRY_FIRST, RETRY_MAX = 0.5, 10.0

log = structlog.get_logger("consumerkit.acks")


@dataclass(slots=True)
class _Entry:
    lease: Lease
    outcome: str
    timeout: int | None  # None: delete
    error: BaseException | None = None


class Acker:
    def __init__(self, ctx: HandlerContext, finish: Callable[[Lease, str, BaseException | None], None]) -> None:
        self.ctx = ctx
        self._finish = finish
        self._deletes: list[_Entry] = []
        self._changes: list[_Entry] = []
        self._pending = anyio.Event()
        self._idle = anyio.Event()
        self._idle.set()
        self._busy = 0

    def delete(self, lease: Lease, outcome: str = "success", error: BaseException | None = None) -> None:
        self._add(self._deletes, _Entry(lease, outcome, None, error))

    def change(self, lease: Lease, timeout: int, outcome: str, error: BaseException | None = None) -> None:
        self._add(self._changes, _Entry(lease, outcome, timeout, error))

    def _add(self, queue: list[_Entry], entry: _Entry) -> None:
        queue.append(entry)
        self._idle = anyio.Event() if self._idle.is_set() else self._idle
        self._pending.set()

    @property
    def pending(self) -> int:
        return len(self._deletes) + len(self._changes) + self._busy

    async def wait_idle(self) -> None:
        """Return once nothing is queued or in flight (the supervisor's last step before it exits)."""
        while self.pending:
            await self._idle.wait()

    async def run(self) -> None:
        """Flush forever; each round sends every full batch there is, concurrently."""
        while True:
            if not (self._deletes or self._changes):
                self._mark_idle()
                self._pending = anyio.Event()
                await self._pending.wait()
            for _ in range(LINGER_ROUNDS):
                if len(self._deletes) >= BATCH or len(self._changes) >= BATCH:
                    break
                await anyio.lowlevel.checkpoint()
            deletes, self._deletes = self._deletes, []
            changes, self._changes = self._changes, []
            self._busy = len(deletes) + len(changes)
            async with anyio.create_task_group() as tg:
                for start in range(0, len(deletes), BATCH):
                    tg.start_soon(self._send, deletes[start : start + BATCH], True)
                for start in range(0, len(changes), BATCH):
                    tg.start_soon(self._send, changes[start : start + BATCH], False)
            self._busy = 0

    def _mark_idle(self) -> None:
        if not self._busy:
            self._idle.set()

    async def _send(self, entries: list[_Entry], delete: bool) -> None:
        delay = RETRY_FIRST
        while entries:
            try:
                failures = await self._call(entries, delete)
            except Exception as error:
                # Worth retrying only if the service may answer differently later; a refusal (access denied, the
                # queue deleted) would be retried forever while the heartbeat held the messages for 12 hours.
                transient = isinstance(error, TransientBackendError)
                code = type(error).__name__
                failures = [EntryFailure(str(i), code, str(error), not transient) for i in range(len(entries))]
            by_id = {f.id: f for f in failures}
            retry = []
            for index, entry in enumerate(entries):
                failure = by_id.get(str(index))
                if failure is not None and not failure.sender_fault:
                    retry.append(entry)
                    continue
                if failure is not None:
                    log.warning(
                        "ack refused; the message may be delivered again",
                        operation=_op(delete),
                        queue=self.ctx.spec.queue,
                        message_id=entry.lease.message_id,
                        code=failure.code,
                        reason=without_handle(failure.message, entry.lease.raw.receipt_handle),
                    )
                self._finish(entry.lease, entry.outcome, entry.error)
            entries = retry
            if entries:
                await sleep_until(self.ctx.clock, self.ctx.clock.now() + delay)
                delay = min(delay * 2, RETRY_MAX)

    async def _call(self, entries: Sequence[_Entry], delete: bool) -> list[EntryFailure]:
        backend, url = self.ctx.backend, self.ctx.queue_url
        if delete:
            self.ctx.stats.delete_batches += 1
            receipts = [Receipt(str(i), e.lease.raw.receipt_handle) for i, e in enumerate(entries)]
            return await backend.delete_message_batch(url, receipts)
        self.ctx.stats.visibility_batches += 1
        changes = [VisibilityChange(str(i), e.lease.raw.receipt_handle, e.timeout or 0) for i, e in enumerate(entries)]
        return await backend.change_visibility_batch(url, changes)


def _op(delete: bool) -> str:
    return "DeleteMessageBatch" if delete else "ChangeMessageVisibilityBatch"
