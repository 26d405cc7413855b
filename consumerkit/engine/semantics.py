"""SQS's delivery rules as pure functions over records and a time.

Nothing here reads a clock, touches a store or awaits: callers pass ``now`` and get back a decision or a
mutated record. That is what lets every rule be tested in microseconds and shared by both stores.
Sources for each rule are in SQS_SEMANTICS.md §2.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from consumerkit.engine.errors import SqsError
from consumerkit.engine.model import MAX_VISIBILITY, MessageRecord, QueueAttributes


def expired(record: MessageRecord, attributes: QueueAttributes, now: float) -> bool:
    """Retention: a message older than MessageRetentionPeriod is silently deleted."""
    return record.enqueued_at + attributes.message_retention_period <= now


def redrive_due(record: MessageRecord, attributes: QueueAttributes) -> bool:
    """A message whose receive count has reached maxReceiveCount moves to the DLQ instead of its next
    delivery (the (maxReceiveCount+1)-th receive never happens)."""
    policy = attributes.redrive_policy
    return policy is not None and record.receive_count >= policy.max_receive_count


def receive(record: MessageRecord, now: float, visibility_timeout: int, token: int) -> None:
    """Deliver: count the receive, start its visibility, and make ``token`` the only live receipt."""
    record.receive_count += 1
    if record.first_received_at is None:
        record.first_received_at = now
    record.received_at = now
    record.visible_at = now + visibility_timeout
    record.receipt_token = token


def dead_letter(record: MessageRecord, now: float, source_arn: str, fifo: bool) -> None:
    """Arrival in a dead-letter queue: visible at once, marked with its source. Retention keeps counting from
    the original send on a standard DLQ; on a FIFO one it starts afresh and the deduplication id becomes the
    message id (AWS's DLQ documentation). The oldest-age clock starts now either way."""
    record.dead_letter_source_arn = source_arn
    record.visible_at = record.moved_at = now
    if fifo:
        record.enqueued_at = now
        record.deduplication_id = record.message_id


def redrive(record: MessageRecord, now: float, new_id: str) -> None:
    """Arrival back from a dead-letter queue (a move task): "redriven messages are considered new messages",
    with a new message id and enqueue time (AWS's DLQ redrive documentation), so retention starts again;
    the receive count starts again too, or the first receive would send it straight back."""
    record.message_id = new_id
    record.receive_count = 0
    record.first_received_at = record.received_at = None
    record.dead_letter_source_arn = None
    record.visible_at = record.moved_at = record.enqueued_at = now


def in_flight(record: MessageRecord, now: float) -> bool:
    return record.receive_count > 0 and record.visible_at > now


def holds_receipt(record: MessageRecord | None, token: int) -> bool:
    """Whether ``token`` is the latest receipt of ``record``: only it may extend the message's visibility (any
    receipt SQS issued may delete it)."""
    return record is not None and record.receipt_token == token


def check_visibility_change(record: MessageRecord | None, token: int, handle: str, timeout: int, now: float) -> None:
    """ChangeMessageVisibility is allowed for the latest receipt of a message still in flight, within the
    12-hour total counted from that receive; SQS does not clamp, it refuses (SQS_SEMANTICS.md §1)."""
    if record is None or not holds_receipt(record, token) or not in_flight(record, now):
        raise SqsError.invalid_value("ReceiptHandle", handle, "The receipt handle has expired.")
    assert record.received_at is not None
    if now + timeout - record.received_at > MAX_VISIBILITY:
        raise SqsError.invalid_value(
            "VisibilityTimeout",
            timeout,
            f"Total VisibilityTimeout for the message is beyond the limit [{MAX_VISIBILITY} seconds]",
        )


def deduplication_id(attributes: QueueAttributes, body: str, dedup_id: str | None) -> str:
    """A FIFO message's MessageDeduplicationId: the explicit one, else SHA-256 of the body when content-based
    deduplication is on; with neither, SQS's error."""
    if dedup_id is not None:
        return dedup_id
    if not attributes.content_based_deduplication:
        raise SqsError.invalid_parameters(
            "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId "
            "provided explicitly"
        )
    return hashlib.sha256(body.encode()).hexdigest()


def dedup_key(attributes: QueueAttributes, body: str, dedup_id: str | None, group_id: str) -> str:
    """The FIFO deduplication key: the deduplication id, scoped to the group when DeduplicationScope is
    messageGroup."""
    dedup_id = deduplication_id(attributes, body, dedup_id)
    if attributes.deduplication_scope == "messageGroup":
        return f"{group_id}\x00{dedup_id}"
    return dedup_id


def sequence_number(seq: int) -> str:
    """FIFO SequenceNumber: large, increasing and non-consecutive, derived from the store-wide send order."""
    return str(18_000_000_000_000_000_000 + seq * 65_537)


@dataclass(slots=True)
class Selection:
    """What one receive decided: deliver these, drop the expired ones, dead-letter the exhausted ones."""

    deliver: list[MessageRecord] = field(default_factory=list)
    expired: list[MessageRecord] = field(default_factory=list)
    dead: list[MessageRecord] = field(default_factory=list)

    def sort(self, record: MessageRecord, attributes: QueueAttributes, now: float, can_redrive: bool) -> bool:
        """File ``record`` under one outcome; True if it is to be delivered."""
        if expired(record, attributes, now):
            self.expired.append(record)
        elif can_redrive and redrive_due(record, attributes):
            self.dead.append(record)
        else:
            self.deliver.append(record)
            return True
        return False


def select_fifo(
    records: Iterable[MessageRecord], attributes: QueueAttributes, now: float, limit: int, can_redrive: bool
) -> Selection:
    """FIFO delivery: scan in send order; within a group, messages are delivered up to the first one that
    is not visible (in flight or delayed), so a group with a message in flight blocks the messages behind it.
    An expired or dead-lettered message does not block its group."""
    selection = Selection()
    blocked: set[str | None] = set()
    for record in records:
        group = record.group_id
        if group in blocked:
            continue
        if record.visible_at > now and not expired(record, attributes, now):
            blocked.add(group)
            continue
        if selection.sort(record, attributes, now, can_redrive) and len(selection.deliver) >= limit:
            break
    return selection
