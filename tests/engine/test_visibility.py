"""ChangeMessageVisibility and its batch: counted from the call, not remembered, capped at 12 hours in total."""

from __future__ import annotations

import pytest

from consumerkit.engine import Engine, ManualClock, ReceivedMessage, SqsError, VisibilityEntry
from tests.engine.expect import refused

T0 = 1_700_000_000.0


async def one(engine: Engine, queue: str, **options: object) -> ReceivedMessage:
    [got] = await engine.receive_message(queue, attribute_names=["ApproximateReceiveCount"], **options)  # type: ignore[arg-type]
    return got


async def nothing(engine: Engine, queue: str) -> bool:
    return await engine.receive_message(queue) == []


def expired_message(handle: str) -> str:
    return f"Value {handle} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired."


async def test_extends_from_the_time_of_the_call(engine: Engine, clock: ManualClock, queue: str) -> None:
    await engine.send_message(queue, "x")
    held = await one(engine, queue)
    clock.advance(10)
    await engine.change_message_visibility(queue, held.receipt_handle, 60)
    clock.advance(59)
    assert await nothing(engine, queue)
    clock.advance(1)
    assert (await one(engine, queue)).attributes["ApproximateReceiveCount"] == "2"


async def test_shortens_from_the_time_of_the_call(engine: Engine, clock: ManualClock, queue: str) -> None:
    await engine.send_message(queue, "x")
    held = await one(engine, queue, visibility_timeout=100)
    clock.advance(10)
    await engine.change_message_visibility(queue, held.receipt_handle, 5)
    clock.advance(4)
    assert await nothing(engine, queue)
    clock.advance(1)
    assert (await one(engine, queue)).message_id == held.message_id


async def test_zero_releases_the_message_at_once(engine: Engine, queue: str) -> None:
    await engine.send_message(queue, "x")
    held = await one(engine, queue)
    await engine.change_message_visibility(queue, held.receipt_handle, 0)
    again = await one(engine, queue)
    assert again.message_id == held.message_id
    assert again.attributes["ApproximateReceiveCount"] == "2"
    assert again.receipt_handle != held.receipt_handle


async def test_change_is_not_remembered_by_the_next_receive(engine: Engine, clock: ManualClock, queue: str) -> None:
    await engine.send_message(queue, "x")
    held = await one(engine, queue)
    await engine.change_message_visibility(queue, held.receipt_handle, 300)
    clock.advance(300)
    await one(engine, queue)  # the queue default (30 s) applies again
    clock.advance(30)
    assert (await one(engine, queue)).attributes["ApproximateReceiveCount"] == "3"


async def test_can_be_changed_repeatedly_with_the_same_handle(engine: Engine, clock: ManualClock, queue: str) -> None:
    await engine.send_message(queue, "x")
    held = await one(engine, queue)
    for _ in range(5):
        clock.advance(20)
        await engine.change_message_visibility(queue, held.receipt_handle, 30)
    clock.advance(29)
    assert await nothing(engine, queue)
    clock.advance(1)
    assert not await nothing(engine, queue)


@pytest.mark.parametrize("seconds", [-1, 43_201])
async def test_timeout_out_of_range(engine: Engine, queue: str, seconds: int) -> None:
    await engine.send_message(queue, "x")
    held = await one(engine, queue)
    error = await refused(
        engine.change_message_visibility(queue, held.receipt_handle, seconds), "InvalidParameterValueException"
    )
    assert error.code == "InvalidParameterValue"
    assert error.message.startswith(f"Value {seconds} for parameter VisibilityTimeout is invalid.")


# -- the 12-hour total ----------------------------------------------------------------------------------------


async def test_twelve_hours_at_the_receive_is_allowed(engine: Engine, clock: ManualClock, queue: str) -> None:
    await engine.send_message(queue, "x")
    held = await one(engine, queue)
    await engine.change_message_visibility(queue, held.receipt_handle, 43_200)
    clock.advance(43_199)
    assert await nothing(engine, queue)
    clock.advance(1)
    assert not await nothing(engine, queue)


async def test_extending_past_twelve_hours_from_the_receive_is_refused(
    engine: Engine, clock: ManualClock, queue: str
) -> None:
    await engine.send_message(queue, "x")
    held = await one(engine, queue)
    await engine.change_message_visibility(queue, held.receipt_handle, 43_200)
    clock.advance(100)
    error = await refused(
        engine.change_message_visibility(queue, held.receipt_handle, 43_200), "InvalidParameterValueException"
    )
    assert error.code == "InvalidParameterValue"
    assert error.message == (
        "Value 43200 for parameter VisibilityTimeout is invalid. "
        "Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds]"
    )
    await engine.change_message_visibility(queue, held.receipt_handle, 43_100)
    clock.advance(43_099)
    assert await nothing(engine, queue)
    clock.advance(1)
    assert not await nothing(engine, queue)


async def test_refused_extension_leaves_visibility_unchanged(engine: Engine, clock: ManualClock, queue: str) -> None:
    await engine.send_message(queue, "x")
    held = await one(engine, queue)  # visible again at T0 + 30
    clock.advance(10)
    await refused(
        engine.change_message_visibility(queue, held.receipt_handle, 43_200), "InvalidParameterValueException"
    )
    clock.advance(20)
    assert not await nothing(engine, queue)


async def test_the_budget_restarts_with_each_receive(engine: Engine, clock: ManualClock, queue: str) -> None:
    await engine.send_message(queue, "x")
    await one(engine, queue, visibility_timeout=100)
    clock.advance(100)
    held = await one(engine, queue)
    await engine.change_message_visibility(queue, held.receipt_handle, 43_200)


# -- handles ---------------------------------------------------------------------------------------------------


async def test_stale_handle_has_expired(engine: Engine, clock: ManualClock, queue: str) -> None:
    await engine.send_message(queue, "x")
    old = await one(engine, queue, visibility_timeout=10)
    clock.advance(10)
    new = await one(engine, queue)
    error = await refused(
        engine.change_message_visibility(queue, old.receipt_handle, 60), "InvalidParameterValueException"
    )
    assert error.message == expired_message(old.receipt_handle)
    await engine.change_message_visibility(queue, new.receipt_handle, 0)
    assert not await nothing(engine, queue)


async def test_handle_past_its_visibility_has_expired(engine: Engine, clock: ManualClock, queue: str) -> None:
    await engine.send_message(queue, "x")
    held = await one(engine, queue, visibility_timeout=10)
    clock.advance(10)
    error = await refused(
        engine.change_message_visibility(queue, held.receipt_handle, 60), "InvalidParameterValueException"
    )
    assert error.code == "InvalidParameterValue"
    assert error.message == expired_message(held.receipt_handle)


async def test_handle_of_a_deleted_message_is_refused(engine: Engine, queue: str) -> None:
    await engine.send_message(queue, "x")
    held = await one(engine, queue)
    await engine.delete_message(queue, held.receipt_handle)
    with pytest.raises(SqsError):
        await engine.change_message_visibility(queue, held.receipt_handle, 60)


@pytest.mark.parametrize("handle", ["garbage", "AQEB" + "A" * 100, "not base64 !!"])
async def test_garbage_handle_is_invalid(engine: Engine, queue: str, handle: str) -> None:
    error = await refused(engine.change_message_visibility(queue, handle, 60), "ReceiptHandleIsInvalid")
    assert error.code == "ReceiptHandleIsInvalid"
    assert handle in error.message


async def test_handle_from_another_queue_is_invalid(engine: Engine, queue: str) -> None:
    other = await engine.create_queue("other")
    await engine.send_message(other, "x")
    held = await one(engine, other)
    await refused(engine.change_message_visibility(queue, held.receipt_handle, 60), "ReceiptHandleIsInvalid")


# -- ChangeMessageVisibilityBatch ----------------------------------------------------------------------------------


async def test_batch_reports_each_entry(engine: Engine, clock: ManualClock, queue: str) -> None:
    for body in "abc":
        await engine.send_message(queue, body)
    b = (await engine.receive_message(queue, max_messages=3, visibility_timeout=10))[1]
    clock.advance(10)
    [b_again] = [m for m in await engine.receive_message(queue, max_messages=3) if m.message_id == b.message_id]
    result = await engine.change_message_visibility_batch(
        queue,
        [
            VisibilityEntry("ok", b_again.receipt_handle, 100),
            VisibilityEntry("stale", b.receipt_handle, 100),
            VisibilityEntry("garbage", "garbage", 100),
            VisibilityEntry("range", b_again.receipt_handle, 43_201),
        ],
    )
    assert result.successful == ["ok"]
    failures = {f.id: f for f in result.failed}
    assert set(failures) == {"stale", "garbage", "range"}
    assert failures["stale"].code == "InvalidParameterValue"
    assert failures["stale"].message == expired_message(b.receipt_handle)
    assert failures["garbage"].code == "ReceiptHandleIsInvalid"
    assert failures["range"].code == "InvalidParameterValue"
    assert all(f.sender_fault for f in result.failed)
    clock.advance(99)
    assert b.message_id not in {m.message_id for m in await engine.receive_message(queue, max_messages=10)}


async def test_batch_changes_every_entry(engine: Engine, clock: ManualClock, queue: str) -> None:
    for body in "abc":
        await engine.send_message(queue, body)
    held = await engine.receive_message(queue, max_messages=3)
    result = await engine.change_message_visibility_batch(
        queue, [VisibilityEntry(f"e{i}", m.receipt_handle, 0) for i, m in enumerate(held)]
    )
    assert sorted(result.successful) == ["e0", "e1", "e2"]
    assert result.failed == []
    assert len(await engine.receive_message(queue, max_messages=10)) == 3


async def test_empty_batch_is_refused(engine: Engine, queue: str) -> None:
    error = await refused(engine.change_message_visibility_batch(queue, []), "EmptyBatchRequest")
    assert error.code == "AWS.SimpleQueueService.EmptyBatchRequest"


async def test_eleven_entries_are_refused(engine: Engine, queue: str) -> None:
    entries = [VisibilityEntry(f"e{i}", "h", 0) for i in range(11)]
    error = await refused(engine.change_message_visibility_batch(queue, entries), "TooManyEntriesInBatchRequest")
    assert error.message == "Maximum number of entries per request are 10. You have sent 11."


async def test_duplicate_entry_ids_are_refused(engine: Engine, queue: str) -> None:
    entries = [VisibilityEntry("same", "h", 0), VisibilityEntry("same", "h", 0)]
    await refused(engine.change_message_visibility_batch(queue, entries), "BatchEntryIdsNotDistinct")


@pytest.mark.parametrize("entry_id", ["bad:id", "x" * 81])
async def test_malformed_entry_id_is_refused(engine: Engine, queue: str, entry_id: str) -> None:
    error = await refused(
        engine.change_message_visibility_batch(queue, [VisibilityEntry(entry_id, "h", 0)]), "InvalidBatchEntryId"
    )
    assert error.code == "AWS.SimpleQueueService.InvalidBatchEntryId"
