"""Sending messages: validation of each message against its queue, FIFO deduplication, and the wake-up of
receivers parked on the queue."""

from __future__ import annotations

from collections.abc import Sequence

from consumerkit.engine import semantics as rules
from consumerkit.engine import validation as check
from consumerkit.engine.checksums import md5_of_attributes, md5_of_body
from consumerkit.engine.context import EngineContext
from consumerkit.engine.errors import SqsError
from consumerkit.engine.ids import message_id
from consumerkit.engine.model import (
    DEDUP_WINDOW,
    MAX_DELAY,
    BatchFailure,
    BatchResult,
    MessageAttributeValue,
    MessageRecord,
    QueueRecord,
    SendEntry,
    SendResult,
)
from consumerkit.engine.store.base import DedupEntry


class SendOps(EngineContext):
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
        self._notify_sent(queue, [record] if record.seq else [])
        return result

    async def send_message_batch(self, queue_url: str, entries: Sequence[SendEntry]) -> BatchResult[SendResult]:
        entries = check.entries("Entries", entries, SendEntry)
        check.batch_ids([e.id for e in entries], "SendMessageBatchRequestEntry")
        ok: list[tuple[SendEntry, MessageRecord]] = []
        failed: list[BatchFailure] = []
        with self.store.transaction():
            queue = self.queue(queue_url)
            total = 0
            for entry in entries:
                # surrogatepass: an entry with a lone surrogate is refused on its own below, not here
                body_size = len(entry.body.encode("utf-8", "surrogatepass")) if isinstance(entry.body, str) else 0
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
        self._notify_sent(queue, [r for _, r in ok if r.seq])  # a FIFO duplicate was never stored
        return BatchResult(results, failed)

    def _prepare(self, queue: QueueRecord, entry: SendEntry) -> tuple[MessageRecord, int]:
        """Validate one message against the queue and build its record (seq assigned at enqueue); also
        return the size of its attributes, which count toward the message and batch limits."""
        text = check.body(entry.body)
        attributes = entry.attributes or None
        attributes_size = check.message_attributes(attributes) if attributes else 0
        check.message_size(text, attributes_size, queue.attributes.maximum_message_size)
        check.trace_header(entry.trace_header)
        delay = _delay(queue, entry)
        _check_grouping(queue, entry)
        now = self.clock.now()
        record = MessageRecord(
            0,
            message_id(),
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
        originals, first = self._duplicates(queue, [record for _, record in items], now)
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
            sent_id, sequence = source.message_id, source.sequence_number
            if isinstance(original, DedupEntry):
                sent_id, sequence = original.message_id, original.sequence_number
            results.append(
                SendResult(
                    sent_id,
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

    def _duplicates(
        self, queue: QueueRecord, records: Sequence[MessageRecord], now: float
    ) -> tuple[dict[int, DedupEntry | int], dict[str, int]]:
        """FIFO deduplication: which records repeat an earlier send (its DedupEntry) or an earlier entry of
        this batch (its index), and the deduplication key of each first occurrence."""
        originals: dict[int, DedupEntry | int] = {}
        first: dict[str, int] = {}
        if not queue.fifo:
            return originals, first
        for index, record in enumerate(records):
            assert record.group_id is not None
            record.deduplication_id = rules.deduplication_id(queue.attributes, record.body, record.deduplication_id)
            key = rules.dedup_key(queue.attributes, record.body, record.deduplication_id, record.group_id)
            seen = self.store.get_dedup(queue, key, now)
            if seen is not None or key in first:
                originals[index] = seen if seen is not None else first[key]
            else:
                first[key] = index
        return originals, first

    def _notify_sent(self, queue: QueueRecord, records: Sequence[MessageRecord]) -> None:
        if not records or not self.waiters.parked(queue.id):
            return
        now = self.clock.now()
        ready = sum(1 for r in records if r.visible_at <= now)
        # a delayed message needs one parked receiver to re-arm its timer for the earlier visibility
        self.waiters.wake(queue.id, ready + (ready < len(records)))


def _delay(queue: QueueRecord, entry: SendEntry) -> int:
    """The message's own DelaySeconds, else the queue's. FIFO queues take only the queue's; an explicit 0 there
    is accepted as "no delay of its own", as SQS does."""
    if entry.delay_seconds is None or (queue.fifo and entry.delay_seconds == 0 and type(entry.delay_seconds) is int):
        return queue.attributes.delay_seconds
    if queue.fifo:
        raise SqsError.not_for_queue_type("DelaySeconds", entry.delay_seconds)
    return check.int_param("DelaySeconds", entry.delay_seconds, 0, MAX_DELAY)


def _check_grouping(queue: QueueRecord, entry: SendEntry) -> None:
    """FIFO needs a MessageGroupId; a standard queue takes one (fair queues) but no deduplication id."""
    if queue.fifo:
        if entry.group_id is None:
            raise SqsError.missing("MessageGroupId")
        check.fifo_token(entry.group_id)
        if entry.deduplication_id is None and not queue.attributes.content_based_deduplication:
            rules.deduplication_id(queue.attributes, entry.body, None)  # raises SQS's error, per entry
    elif entry.deduplication_id is not None:
        raise SqsError.not_for_queue_type("MessageDeduplicationId", entry.deduplication_id)
    elif entry.group_id is not None:
        check.fifo_token(entry.group_id)
    if entry.deduplication_id is not None:
        check.fifo_token(entry.deduplication_id, "MessageDeduplicationId")


def _md5_of_trace(trace: str | None) -> str | None:
    if trace is None:
        return None
    return md5_of_attributes({"AWSTraceHeader": MessageAttributeValue("String", trace)})
