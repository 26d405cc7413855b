"""Sending, receiving, deleting and changing the visibility of messages.

Every operation validates its whole request first, then changes state inside one store transaction, then
wakes whichever long polls the change concerns. The rules themselves live in ``semantics.py``.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence

from consumerkit.engine import semantics as rules
from consumerkit.engine import validation as check
from consumerkit.engine.checksums import md5_of_attributes, md5_of_body
from consumerkit.engine.context import EngineContext
from consumerkit.engine.errors import SqsError
from consumerkit.engine.model import (
    ATTEMPT_WINDOW,
    DEDUP_WINDOW,
    FIFO_SCAN_LIMIT,
    MAX_DELAY,
    MAX_RECEIVE,
    MAX_VISIBILITY,
    MAX_WAIT_SECONDS,
    BatchFailure,
    BatchResult,
    DeleteEntry,
    MessageAttributeValue,
    MessageRecord,
    QueueRecord,
    ReceivedMessage,
    SendEntry,
    SendResult,
    VisibilityEntry,
)
from consumerkit.engine.receipts import Receipt
from consumerkit.engine.rendering import ReceiveView, render_message
from consumerkit.engine.store.base import Attempt, DedupEntry

# Receipt tokens only tell receives apart (handles are signed), so a fast PRNG is enough.
_token = random.getrandbits


class MessageOps(EngineContext):
    # -- send -------------------------------------------------------------------------------------------
    async def send_message(
        self,
        queue_url: str,
        body: str,
        *,
        delay_seconds: int | None = None,
        attributes: dict[str, MessageAttributeValue] | None = None,
        trace_header: str | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
    ) -> SendResult:
        entry = SendEntry(body, "", delay_seconds, attributes, trace_header, group_id, deduplication_id)
        with self.store.transaction():
            queue = self.queue(queue_url)
            record, _ = self._prepare(queue, entry)
            result = self._enqueue(queue, [(entry, record)])[0]
        self._notify_sent(queue, [record])
        return result

    async def send_message_batch(self, queue_url: str, entries: Sequence[SendEntry]) -> BatchResult[SendResult]:
        check.batch_ids([e.id for e in entries])
        ok: list[tuple[SendEntry, MessageRecord]] = []
        failed: list[BatchFailure] = []
        with self.store.transaction():
            queue = self.queue(queue_url)
            total = 0
            for entry in entries:
                body_size = len(entry.body.encode()) if isinstance(entry.body, str) else 0
                try:
                    record, attributes_size = self._prepare(queue, entry)
                except SqsError as error:
                    failed.append(BatchFailure(entry.id, error))
                    attributes_size = 0
                else:
                    ok.append((entry, record))
                total += body_size + attributes_size
            check.batch_size(total)
            results = self._enqueue(queue, ok)
        self._notify_sent(queue, [r for _, r in ok])
        return BatchResult(results, failed)

    def _prepare(self, queue: QueueRecord, entry: SendEntry) -> tuple[MessageRecord, int]:
        """Validate one message against the queue and build its record (seq assigned at enqueue); also
        return the size of its attributes, which count toward the message and batch limits."""
        text = check.body(entry.body)
        a = queue.attributes
        attributes = entry.attributes or None
        attributes_size = check.message_attributes(attributes) if attributes else 0
        check.message_size(text, attributes_size, a.maximum_message_size)
        check.trace_header(entry.trace_header)
        delay = a.delay_seconds
        if entry.delay_seconds is not None:
            if queue.fifo:
                raise SqsError.invalid_value(
                    "DelaySeconds",
                    entry.delay_seconds,
                    "The request include parameter that is not valid for this queue type.",
                )
            delay = check.int_param("DelaySeconds", entry.delay_seconds, 0, MAX_DELAY)
        if queue.fifo:
            if entry.group_id is None:
                raise SqsError.missing("MessageGroupId")
            check.group_id(entry.group_id)
        elif entry.deduplication_id is not None:
            raise SqsError.invalid_value(
                "MessageDeduplicationId",
                entry.deduplication_id,
                "The request include parameter that is not valid for this queue type.",
            )
        elif entry.group_id is not None:
            check.group_id(entry.group_id)
        if entry.deduplication_id is not None:
            check.group_id(entry.deduplication_id, "MessageDeduplicationId")
        now = self.clock.now()
        record = MessageRecord(
            0,
            _message_id(),
            text,
            md5_of_body(text),
            now,
            now,
            now + delay,
            attributes,
            md5_of_attributes(attributes) if attributes else None,
            entry.trace_header,
            _md5_of_trace(entry.trace_header),
            group_id=entry.group_id,
            deduplication_id=entry.deduplication_id,
            sender_id=self.account_id,
        )
        return record, attributes_size

    def _enqueue(self, queue: QueueRecord, items: Sequence[tuple[SendEntry, MessageRecord]]) -> list[SendResult]:
        """Store new messages; on FIFO queues a duplicate within 5 minutes returns the original instead."""
        now = self.clock.now()
        originals: dict[int, DedupEntry | int] = {}  # duplicate -> earlier send, or the first copy in this batch
        first: dict[str, int] = {}
        if queue.fifo:
            for index, (_, record) in enumerate(items):
                assert record.group_id is not None
                key = rules.dedup_key(queue.attributes, record.body, record.deduplication_id, record.group_id)
                record.deduplication_id = record.deduplication_id or key.rsplit("\x00", 1)[-1]
                seen = self.store.get_dedup(queue, key, now)
                if seen is not None or key in first:
                    originals[index] = seen if seen is not None else first[key]
                else:
                    first[key] = index
        seqs = iter(self.store.next_seqs(len(items) - len(originals)))
        fresh = [record for index, (_, record) in enumerate(items) if index not in originals]
        for record in fresh:
            record.seq = next(seqs)
            if queue.fifo:
                record.sequence_number = rules.sequence_number(record.seq)
        results = []
        for index, (entry, record) in enumerate(items):
            original = originals.get(index)
            source = items[original][1] if isinstance(original, int) else record
            message_id, sequence = source.message_id, source.sequence_number
            if isinstance(original, DedupEntry):
                message_id, sequence = original.message_id, original.sequence_number
            results.append(
                SendResult(
                    message_id,
                    record.md5_of_body,
                    record.md5_of_attributes,
                    record.md5_of_system_attributes,
                    sequence,
                    entry.id,
                )
            )
        for key, index in first.items():
            record = items[index][1]
            seen_entry = DedupEntry(record.message_id, record.sequence_number or "", now + DEDUP_WINDOW)
            self.store.put_dedup(queue, key, seen_entry)
        self.store.insert(queue, fresh, now)
        return results

    def _notify_sent(self, queue: QueueRecord, records: Sequence[MessageRecord]) -> None:
        if not records or not self.waiters.parked(queue.id):
            return
        now = self.clock.now()
        ready = sum(1 for r in records if r.visible_at <= now)
        # a delayed message needs one parked receiver to re-arm its timer for the earlier visibility
        self.waiters.wake(queue.id, ready + (ready < len(records)))

    # -- receive ----------------------------------------------------------------------------------------
    async def receive_message(
        self,
        queue_url: str,
        *,
        max_messages: int = 1,
        wait_time_seconds: int | None = None,
        visibility_timeout: int | None = None,
        attribute_names: Sequence[str] = (),
        message_attribute_names: Sequence[str] = (),
        attempt_id: str | None = None,
    ) -> list[ReceivedMessage]:
        """Receive up to ``max_messages``; with a wait, park until a message is sent or becomes visible."""
        check.int_param("MaxNumberOfMessages", max_messages, 1, MAX_RECEIVE)
        if wait_time_seconds is not None:
            check.int_param("WaitTimeSeconds", wait_time_seconds, 0, MAX_WAIT_SECONDS)
        if visibility_timeout is not None:
            check.int_param("VisibilityTimeout", visibility_timeout, 0, MAX_VISIBILITY)
        if attempt_id is not None:
            check.group_id(attempt_id, "ReceiveRequestAttemptId")
        view = ReceiveView(check.system_attribute_names(attribute_names), tuple(message_attribute_names))
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
        wake_at = min((deadline, *(c for c in changes if c is not None)))
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
        if self._over_limit(queue, now):
            if short_poll and not queue.fifo:  # SQS: OverLimit on a standard short poll; otherwise just nothing
                raise SqsError(
                    "OverLimit",
                    f"Too many messages in flight: the queue {queue.name} has reached the limit of "
                    f"{self.max_in_flight} in-flight messages. Delete or release messages to receive more.",
                )
            return []
        timeout = queue.attributes.visibility_timeout if visibility_timeout is None else visibility_timeout
        if queue.fifo and attempt_id is not None:
            replay = self._replay_attempt(queue, attempt_id, timeout, now)
            if replay is not None:
                return [render_message(self, queue, r, view) for r in replay]
        dead_letter = self._dead_letter_queue(queue)
        delivered: list[MessageRecord] = []
        while len(delivered) < limit:
            if queue.fifo:
                scan = self.store.scan(queue, FIFO_SCAN_LIMIT)
                selection = rules.select_fifo(scan, queue.attributes, now, limit, dead_letter is not None)
            else:
                selection = rules.Selection()
                taken = self.store.take_ready(queue, now, limit - len(delivered))
                # With VisibilityTimeout=0 a message just delivered is visible again: never twice in one receive.
                done = {d.seq for d in delivered}
                again = [r for r in taken if r.seq in done]
                if again:
                    self.store.update(queue, again, now)
                for record in taken:
                    if record.seq not in done:
                        selection.sort(record, queue.attributes, now, dead_letter is not None)
            self._settle(queue, selection, dead_letter, now)
            for record in selection.deliver:
                rules.receive(record, now, timeout, _token(63) + 1)
            self.store.update(queue, selection.deliver, now)
            delivered += selection.deliver
            if queue.fifo or not (selection.expired or selection.dead):
                break
        if queue.fifo and attempt_id is not None:
            receipts = tuple((r.seq, r.receipt_token) for r in delivered)
            self.store.put_attempt(queue, attempt_id, Attempt(receipts, now + ATTEMPT_WINDOW))
        return [render_message(self, queue, r, view) for r in delivered]

    def _over_limit(self, queue: QueueRecord, now: float) -> bool:
        """The in-flight quota (≈120,000). Counting in-flight messages costs a scan, so a queue is checked at
        most once a second; the quota is approximate in SQS too."""
        if self.max_in_flight is None:
            return False
        checked = self._in_flight_checks.get(queue.id)
        if checked is None or now - checked[0] >= 1.0:
            checked = (now, self.store.in_flight_reaches(queue, now, self.max_in_flight))
            self._in_flight_checks[queue.id] = checked
        return checked[1]

    def _settle(
        self, queue: QueueRecord, selection: rules.Selection, dead_letter: QueueRecord | None, now: float
    ) -> None:
        """Drop expired messages and move exhausted ones to the dead-letter queue."""
        if selection.expired:
            self.store.remove(queue, [r.seq for r in selection.expired])
        if selection.dead and dead_letter is not None:
            for record in selection.dead:
                record.dead_letter_source_arn = self.arn(queue)
                record.visible_at = record.moved_at = now
                if dead_letter.fifo:  # FIFO resets the enqueue time on the move; standard keeps it
                    record.enqueued_at = now
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
        if attempt is None:
            return None
        records = [self.store.get(queue, seq) for seq, _ in attempt.receipts]
        if not all(
            r is not None and rules.holds_receipt(r, token) and rules.in_flight(r, now) and r.received_at is not None
            for r, (_, token) in zip(records, attempt.receipts, strict=True)
        ):
            return None
        replay = [r for r in records if r is not None]
        for record in replay:
            record.visible_at = now + timeout
        self.store.update(queue, replay, now)
        return replay

    # -- delete -----------------------------------------------------------------------------------------
    # Delete by the latest receipt. SQS accepts any handle it issued: a stale one succeeds but deletes nothing
    # once another receive has taken the message, so a slow consumer cannot delete another's work.
    async def delete_message(self, queue_url: str, receipt_handle: str) -> None:
        with self.store.transaction():
            queue = self.queue(queue_url)
            receipt = self._receipt(queue, receipt_handle)
            self.store.remove_received(queue, [(receipt.seq, receipt.token)])
        if queue.fifo:
            self.waiters.wake(queue.id, 1)

    async def delete_message_batch(self, queue_url: str, entries: Sequence[DeleteEntry]) -> BatchResult[str]:
        check.batch_ids([e.id for e in entries])
        ok: list[str] = []
        failed: list[BatchFailure] = []
        receipts: list[tuple[int, int]] = []
        with self.store.transaction():
            queue = self.queue(queue_url)
            for entry in entries:
                try:
                    receipt = self._receipt(queue, entry.receipt_handle)
                except SqsError as error:
                    failed.append(BatchFailure(entry.id, error))
                else:
                    receipts.append((receipt.seq, receipt.token))
                    ok.append(entry.id)
            self.store.remove_received(queue, receipts)
        if queue.fifo and ok:
            self.waiters.wake(queue.id, len(ok))
        return BatchResult(ok, failed)

    def _receipt(self, queue: QueueRecord, handle: str) -> Receipt:
        if not isinstance(handle, str) or not handle:
            raise SqsError.missing("ReceiptHandle")
        receipt = self.codec.decode(handle)
        if receipt.queue_id != queue.id:
            raise SqsError(
                "ReceiptHandleIsInvalid",
                f'The input receipt handle "{handle}" is not a valid receipt handle.',
            )
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
        check.batch_ids([e.id for e in entries])
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


def _message_id() -> str:
    """A random (version 4) UUID, formatted without the cost of building a ``uuid.UUID``."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def _md5_of_trace(trace: str | None) -> str | None:
    if trace is None:
        return None
    return md5_of_attributes({"AWSTraceHeader": MessageAttributeValue("String", trace)})
