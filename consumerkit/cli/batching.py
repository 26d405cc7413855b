"""SendMessageBatch requests within SQS's two limits: 10 entries, and 1 MiB of bodies and attributes in all.

``queue send`` and a manual ``dlq redrive`` both cut their messages with :func:`send_batches`, so a batch of
large messages becomes several requests instead of a ``BatchRequestTooLong`` that sends none of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from consumerkit.backends import OutgoingMessage
from consumerkit.engine.model import MAX_BATCH_BYTES, MAX_BATCH_ENTRIES


def send_batches(messages: Iterable[OutgoingMessage]) -> Iterator[list[OutgoingMessage]]:
    """Consecutive batches, each as full as the limits allow; a batch leaves as soon as the next message would
    not fit, so a stream is never held in memory."""
    batch: list[OutgoingMessage] = []
    size = 0
    for message in messages:
        length = wire_size(message)
        if batch and (len(batch) == MAX_BATCH_ENTRIES or size + length > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(message)
        size += length
    if batch:
        yield batch


def wire_size(message: OutgoingMessage) -> int:
    """What SQS counts of a message against the limit: its body and each attribute's name, type and value, in
    bytes (counting the name may overestimate by a few bytes, which only ever makes a batch smaller)."""
    size = len(message.body.encode())
    for name, attribute in (message.message_attributes or {}).items():
        value = attribute.binary_value or (attribute.string_value or "").encode()
        size += len(name.encode()) + len(attribute.data_type.encode()) + len(value)
    return size
