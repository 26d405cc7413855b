"""What a receiver sees of a stored message: the system attributes it asked for and the message attributes
its name filters select, with the MD5 of exactly the attributes returned (SDKs verify it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from consumerkit.engine.checksums import md5_of_attributes
from consumerkit.engine.model import MessageAttributeValue, MessageRecord, QueueRecord, ReceivedMessage
from consumerkit.engine.semantics import sequence_number

if TYPE_CHECKING:
    from consumerkit.engine.context import EngineContext


@dataclass(frozen=True, slots=True)
class ReceiveView:
    """The attribute names a ReceiveMessage asked for: system ones (``All`` or names) and message
    attribute filters (``All``, ``*``, ``.*``, ``prefix.*`` or exact names)."""

    system: frozenset[str]
    filters: tuple[str, ...]

    def wants(self, name: str) -> bool:
        return "All" in self.system or name in self.system

    def select(self, attributes: dict[str, MessageAttributeValue]) -> dict[str, MessageAttributeValue]:
        if not self.filters or not attributes:
            return {}
        if "All" in self.filters or ".*" in self.filters or "*" in self.filters:
            return attributes
        # As recorded against SQS: "Hel.*" selects every name starting with "Hel" (Hello, Help.Me).
        prefixes = tuple(f[:-2] for f in self.filters if f.endswith(".*"))
        exact = set(self.filters)
        return {k: v for k, v in attributes.items() if k in exact or (prefixes and k.startswith(prefixes))}


def _ms(seconds: float) -> str:
    return str(int(seconds * 1000))


def system_attributes(record: MessageRecord, view: ReceiveView, fifo: bool) -> dict[str, str]:
    if not view.system:
        return {}
    values: dict[str, str | None] = {
        "SenderId": record.sender_id,
        "SentTimestamp": _ms(record.sent_at),
        "ApproximateReceiveCount": str(record.receive_count),
        "ApproximateFirstReceiveTimestamp": _ms(record.first_received_at or record.sent_at),
        # From the message's place in its current queue, so a message moved in (DLQ, redrive) still reads in order.
        "SequenceNumber": sequence_number(record.seq) if record.group_id is not None and fifo else None,
        "MessageDeduplicationId": record.deduplication_id,
        "MessageGroupId": record.group_id,
        "AWSTraceHeader": record.trace_header,
        "DeadLetterQueueSourceArn": record.dead_letter_source_arn,
    }
    return {k: v for k, v in values.items() if v is not None and view.wants(k)}


def render_message(ctx: EngineContext, queue: QueueRecord, record: MessageRecord, view: ReceiveView) -> ReceivedMessage:
    selected = view.select(record.attributes) if record.attributes else {}
    if selected and len(selected) == len(record.attributes or ()):
        digest = record.md5_of_attributes
    else:
        digest = md5_of_attributes(selected) if selected else None
    return ReceivedMessage(
        record.message_id,
        ctx.codec.encode(queue.id, record.seq, record.receipt_token),
        record.body,
        record.md5_of_body,
        system_attributes(record, view, queue.fifo),
        selected,
        digest,
    )
