"""SQS's delivery rules as pure functions: no engine, no store, no clock — just records and a time."""

from __future__ import annotations

import hashlib
import itertools

import pytest

from consumerkit.engine import semantics as rules
from consumerkit.engine.errors import SqsError
from consumerkit.engine.model import MAX_VISIBILITY, MessageRecord, QueueAttributes, RedrivePolicy

T0 = 1_700_000_000.0
DLQ_ARN = "arn:aws:sqs:us-east-1:000000000000:dead"


def record(
    seq: int = 1,
    *,
    group: str | None = None,
    enqueued: float = T0,
    visible: float = T0,
    receives: int = 0,
    token: int = 0,
) -> MessageRecord:
    return MessageRecord(
        seq,
        f"id-{seq}",
        f"body-{seq}",
        "md5",
        enqueued,
        enqueued,
        visible,
        receive_count=receives,
        receipt_token=token,
        group_id=group,
    )


def received(
    seq: int = 1, *, at: float = T0, timeout: int = 30, token: int = 7, group: str | None = None
) -> MessageRecord:
    r = record(seq, group=group)
    rules.receive(r, at, timeout, token)
    return r


# -- retention --------------------------------------------------------------------------------------------


def test_message_within_retention_is_not_expired() -> None:
    assert not rules.expired(record(), QueueAttributes(message_retention_period=60), T0 + 59.999)


def test_message_past_retention_is_expired() -> None:
    assert rules.expired(record(), QueueAttributes(message_retention_period=60), T0 + 60.001)


def test_retention_counts_from_enqueue_not_from_last_receive() -> None:
    r = received(at=T0 + 50)
    assert rules.expired(r, QueueAttributes(message_retention_period=60), T0 + 61)


# -- redrive ----------------------------------------------------------------------------------------------


def test_redrive_not_due_without_policy() -> None:
    assert not rules.redrive_due(record(receives=1000), QueueAttributes())


@pytest.mark.parametrize(("receives", "due"), [(0, False), (2, False), (3, True), (4, True)])
def test_redrive_due_once_receive_count_reaches_max(receives: int, due: bool) -> None:
    """maxReceiveCount 3: three deliveries happen; the fourth would-be receive moves the message instead."""
    attributes = QueueAttributes(redrive_policy=RedrivePolicy(DLQ_ARN, 3))
    assert rules.redrive_due(record(receives=receives), attributes) is due


# -- receive and receipts -----------------------------------------------------------------------------------


def test_receive_counts_and_starts_visibility() -> None:
    r = received(at=T0 + 5, timeout=30, token=11)
    assert (r.receive_count, r.received_at, r.visible_at, r.receipt_token) == (1, T0 + 5, T0 + 35, 11)
    assert r.first_received_at == T0 + 5


def test_first_receive_time_is_fixed_at_the_first_receive() -> None:
    r = received(at=T0 + 5, timeout=0, token=1)
    rules.receive(r, T0 + 100, 30, 2)
    assert r.first_received_at == T0 + 5
    assert (r.receive_count, r.received_at, r.receipt_token) == (2, T0 + 100, 2)


def test_in_flight_only_while_received_and_invisible() -> None:
    assert not rules.in_flight(record(visible=T0 + 100), T0)  # delayed, never received
    r = received(at=T0, timeout=30)
    assert rules.in_flight(r, T0 + 29.999)
    assert not rules.in_flight(r, T0 + 30)


def test_only_the_latest_receipt_holds_the_message() -> None:
    r = received(token=1)
    rules.receive(r, T0 + 31, 30, 2)
    assert not rules.holds_receipt(r, 1)
    assert rules.holds_receipt(r, 2)
    assert not rules.holds_receipt(None, 2)


# -- ChangeMessageVisibility ------------------------------------------------------------------------------


def test_visibility_change_allowed_within_the_12_hour_total() -> None:
    r = received(at=T0, timeout=MAX_VISIBILITY, token=7)
    rules.check_visibility_change(r, 7, "h", MAX_VISIBILITY, T0)
    rules.check_visibility_change(r, 7, "h", MAX_VISIBILITY - 100, T0 + 100)


def test_visibility_change_beyond_12_hours_from_the_receive_is_refused() -> None:
    r = received(at=T0, timeout=MAX_VISIBILITY, token=7)
    with pytest.raises(SqsError) as info:
        rules.check_visibility_change(r, 7, "h", MAX_VISIBILITY, T0 + 100)
    assert info.value.shape == "InvalidParameterValueException"
    assert info.value.code == "InvalidParameterValue"
    assert info.value.message == (
        "Value 43200 for parameter VisibilityTimeout is invalid. "
        "Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds]"
    )


@pytest.mark.parametrize(
    "case",
    ["stale token", "visibility expired", "no such message", "never received"],
)
def test_visibility_change_on_a_handle_no_longer_current_has_expired(case: str) -> None:
    r: MessageRecord | None = received(at=T0, timeout=30, token=7)
    token, now = 7, T0 + 10
    if case == "stale token":
        token = 6
    elif case == "visibility expired":
        now = T0 + 30
    elif case == "no such message":
        r = None
    else:
        r = record()
    with pytest.raises(SqsError) as info:
        rules.check_visibility_change(r, token, "HANDLE", 60, now)
    assert info.value.code == "InvalidParameterValue"
    assert (
        info.value.message
        == "Value HANDLE for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired."
    )


# -- FIFO deduplication and sequence numbers ----------------------------------------------------------------


def test_explicit_deduplication_id_is_the_key() -> None:
    assert rules.dedup_key(QueueAttributes(fifo_queue=True), "body", "d-1", "g") == "d-1"


def test_explicit_id_wins_over_content_based_deduplication() -> None:
    attributes = QueueAttributes(fifo_queue=True, content_based_deduplication=True)
    assert rules.dedup_key(attributes, "body", "d-1", "g") == "d-1"


def test_content_based_key_is_sha256_of_the_body() -> None:
    attributes = QueueAttributes(fifo_queue=True, content_based_deduplication=True)
    assert rules.dedup_key(attributes, "héllo", None, "g") == hashlib.sha256("héllo".encode()).hexdigest()


def test_message_group_scope_separates_groups() -> None:
    attributes = QueueAttributes(fifo_queue=True, deduplication_scope="messageGroup")
    assert rules.dedup_key(attributes, "b", "d", "g1") != rules.dedup_key(attributes, "b", "d", "g2")
    assert rules.dedup_key(attributes, "b", "d", "g1") == rules.dedup_key(attributes, "other", "d", "g1")


def test_no_deduplication_id_without_content_based_deduplication_is_refused() -> None:
    with pytest.raises(SqsError) as info:
        rules.dedup_key(QueueAttributes(fifo_queue=True), "body", None, "g")
    assert info.value.code == "InvalidParameterValue"
    assert info.value.message == (
        "One or more parameters are invalid. Reason: The queue should either have ContentBasedDeduplication "
        "enabled or MessageDeduplicationId provided explicitly"
    )


def test_sequence_numbers_are_large_increasing_and_not_consecutive() -> None:
    numbers = [int(rules.sequence_number(seq)) for seq in (1, 2, 3, 1000)]
    assert all(len(str(n)) >= 20 for n in numbers)
    assert numbers == sorted(numbers)
    assert all(b - a > 1 for a, b in itertools.pairwise(numbers))


# -- FIFO selection ---------------------------------------------------------------------------------------


def bodies(records: list[MessageRecord]) -> list[str]:
    return [r.body for r in records]


def test_fifo_delivers_a_group_in_send_order() -> None:
    scan = [record(1, group="a"), record(2, group="a"), record(3, group="a")]
    selection = rules.select_fifo(scan, QueueAttributes(fifo_queue=True), T0, 10, False)
    assert bodies(selection.deliver) == ["body-1", "body-2", "body-3"]


def test_fifo_in_flight_message_blocks_its_group_but_not_others() -> None:
    scan = [received(1, group="a"), record(2, group="a"), record(3, group="b")]
    selection = rules.select_fifo(scan, QueueAttributes(fifo_queue=True), T0 + 1, 10, False)
    assert bodies(selection.deliver) == ["body-3"]


def test_fifo_delivers_a_group_up_to_its_first_invisible_message() -> None:
    scan = [record(1, group="a"), received(2, group="a"), record(3, group="a")]
    selection = rules.select_fifo(scan, QueueAttributes(fifo_queue=True), T0 + 1, 10, False)
    assert bodies(selection.deliver) == ["body-1"]


def test_fifo_selection_stops_at_the_limit() -> None:
    scan = [record(i, group="a") for i in range(1, 6)]
    selection = rules.select_fifo(scan, QueueAttributes(fifo_queue=True), T0, 2, False)
    assert bodies(selection.deliver) == ["body-1", "body-2"]


def test_fifo_expired_message_does_not_block_its_group() -> None:
    attributes = QueueAttributes(fifo_queue=True, message_retention_period=60)
    old = received(1, group="a", timeout=1000)
    scan = [old, record(2, group="a", enqueued=T0 + 50, visible=T0 + 50)]
    selection = rules.select_fifo(scan, attributes, T0 + 61, 10, False)
    assert selection.expired == [old]
    assert bodies(selection.deliver) == ["body-2"]


def test_fifo_dead_lettered_message_does_not_block_its_group() -> None:
    attributes = QueueAttributes(fifo_queue=True, redrive_policy=RedrivePolicy(DLQ_ARN, 1))
    exhausted = received(1, group="a", timeout=0)
    selection = rules.select_fifo([exhausted, record(2, group="a")], attributes, T0, 10, True)
    assert selection.dead == [exhausted]
    assert bodies(selection.deliver) == ["body-2"]


def test_without_a_usable_dlq_an_exhausted_message_is_delivered() -> None:
    attributes = QueueAttributes(redrive_policy=RedrivePolicy(DLQ_ARN, 1))
    selection = rules.Selection()
    assert selection.sort(received(timeout=0), attributes, T0, can_redrive=False)
    assert len(selection.deliver) == 1
    assert not selection.dead
