"""Receiving, deleting and changing the visibility of messages.

Every operation validates its whole request first, then changes state inside one store transaction, then
wakes whichever long polls the change concerns. The rules themselves live in ``semantics.py``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from consumerkit.engine import semantics as rules
from consumerkit.engine import validation as check
from consumerkit.engine.context import EngineContext
from consumerkit.engine.errors import SqsError
from consumerkit.engine.model import (
    ATTEMPT_WINDOW,
    MAX_RECEIVE,
    MAX_VISIBILITY,
    MAX_WAIT_SECONDS,
    BatchFailure,
    BatchResult,
    DeleteEntry,
    MessageRecord,
    QueueRecord,
    ReceivedMessage,
    VisibilityEntry,
)
from consumerkit.engine.receipts import Receipt
from consumerkit.engine.rendering import ReceiveView, render_message
from consumerkit.engine.store.base import Attempt

# Receipt tokens only tell receives apart (handles are signed), so a fast PRNG is enough.
_token = random.getrandbits


class MessageOps(EngineContext):
    # -- receive ----------------------------------------------------------------------------------------
    async def receive_message(
        self,
        queue_url: str,
        *,
        max_messages: int | None = None,
        wait_time_seconds: int | None = None,
        visibility_timeout: int | None = None,
        attribute_names: Sequence[str] = (),
        message_attribute_names: Sequence[str] = (),
        attempt_id: str | None = None,
    ) -> list[ReceivedMessage]:
        """Receive up to ``max_messages``; with a wait, park until a message is sent or becomes visible."""
        max_messages = (
            1 if max_messages is None else check.int_param("MaxNumberOfMessages", max_messages, 1, MAX_RECEIVE)
        )
        if wait_time_seconds is not None:
            check.int_param("WaitTimeSeconds", wait_time_seconds, 0, MAX_WAIT_SECONDS)
        if visibility_timeout is not None:
            check.int_param("VisibilityTimeout", visibility_timeout, 0, MAX_VISIBILITY)
        if attempt_id is not None:
            check.fifo_token(attempt_id, "ReceiveRequestAttemptId")
        filters = check.texts("MessageAttributeNames", message_attribute_names)
        view = ReceiveView(check.system_attribute_names(attribute_names), filters)
        queue = self.queue(queue_url)
        wait = queue.attributes.receive_message_wait_time_seconds if wait_time_seconds is None else wait_time_seconds
        deadline = self.clock.now() + wait
        watching = False
        try:
            while True:
                with self.store.transaction():
                    queue = self.queue(queue_url)
                    got = self._receive_now(queue, max_messages, visibility_timeout, view, attempt_id, wait == 0)
                now = self.clock.now()
                if got or now >= deadline:
                    if got and self.waiters.parked(queue.id):
                        self.waiters.wake(queue.id, 1)  # more may be left, and a new visibility deadline exists
                    return got
                watching = watching or (self.store.watch_interval is not None and self.waiters.claim_watch())
                await self._park(queue, deadline, now, watching)
        finally:
            if watching:
                self.waiters.release_watch()

    async def _park(self, queue: QueueRecord, deadline: float, now: float, watching: bool) -> None:
        changes: list[float | None] = [self.store.next_change(queue, now), self.next_task_move(now)]
        if watching and self.store.watch_interval is not None:
            changes.append(now + self.store.watch_interval)
        wake_at = min((deadline, *(c for c in changes if c is not None and c > now)))
        event = self.waiters.park(queue.id)
        try:
            await self.clock.wait(event, wake_at)
        except BaseException:
            if event.is_set():  # woken but leaving without looking: hand the wake on
                self.waiters.wake(queue.id, 1)
            raise
        finally:
            self.waiters.unpark(queue.id, event)
        if watching and self.store.external_change():
            self.waiters.wake_every_queue()

    def _receive_now(
        self,
        queue: QueueRecord,
        limit: int,
        visibility_timeout: int | None,
        view: ReceiveView,
        attempt_id: str | None,
        short_poll: bool = True,
    ) -> list[ReceivedMessage]:
        now = self.clock.now()
        self.advance_tasks(now)
        if self._over_limit(queue, now, short_poll):
            return []
        timeout = queue.attributes.visibility_timeout if visibility_timeout is None else visibility_timeout
        if queue.fifo and attempt_id is not None:
            replay = self._replay_attempt(queue, attempt_id, timeout, now)
            if replay is not None:
                return [render_message(self, queue, r, view) for r in replay]
        dead_letter = self._dead_letter_queue(queue)
        delivered: list[MessageRecord] = []
        while len(delivered) < limit:
            selection = self.select(queue, now, limit, delivered, dead_letter is not None)
            self._settle(queue, selection, dead_letter, now)
            for record in selection.deliver:
                rules.receive(record, now, timeout, _token(62) + 1)
            self.store.update(queue, selection.deliver, now)
            delivered += selection.deliver
            if queue.fifo or not (selection.expired or selection.dead):
                break
        if queue.fifo and attempt_id is not None and delivered:  # an empty answer is not worth replaying
            receipts = tuple((r.seq, r.receipt_token, r.visible_at) for r in delivered)
            self.store.put_attempt(queue, attempt_id, Attempt(receipts, now + ATTEMPT_WINDOW))
        return [render_message(self, queue, r, view) for r in delivered]

    def _over_limit(self, queue: QueueRecord, now: float, short_poll: bool) -> bool:
        """The in-flight quota (≈120,000): a standard short poll over it is OverLimit, anything else just gets
        nothing. Counting in-flight messages costs a scan, so a queue is checked at most once a second; the
        quota is approximate in SQS too."""
        if self.max_in_flight is None:
            return False
        checked = self._in_flight_checks.get(queue.id)
        if checked is None or now - checked[0] >= 1.0:
            checked = (now, self.store.in_flight_reaches(queue, now, self.max_in_flight))
            self._in_flight_checks[queue.id] = checked
        if checked[1] and short_poll and not queue.fifo:
            raise SqsError(
                "OverLimit",
                f"Too many messages in flight: the queue {queue.name} has reached the limit of "
                f"{self.max_in_flight} in-flight messages. Delete or release messages to receive more.",
            )
        return checked[1]

    def _settle(
        self, queue: QueueRecord, selection: rules.Selection, dead_letter: QueueRecord | None, now: float
    ) -> None:
        """Drop expired messages and move exhausted ones to the dead-letter queue."""
        if selection.expired:
            self.store.remove(queue, [r.seq for r in selection.expired])
        if selection.dead and dead_letter is not None:
            for record in selection.dead:
                rules.dead_letter(record, now, self.arn(queue), dead_letter.fifo)
            self.store.move(queue, dead_letter, selection.dead, now)
            if self.waiters.parked(dead_letter.id):
                self.waiters.wake(dead_letter.id, len(selection.dead))

    def _dead_letter_queue(self, queue: QueueRecord) -> QueueRecord | None:
        policy = queue.attributes.redrive_policy
        if policy is None:
            return None
        target = self.queue_by_arn(policy.dead_letter_target_arn)
        return target if target is not None and target.fifo == queue.fifo and target.id != queue.id else None

    def _replay_attempt(
        self, queue: QueueRecord, attempt_id: str, timeout: int, now: float
    ) -> list[MessageRecord] | None:
        """A retried FIFO receive returns the same messages and handles, with visibility reset, provided none
        of them was deleted or had its visibility changed meanwhile."""
        attempt = self.store.get_attempt(queue, attempt_id, now)
        if attempt is None or not attempt.receipts:
            return None
        records = [self.store.get(queue, seq) for seq, _, _ in attempt.receipts]
        if not all(
            r is not None
            and rules.holds_receipt(r, token)
            and r.visible_at == until  # its visibility was not changed since (ChangeMessageVisibility)
            and rules.in_flight(r, now)
            and r.received_at is not None
            and now + timeout - r.received_at <= MAX_VISIBILITY  # a replay stays within the 12-hour budget
            for r, (_, token, until) in zip(records, attempt.receipts, strict=True)
        ):
            return None
        replay = [r for r in records if r is not None]
        for record in replay:
            record.visible_at = now + timeout
        self.store.update(queue, replay, now)
        receipts = tuple((r.seq, r.receipt_token, r.visible_at) for r in replay)  # so a further retry replays too
        self.store.put_attempt(queue, attempt_id, Attempt(receipts, attempt.expires_at))
        return replay

    # -- delete -----------------------------------------------------------------------------------------
    # SQS deletes with any receipt handle it issued, even a stale one and even while another consumer holds the
    # message (SQS_SEMANTICS §2); only a handle it never issued is refused.
    async def delete_message(self, queue_url: str, receipt_handle: str) -> None:
        with self.store.transaction():
            queue = self.queue(queue_url)
            self.store.remove(queue, [self._receipt(queue, receipt_handle).seq])
        if queue.fifo:
            self.waiters.wake(queue.id, 1)

    async def delete_message_batch(self, queue_url: str, entries: Sequence[DeleteEntry]) -> BatchResult[str]:
        entries = check.entries("Entries", entries, DeleteEntry)
        check.batch_ids([e.id for e in entries], "DeleteMessageBatchRequestEntry")
        ok: list[str] = []
        failed: list[BatchFailure] = []
        seqs: list[int] = []
        with self.store.transaction():
            queue = self.queue(queue_url)
            for entry in entries:
                try:
                    receipt = self._receipt(queue, entry.receipt_handle)
                except SqsError as error:
                    failed.append(BatchFailure(entry.id, error))
                else:
                    seqs.append(receipt.seq)
                    ok.append(entry.id)
            self.store.remove(queue, seqs)
        if queue.fifo and ok:
            self.waiters.wake(queue.id, len(ok))
        return BatchResult(ok, failed)

    def _receipt(self, queue: QueueRecord, handle: str) -> Receipt:
        if not isinstance(handle, str) or not handle:
            raise SqsError.missing("ReceiptHandle")
        receipt = self.codec.decode(handle)
        if receipt.queue_id != queue.id:
            raise SqsError.invalid_receipt(handle)
        return receipt

    # -- visibility -------------------------------------------------------------------------------------
    async def change_message_visibility(self, queue_url: str, receipt_handle: str, visibility_timeout: int) -> None:
        check.int_param("VisibilityTimeout", visibility_timeout, 0, MAX_VISIBILITY)
        with self.store.transaction():
            queue = self.queue(queue_url)
            self._change_visibility(queue, receipt_handle, visibility_timeout)
        self.waiters.wake(queue.id, 1)

    async def change_message_visibility_batch(
        self, queue_url: str, entries: Sequence[VisibilityEntry]
    ) -> BatchResult[str]:
        entries = check.entries("Entries", entries, VisibilityEntry)
        check.batch_ids([e.id for e in entries], "ChangeMessageVisibilityBatchRequestEntry")
        ok: list[str] = []
        failed: list[BatchFailure] = []
        with self.store.transaction():
            queue = self.queue(queue_url)
            for entry in entries:
                try:
                    check.int_param("VisibilityTimeout", entry.visibility_timeout, 0, MAX_VISIBILITY)
                    self._change_visibility(queue, entry.receipt_handle, entry.visibility_timeout)
                except SqsError as error:
                    failed.append(BatchFailure(entry.id, error))
                else:
                    ok.append(entry.id)
        if ok:
            self.waiters.wake(queue.id, 1)
        return BatchResult(ok, failed)

    def _change_visibility(self, queue: QueueRecord, handle: str, timeout: int) -> None:
        receipt = self._receipt(queue, handle)
        record = self.store.get(queue, receipt.seq)
        now = self.clock.now()
        rules.check_visibility_change(record, receipt.token, handle, timeout, now)
        assert record is not None
        record.visible_at = now + timeout
        self.store.update(queue, [record], now)
