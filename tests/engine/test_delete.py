"""DeleteMessage and its batch. SQS accepts any handle it issued, even a stale one, and deletes the message even
while another consumer holds it (moto checked this against AWS; the API reference says a message "can be
deleted even if ... locked by another consumer"); only a handle never issued is ``ReceiptHandleIsInvalid``."""

from __future__ import annotations

import pytest

from consumerkit.engine import DeleteEntry, Engine, ManualClock, QueueStats
from tests.engine.expect import refused


async def stats(engine: Engine, queue: str) -> tuple[int, int, int]:
    s: QueueStats = await engine.queue_stats(queue)
    return s.visible, s.in_flight, s.delayed


async def test_delete_with_the_latest_handle(engine: Engine, clock: ManualClock, queue: str) -> None:
    await engine.send_message(queue, "x")
    [held] = await engine.receive_message(queue)
    await engine.delete_message(queue, held.receipt_handle)
    assert await stats(engine, queue) == (0, 0, 0)
    clock.advance(30)
    assert await engine.receive_message(queue) == []


async def test_delete_after_visibility_expired_but_before_another_receive(
    engine: Engine, clock: ManualClock, queue: str
) -> None:
    await engine.send_message(queue, "x")
    [held] = await engine.receive_message(queue, visibility_timeout=10)
    clock.advance(20)
    await engine.delete_message(queue, held.receipt_handle)
    assert await engine.receive_message(queue) == []


async def test_delete_only_removes_its_own_message(engine: Engine, queue: str) -> None:
    await engine.send_message(queue, "a")
    await engine.send_message(queue, "b")
    first, second = await engine.receive_message(queue, max_messages=2)
    await engine.delete_message(queue, first.receipt_handle)
    assert await stats(engine, queue) == (0, 1, 0)
    await engine.change_message_visibility(queue, second.receipt_handle, 0)
    assert [m.body for m in await engine.receive_message(queue)] == [second.body]


async def test_stale_handle_deletes_a_message_another_consumer_holds(
    engine: Engine, clock: ManualClock, queue: str
) -> None:
    await engine.send_message(queue, "x")
    [slow] = await engine.receive_message(queue, visibility_timeout=10)
    clock.advance(10)
    [fast] = await engine.receive_message(queue, visibility_timeout=10)
    await engine.delete_message(queue, slow.receipt_handle)
    assert await stats(engine, queue) == (0, 0, 0)
    await engine.delete_message(queue, fast.receipt_handle)  # already gone: still no error
    clock.advance(10)
    assert await engine.receive_message(queue) == []


async def test_stale_handle_deletes_a_message_visible_again(engine: Engine, clock: ManualClock, queue: str) -> None:
    await engine.send_message(queue, "x")
    [slow] = await engine.receive_message(queue, visibility_timeout=10)
    clock.advance(10)
    await engine.receive_message(queue, visibility_timeout=10)
    clock.advance(10)
    await engine.delete_message(queue, slow.receipt_handle)
    assert await stats(engine, queue) == (0, 0, 0)


async def test_deleting_twice_succeeds(engine: Engine, queue: str) -> None:
    await engine.send_message(queue, "x")
    [held] = await engine.receive_message(queue)
    await engine.delete_message(queue, held.receipt_handle)
    await engine.delete_message(queue, held.receipt_handle)
    assert await stats(engine, queue) == (0, 0, 0)


@pytest.mark.parametrize("handle", ["garbage", "AQEB" + "A" * 100, "not base64 !!", "ä"])
async def test_handle_never_issued_is_invalid(engine: Engine, queue: str, handle: str) -> None:
    error = await refused(engine.delete_message(queue, handle), "ReceiptHandleIsInvalid")
    assert error.code == "ReceiptHandleIsInvalid"
    assert handle in error.message


async def test_tampered_handle_is_invalid(engine: Engine, queue: str) -> None:
    await engine.send_message(queue, "x")
    [held] = await engine.receive_message(queue)
    handle = held.receipt_handle
    middle = len(handle) // 2
    tampered = handle[:middle] + ("7" if handle[middle] != "7" else "3") + handle[middle + 1 :]
    await refused(engine.delete_message(queue, tampered), "ReceiptHandleIsInvalid")
    assert await stats(engine, queue) == (0, 1, 0)


async def test_empty_handle_is_missing(engine: Engine, queue: str) -> None:
    error = await refused(engine.delete_message(queue, ""), "MissingRequiredParameterException")
    assert error.code == "MissingParameter"
    assert error.message == "The request must contain the parameter ReceiptHandle."


async def test_handle_from_another_queue_is_invalid(engine: Engine, queue: str) -> None:
    other = await engine.create_queue("other")
    await engine.send_message(other, "x")
    await engine.send_message(queue, "y")
    [held] = await engine.receive_message(other)
    await refused(engine.delete_message(queue, held.receipt_handle), "ReceiptHandleIsInvalid")
    assert await stats(engine, other) == (0, 1, 0)
    assert await stats(engine, queue) == (1, 0, 0)


async def test_recreated_queue_rejects_old_handles(engine: Engine, clock: ManualClock) -> None:
    url = await engine.create_queue("phoenix")
    await engine.send_message(url, "x")
    [held] = await engine.receive_message(url)
    await engine.delete_queue(url)
    clock.advance(60)
    again = await engine.create_queue("phoenix")
    assert again == url
    await engine.send_message(again, "y")
    await refused(engine.delete_message(again, held.receipt_handle), "ReceiptHandleIsInvalid")
    assert await stats(engine, again) == (1, 0, 0)


async def test_delete_on_a_missing_queue(engine: Engine) -> None:
    error = await refused(engine.delete_message("http://localhost:9324/000000000000/nope", "h"), "QueueDoesNotExist")
    assert error.code == "AWS.SimpleQueueService.NonExistentQueue"


# -- DeleteMessageBatch ---------------------------------------------------------------------------------------------


async def test_batch_deletes_every_entry(engine: Engine, queue: str) -> None:
    for body in "abc":
        await engine.send_message(queue, body)
    held = await engine.receive_message(queue, max_messages=3)
    result = await engine.delete_message_batch(
        queue, [DeleteEntry(f"e{i}", m.receipt_handle) for i, m in enumerate(held)]
    )
    assert sorted(result.successful) == ["e0", "e1", "e2"]
    assert result.failed == []
    assert await stats(engine, queue) == (0, 0, 0)


async def test_batch_reports_per_entry_failures(engine: Engine, clock: ManualClock, queue: str) -> None:
    await engine.send_message(queue, "a")
    [a] = await engine.receive_message(queue, visibility_timeout=100)
    await engine.send_message(queue, "b")
    [b] = await engine.receive_message(queue, visibility_timeout=10)
    clock.advance(10)
    [b_again] = await engine.receive_message(queue, max_messages=2)
    assert b_again.message_id == b.message_id
    result = await engine.delete_message_batch(
        queue,
        [
            DeleteEntry("ok", a.receipt_handle),
            DeleteEntry("garbage", "garbage"),
            DeleteEntry("stale", b.receipt_handle),
        ],
    )
    assert sorted(result.successful) == ["ok", "stale"]  # a stale handle succeeds and deletes
    [failure] = result.failed
    assert (failure.id, failure.code, failure.sender_fault) == ("garbage", "ReceiptHandleIsInvalid", True)
    assert await stats(engine, queue) == (0, 0, 0)
    await engine.delete_message(queue, b_again.receipt_handle)  # gone already: still no error


async def test_empty_batch_is_refused(engine: Engine, queue: str) -> None:
    error = await refused(engine.delete_message_batch(queue, []), "EmptyBatchRequest")
    assert error.code == "AWS.SimpleQueueService.EmptyBatchRequest"


async def test_eleven_entries_are_refused(engine: Engine, queue: str) -> None:
    entries = [DeleteEntry(f"e{i}", "h") for i in range(11)]
    error = await refused(engine.delete_message_batch(queue, entries), "TooManyEntriesInBatchRequest")
    assert error.message == "Maximum number of entries per request are 10. You have sent 11."


async def test_duplicate_entry_ids_are_refused(engine: Engine, queue: str) -> None:
    await engine.send_message(queue, "x")
    [held] = await engine.receive_message(queue)
    entries = [DeleteEntry("same", held.receipt_handle), DeleteEntry("same", held.receipt_handle)]
    await refused(engine.delete_message_batch(queue, entries), "BatchEntryIdsNotDistinct")
    assert await stats(engine, queue) == (0, 1, 0)


@pytest.mark.parametrize("entry_id", ["", "bad:id", "testLongId" * 10])
async def test_malformed_entry_id_is_refused(engine: Engine, queue: str, entry_id: str) -> None:
    error = await refused(engine.delete_message_batch(queue, [DeleteEntry(entry_id, "h")]), "InvalidBatchEntryId")
    assert error.message == (
        "A batch entry id can only contain alphanumeric characters, hyphens and underscores. "
        "It can be at most 80 letters long."
    )
