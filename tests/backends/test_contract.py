"""The Backend contract: one test per rule, on every backend (memory, SQLite, our server and moto's, the last two
through SqsBackend). What the runtime may rely on is what holds here on all four."""

from __future__ import annotations

import json
import time

import anyio
import pytest

from consumerkit.backends import (
    AdminBackend,
    Backend,
    EntryFailure,
    MessageAttribute,
    OutgoingMessage,
    QueueCounts,
    QueueMessage,
    Receipt,
    UnsupportedOperationError,
    VisibilityChange,
)
from consumerkit.errors import BackendError, QueueNotFoundError, TransientBackendError

# A bound for calls that should return at once; far below the 20 s long poll, so a poll that waits it out fails.
PROMPTLY = 10


async def receive(backend: Backend, url: str, count: int, *, visibility: int = 30) -> list[QueueMessage]:
    """Receive until ``count`` messages have come (SQS may hand out fewer than are visible in one call)."""
    got: list[QueueMessage] = []
    with anyio.fail_after(PROMPTLY):
        while len(got) < count:
            got += await backend.receive_messages(
                url, max_messages=min(10, count - len(got)), wait_seconds=1, visibility_timeout=visibility
            )
    return got


async def send(backend: Backend, url: str, *bodies: str) -> list[str]:
    ids, failed = await backend.send_message_batch(url, [OutgoingMessage(b, id=f"m{i}") for i, b in enumerate(bodies)])
    assert failed == []
    return ids


async def test_a_sent_batch_arrives_with_bodies_and_both_kinds_of_attributes(backend: Backend, queue_name: str) -> None:
    url = await backend.create_queue(queue_name)
    attributes = {
        "kind": MessageAttribute("String", string_value="ünïcode ✓"),
        "count": MessageAttribute("Number.int", string_value="42"),
        "raw": MessageAttribute("Binary", binary_value=b"\x00\xff" * 8),
    }
    before = time.time()
    ids, failed = await backend.send_message_batch(
        url, [OutgoingMessage("first 😀", id="a", message_attributes=attributes), OutgoingMessage("second", id="b")]
    )
    assert failed == []
    by_body = {m.body: m for m in await receive(backend, url, 2)}
    first, second = by_body["first 😀"], by_body["second"]
    assert [first.message_id, second.message_id] == ids  # the ids come back in the batch's order
    assert first.message_attributes == attributes
    assert second.message_attributes == {}
    assert first.receipt_handle != second.receipt_handle
    assert first.attributes["ApproximateReceiveCount"] == "1"
    assert before - 1 <= int(first.attributes["SentTimestamp"]) / 1000 <= time.time() + 1


async def test_refused_batch_entries_are_reported_and_the_rest_sent(backend: Backend, queue_name: str) -> None:
    url = await backend.create_queue(queue_name)
    ids, failed = await backend.send_message_batch(
        url, [OutgoingMessage("late", id="late", delay_seconds=901), OutgoingMessage("fine", id="fine")]
    )
    assert len(ids) == 1
    assert [(f.id, f.code, f.sender_fault) for f in failed] == [("late", "InvalidParameterValue", True)]
    assert "DelaySeconds" in failed[0].message
    assert [m.message_id for m in await receive(backend, url, 1)] == ids


async def test_receive_hands_out_at_most_max_messages(backend: Backend, queue_name: str) -> None:
    url = await backend.create_queue(queue_name)
    await send(backend, url, "a", "b", "c")
    got = await backend.receive_messages(url, max_messages=2, wait_seconds=1, visibility_timeout=30)
    assert len(got) == 2
    rest = await receive(backend, url, 1)
    assert {m.body for m in got + rest} == {"a", "b", "c"}


async def test_a_received_message_stays_hidden_until_its_visibility_is_changed(
    backend: Backend, queue_name: str
) -> None:
    url = await backend.create_queue(queue_name)
    await send(backend, url, "job")
    (first,) = await receive(backend, url, 1, visibility=30)
    assert await backend.receive_messages(url, max_messages=10, wait_seconds=0, visibility_timeout=30) == []

    assert await backend.change_visibility_batch(url, [VisibilityChange("r", first.receipt_handle, 0)]) == []
    (again,) = await receive(backend, url, 1)
    assert again.message_id == first.message_id
    assert again.attributes["ApproximateReceiveCount"] == "2"


async def test_delete_batch_removes_messages(backend: Backend, queue_name: str) -> None:
    url = await backend.create_queue(queue_name)
    await send(backend, url, "a", "b")
    got = await receive(backend, url, 2)
    assert (
        await backend.delete_message_batch(url, [Receipt(f"d{i}", m.receipt_handle) for i, m in enumerate(got)]) == []
    )
    counts = await backend.queue_counts(url)
    assert (counts.visible, counts.in_flight, counts.delayed) == (0, 0, 0)


async def test_a_never_issued_receipt_handle_fails_its_visibility_entry_alone(
    backend: Backend, queue_name: str
) -> None:
    url = await backend.create_queue(queue_name)
    await send(backend, url, "job")
    (message,) = await receive(backend, url, 1)
    changes = [VisibilityChange("real", message.receipt_handle, 60), VisibilityChange("bogus", "never-issued", 60)]
    (failure,) = await backend.change_visibility_batch(url, changes)
    # moto words the message differently ("The input receipt handle is invalid."); code and fault agree
    assert (failure.id, failure.code, failure.sender_fault) == ("bogus", "ReceiptHandleIsInvalid", True)


async def test_a_never_issued_receipt_handle_fails_its_delete_entry_alone(backend: Backend, queue_name: str) -> None:
    url = await backend.create_queue(queue_name)
    await send(backend, url, "job")
    (message,) = await receive(backend, url, 1)
    (failure,) = await backend.delete_message_batch(
        url, [Receipt("real", message.receipt_handle), Receipt("bogus", "x")]
    )
    assert failure == EntryFailure("bogus", "ReceiptHandleIsInvalid", failure.message, sender_fault=True)
    assert (await backend.queue_counts(url)).in_flight == 0


async def test_a_missing_queue_is_queue_not_found(backend: Backend, queue_name: str) -> None:
    with pytest.raises(QueueNotFoundError, match=r"GetQueueUrl: .*NonExistentQueue"):
        await backend.get_queue_url(queue_name)


async def test_calls_on_the_url_of_a_missing_queue_are_queue_not_found(backend: Backend, queue_name: str) -> None:
    existing = await backend.create_queue(queue_name)
    missing = existing + "-missing"
    with pytest.raises(QueueNotFoundError):
        await backend.receive_messages(missing, max_messages=1, wait_seconds=0, visibility_timeout=30)
    with pytest.raises(QueueNotFoundError):
        await backend.queue_counts(missing)


async def test_a_refusal_is_a_backend_error_naming_operation_and_code(backend: Backend) -> None:
    with pytest.raises(BackendError, match=r"CreateQueue: InvalidParameterValue: .*alphanumeric") as refused:
        await backend.create_queue("not a valid name!")
    assert not isinstance(refused.value, QueueNotFoundError | TransientBackendError)


async def test_get_queue_url_finds_a_created_queue(backend: Backend, queue_name: str) -> None:
    url = await backend.create_queue(queue_name)
    assert await backend.get_queue_url(queue_name) == url
    assert await backend.create_queue(queue_name) == url  # CreateQueue is idempotent


async def test_a_redrive_policy_round_trips(backend: Backend, queue_name: str) -> None:
    dlq = await backend.create_queue(f"{queue_name}-dlq")
    arn = (await backend.get_queue_attributes(dlq, ["QueueArn"]))["QueueArn"]
    policy = {"deadLetterTargetArn": arn, "maxReceiveCount": 3}
    url = await backend.create_queue(queue_name, {"RedrivePolicy": json.dumps(policy), "VisibilityTimeout": "60"})
    got = await backend.get_queue_attributes(url, ["RedrivePolicy", "VisibilityTimeout"])
    assert json.loads(got["RedrivePolicy"]) == policy  # moto spaces its JSON differently; the value is the same
    assert got["VisibilityTimeout"] == "60"


async def test_queue_counts_count_visible_in_flight_and_delayed(
    backend: Backend, backend_kind: str, queue_name: str
) -> None:
    url = await backend.create_queue(queue_name)
    await send(backend, url, "visible", "taken")
    await backend.send_message_batch(url, [OutgoingMessage("later", delay_seconds=600)])
    await backend.receive_messages(url, max_messages=1, wait_seconds=1, visibility_timeout=600)
    counts = await backend.queue_counts(url)
    assert (counts.visible, counts.in_flight, counts.delayed) == (1, 1, 1)
    if backend_kind in ("memory", "sqlite"):
        assert counts.oldest_age is not None and 0 <= counts.oldest_age < PROMPTLY
    else:
        assert counts == QueueCounts(1, 1, 1, oldest_age=None)  # SQS publishes the age to CloudWatch alone


async def test_a_long_poll_returns_as_soon_as_a_message_is_sent(backend: Backend, queue_name: str) -> None:
    url = await backend.create_queue(queue_name)
    got: list[QueueMessage] = []

    async def poll() -> None:
        got.extend(await backend.receive_messages(url, max_messages=1, wait_seconds=20, visibility_timeout=30))

    with anyio.fail_after(PROMPTLY):  # the poll would wait 20 s for nothing
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(poll)
            await anyio.wait_all_tasks_blocked()  # the poll is parked in the engine, or waits on its socket
            await backend.queue_counts(url)  # a round trip: a server has read the poll it was sent first
            assert got == []
            await send(backend, url, "wake up")
    assert [m.body for m in got] == ["wake up"]


# -- administration: the AdminBackend operations the operator's CLI uses ------------------------------------


async def admin(backend: Backend) -> AdminBackend:
    assert isinstance(backend, AdminBackend)
    return backend


async def dead_lettered(backend: AdminBackend, name: str, *bodies: str) -> tuple[str, str, str]:
    """A source queue that dead-letters after one receive, and its DLQ holding ``bodies``: (source, DLQ, DLQ ARN)."""
    dlq = await backend.create_queue(f"{name}-dlq")
    arn = (await backend.get_queue_attributes(dlq, ["QueueArn"]))["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 1})
    source = await backend.create_queue(name, {"RedrivePolicy": policy})
    if bodies:
        await send(backend, source, *bodies)
    with anyio.fail_after(PROMPTLY):
        while (await backend.queue_counts(dlq)).visible < len(bodies):  # each receive past the first redrives
            await backend.receive_messages(source, max_messages=10, wait_seconds=0, visibility_timeout=0)
    return source, dlq, arn


async def test_list_queues_finds_every_created_queue_by_prefix(backend: Backend, queue_name: str) -> None:
    admin_backend = await admin(backend)
    urls = [await backend.create_queue(f"{queue_name}-{i}") for i in range(3)]
    other = await backend.create_queue(f"x{queue_name}")
    assert sorted(await admin_backend.list_queues(queue_name)) == sorted(urls)
    assert {*urls, other} <= set(await admin_backend.list_queues())


async def test_a_deleted_queue_is_gone(backend: Backend, queue_name: str) -> None:
    admin_backend = await admin(backend)
    url = await backend.create_queue(queue_name)
    await admin_backend.delete_queue(url)
    with pytest.raises(QueueNotFoundError):
        await backend.get_queue_url(queue_name)
    with pytest.raises(QueueNotFoundError):
        await admin_backend.delete_queue(url)


async def test_purge_deletes_every_message(backend: Backend, queue_name: str) -> None:
    admin_backend = await admin(backend)
    url = await backend.create_queue(queue_name)
    await send(backend, url, "a", "b", "c")
    await admin_backend.purge_queue(url)
    assert (await backend.queue_counts(url)).visible == 0


async def test_dead_letter_sources_are_the_queues_that_redrive_to_it(backend: Backend, queue_name: str) -> None:
    admin_backend = await admin(backend)
    source, dlq, _ = await dead_lettered(admin_backend, queue_name)
    assert await admin_backend.dead_letter_sources(dlq) == [source]
    assert await admin_backend.dead_letter_sources(source) == []


async def test_a_move_task_sends_dead_letters_back_to_their_source(
    backend: Backend, backend_kind: str, queue_name: str
) -> None:
    admin_backend = await admin(backend)
    source, dlq, arn = await dead_lettered(admin_backend, queue_name, "a", "b")
    if backend_kind == "moto":  # moto has no message move tasks, and says so with a bare 500
        with pytest.raises(UnsupportedOperationError, match="StartMessageMoveTask: not supported"):
            await admin_backend.start_move_task(arn)
        return
    handle = await admin_backend.start_move_task(arn)
    with anyio.fail_after(PROMPTLY):
        # a task runs in the service: its listing is all there is to watch, so this polls it
        while (task := (await admin_backend.list_move_tasks(arn))[0]).status == "RUNNING":  # noqa: ASYNC110
            await anyio.sleep(0.05)
    assert (task.status, task.moved, task.to_move, task.source_arn, task.handle) == ("COMPLETED", 2, 2, arn, None)
    assert handle
    assert sorted(m.body for m in await receive(backend, source, 2)) == ["a", "b"]
    assert (await backend.queue_counts(dlq)).visible == 0


async def test_a_rate_limited_move_task_runs_until_cancelled(
    backend: Backend, backend_kind: str, queue_name: str
) -> None:
    admin_backend = await admin(backend)
    _, dlq, arn = await dead_lettered(admin_backend, queue_name, *"abcdefghij")
    target = await backend.create_queue(f"{queue_name}-back")
    target_arn = (await backend.get_queue_attributes(target, ["QueueArn"]))["QueueArn"]
    if backend_kind == "moto":
        with pytest.raises(UnsupportedOperationError, match="ListMessageMoveTasks: not supported"):
            await admin_backend.list_move_tasks(arn)
        return
    handle = await admin_backend.start_move_task(arn, target_arn, max_per_second=1)  # ten messages: ten seconds
    (running,) = await admin_backend.list_move_tasks(arn)
    assert (running.status, running.handle, running.to_move) == ("RUNNING", handle, 10)
    assert (running.destination_arn, running.max_per_second) == (target_arn, 1)
    moved = await admin_backend.cancel_move_task(handle)
    assert 0 <= moved < 10
    (cancelled,) = await admin_backend.list_move_tasks(arn)
    assert cancelled.status in ("CANCELLING", "CANCELLED")
    counts = await backend.queue_counts(dlq), await backend.queue_counts(target)
    assert counts[0].visible + counts[1].visible == 10  # nothing lost, nothing doubled
    with pytest.raises(BackendError, match="CancelMessageMoveTask: ResourceNotFoundException"):
        await admin_backend.cancel_move_task(handle)
