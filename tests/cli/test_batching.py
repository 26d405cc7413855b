"""SendMessageBatch requests cut at 10 entries or 1 MiB, whichever comes first, attributes counted."""

from __future__ import annotations

from consumerkit.backends import MessageAttribute, OutgoingMessage
from consumerkit.cli.batching import send_batches, wire_size
from consumerkit.engine.model import MAX_BATCH_BYTES


def sizes(messages: list[OutgoingMessage]) -> list[int]:
    return [len(batch) for batch in send_batches(messages)]


def test_batches_hold_ten_entries_or_a_mebibyte_whichever_is_first() -> None:
    assert sizes([OutgoingMessage("x", str(i)) for i in range(23)]) == [10, 10, 3]
    assert sizes([OutgoingMessage("x" * 200_000, str(i)) for i in range(6)]) == [5, 1]
    exactly = MAX_BATCH_BYTES // 4
    assert sizes([OutgoingMessage("x" * exactly, str(i)) for i in range(5)]) == [4, 1]  # 4 fill it to the byte
    assert sizes([]) == []


def test_attributes_count_towards_the_limit() -> None:
    tag = {"origin": MessageAttribute("String", "é" * 10)}
    assert wire_size(OutgoingMessage("body", message_attributes=tag)) == 4 + len("origin") + len("String") + 20
    blob = {"b": MessageAttribute("Binary", binary_value=b"\0" * 100)}
    assert wire_size(OutgoingMessage("", message_attributes=blob)) == 1 + 6 + 100
    near = MAX_BATCH_BYTES // 2 - 10
    assert sizes([OutgoingMessage("x" * near, str(i), message_attributes=tag) for i in range(2)]) == [1, 1]
