"""Message move tasks (DLQ redrive): Start / List / CancelMessageMoveTask, driven by the manual clock."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import pytest

from consumerkit.engine import Engine, ManualClock, MoveTask, ReceivedMessage, SendEntry
from tests.engine.expect import fails

ARN = "arn:aws:sqs:us-east-1:000000000000:"
DLQ_ARN = ARN + "dlq"

# Identifies a finished task by its handle: SQS's ListMessageMoveTasks shows TaskHandle for RUNNING tasks only
# (and so does the server), while the engine's MoveTask keeps it.
FINISHED_TASK_HANDLE = pytest.mark.in_process("reads the handle of a finished task: SQS lists running tasks only")


async def visible(engine: Engine, url: str) -> int:
    attributes = await engine.get_queue_attributes(url, ["ApproximateNumberOfMessages"])
    return int(attributes["ApproximateNumberOfMessages"])


async def setup(engine: Engine, *sources: str, fifo: bool = False) -> tuple[str, list[str]]:
    """A DLQ and source queues that dead-letter after one receive."""
    suffix = ".fifo" if fifo else ""
    extra = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {}
    dlq = await engine.create_queue("dlq" + suffix, extra)
    policy = json.dumps({"deadLetterTargetArn": ARN + "dlq" + suffix, "maxReceiveCount": 1})
    urls = [await engine.create_queue(name + suffix, {**extra, "RedrivePolicy": policy}) for name in sources]
    return dlq, urls


async def dead_letter(engine: Engine, source: str, bodies: Sequence[str], group: str | None = None) -> None:
    """Send ``bodies`` (≤ 10), receive them once, and let the next receive move them to the DLQ."""
    for body in bodies:
        await engine.send_message(source, body, group_id=group)
    assert len(await engine.receive_message(source, max_messages=10, visibility_timeout=0)) == len(bodies)
    assert await engine.receive_message(source, max_messages=10) == []


async def receive_all(engine: Engine, url: str, **options: Any) -> list[ReceivedMessage]:
    return await engine.receive_message(url, max_messages=10, **options)


async def only_task(engine: Engine, source_arn: str = DLQ_ARN) -> MoveTask:
    [task] = await engine.list_message_move_tasks(source_arn)
    return task


async def parked(clock: ManualClock, count: int = 1) -> None:
    with anyio.fail_after(5):
        while clock.sleepers < count:
            await anyio.wait_all_tasks_blocked()


# -- starting ----------------------------------------------------------------------------------------------


async def test_setup_puts_messages_in_the_dlq(engine: Engine) -> None:
    dlq, [source] = await setup(engine, "jobs")
    await dead_letter(engine, source, ["a", "b"])
    assert await visible(engine, dlq) == 2
    assert await visible(engine, source) == 0


async def test_start_on_a_queue_that_is_not_a_dlq_is_invalid(engine: Engine, queue: str) -> None:
    error = await fails(engine.start_message_move_task(ARN + "jobs"))
    assert error.code == "InvalidParameterValue"
    assert error.status == 400
    assert "SourceArn" in error.message
    assert await engine.list_message_move_tasks(ARN + "jobs") == []


async def test_start_with_unknown_source_is_resource_not_found(engine: Engine) -> None:
    error = await fails(engine.start_message_move_task(ARN + "nope"))
    assert error.shape == "ResourceNotFoundException"
    assert error.code == "ResourceNotFoundException"
    assert error.status == 404
    assert "SourceArn" in error.message


async def test_start_with_unknown_destination_is_resource_not_found(engine: Engine) -> None:
    dlq, [source] = await setup(engine, "jobs")
    await dead_letter(engine, source, ["a"])
    error = await fails(engine.start_message_move_task(DLQ_ARN, ARN + "nope"))
    assert error.shape == "ResourceNotFoundException"
    assert error.status == 404
    assert "DestinationArn" in error.message
    assert await visible(engine, dlq) == 1


@pytest.mark.parametrize("bad", ["\ud83d", "\x01", "."], ids=["lone surrogate", "control character", "dot"])
async def test_an_arn_naming_no_valid_queue_is_resource_not_found(engine: Engine, bad: str) -> None:
    """It is not looked up at all: a lone surrogate would not even encode for SQLite."""
    dlq, [source] = await setup(engine, "jobs")
    await dead_letter(engine, source, ["a"])
    for call, param in (
        (engine.start_message_move_task(f"{DLQ_ARN}{bad}"), "SourceArn"),
        (engine.start_message_move_task(DLQ_ARN, f"{ARN}jobs{bad}"), "DestinationArn"),
        (engine.list_message_move_tasks(f"{DLQ_ARN}{bad}"), "SourceArn"),
    ):
        error = await fails(call)
        assert (error.shape, error.status) == ("ResourceNotFoundException", 404)
        assert param in error.message
    assert await engine.list_message_move_tasks(DLQ_ARN) == []
    assert await visible(engine, dlq) == 1


async def test_list_for_unknown_source_is_resource_not_found(engine: Engine) -> None:
    error = await fails(engine.list_message_move_tasks(ARN + "nope"))
    assert error.shape == "ResourceNotFoundException"
    assert error.status == 404


async def test_cancel_unknown_task_is_resource_not_found(engine: Engine) -> None:
    error = await fails(engine.cancel_message_move_task("no-such-handle"))
    assert error.shape == "ResourceNotFoundException"
    assert error.status == 404


@pytest.mark.parametrize("rate", [0, -1, 501])
async def test_rate_out_of_range_is_rejected(engine: Engine, rate: int) -> None:
    dlq, [source] = await setup(engine, "jobs")
    await dead_letter(engine, source, ["a"])
    error = await fails(engine.start_message_move_task(DLQ_ARN, max_per_second=rate))
    assert error.code == "InvalidParameterValue"
    assert "MaxNumberOfMessagesPerSecond" in error.message
    assert "500" in error.message
    assert await engine.list_message_move_tasks(DLQ_ARN) == []
    assert await visible(engine, dlq) == 1


@FINISHED_TASK_HANDLE
@pytest.mark.parametrize("rate", [1, 500])
async def test_rate_bounds_are_accepted(engine: Engine, clock: ManualClock, rate: int) -> None:
    _, [source] = await setup(engine, "jobs")
    await dead_letter(engine, source, ["a"])
    handle = await engine.start_message_move_task(DLQ_ARN, max_per_second=rate)
    clock.advance(1)
    task = await only_task(engine)
    assert task.handle == handle
    assert task.max_per_second == rate
    assert task.status == "COMPLETED"
    assert await visible(engine, source) == 1


# -- moving ------------------------------------------------------------------------------------------------


@FINISHED_TASK_HANDLE
async def test_unlimited_task_moves_every_message_back_to_its_own_source(engine: Engine) -> None:
    dlq, [first, second] = await setup(engine, "first", "second")
    await dead_letter(engine, first, ["f1", "f2"])
    await dead_letter(engine, second, ["s1", "s2", "s3"])
    assert await visible(engine, dlq) == 5
    handle = await engine.start_message_move_task(DLQ_ARN)
    task = await only_task(engine)
    assert task.handle == handle
    assert task.source_arn == DLQ_ARN
    assert task.destination_arn is None
    assert (task.status, task.moved, task.to_move) == ("COMPLETED", 5, 5)
    assert sorted(m.body for m in await receive_all(engine, first)) == ["f1", "f2"]
    assert sorted(m.body for m in await receive_all(engine, second)) == ["s1", "s2", "s3"]
    assert await visible(engine, dlq) == 0


async def test_destination_arn_overrides_the_original_source(engine: Engine) -> None:
    dlq, [source] = await setup(engine, "jobs")
    replay = await engine.create_queue("replay")
    await dead_letter(engine, source, ["a", "b"])
    await engine.start_message_move_task(DLQ_ARN, ARN + "replay")
    task = await only_task(engine)
    assert task.destination_arn == ARN + "replay"
    assert (task.status, task.moved) == ("COMPLETED", 2)
    assert sorted(m.body for m in await receive_all(engine, replay)) == ["a", "b"]
    assert await visible(engine, source) == 0
    assert await visible(engine, dlq) == 0


async def test_dlq_messages_carry_their_source_arn(engine: Engine) -> None:
    dlq, [source] = await setup(engine, "jobs")
    await dead_letter(engine, source, ["a"])
    [message] = await engine.receive_message(dlq, attribute_names=["DeadLetterQueueSourceArn"], visibility_timeout=0)
    assert message.attributes["DeadLetterQueueSourceArn"] == ARN + "jobs"


async def test_redriven_message_starts_with_a_fresh_receive_count(engine: Engine) -> None:
    """maxReceiveCount is 1: a message that kept its old count would go straight back to the DLQ."""
    dlq, [source] = await setup(engine, "jobs")
    await dead_letter(engine, source, ["a"])
    await engine.start_message_move_task(DLQ_ARN)
    [message] = await engine.receive_message(source, attribute_names=["ApproximateReceiveCount"], visibility_timeout=0)
    assert message.body == "a"
    assert message.attributes["ApproximateReceiveCount"] == "1"
    assert await visible(engine, dlq) == 0
    # counted afresh: after its one allowed receive it is dead-lettered again
    assert await engine.receive_message(source) == []
    assert await visible(engine, dlq) == 1


async def test_rate_limited_task_moves_at_its_rate(engine: Engine, clock: ManualClock) -> None:
    dlq, [source] = await setup(engine, "jobs")
    await dead_letter(engine, source, ["m1", "m2", "m3", "m4", "m5"])
    await engine.start_message_move_task(DLQ_ARN, max_per_second=2)
    task = await only_task(engine)
    assert (task.status, task.to_move) == ("RUNNING", 5)
    assert task.moved <= 1
    clock.advance(1)
    task = await only_task(engine)
    assert task.status == "RUNNING"
    assert 2 <= task.moved <= 3
    assert task.to_move == 5
    moved = task.moved
    assert await visible(engine, dlq) == 5 - moved
    assert await visible(engine, source) == moved
    clock.advance(2)
    task = await only_task(engine)
    assert (task.status, task.moved, task.to_move) == ("COMPLETED", 5, 5)
    assert await visible(engine, dlq) == 0
    assert await visible(engine, source) == 5


async def test_rate_limited_task_progresses_without_being_watched(engine: Engine, clock: ManualClock) -> None:
    """A task runs in the background: counters show its progress without anyone listing tasks."""
    dlq, [source] = await setup(engine, "jobs")
    await dead_letter(engine, source, ["m1", "m2", "m3", "m4"])
    await engine.start_message_move_task(DLQ_ARN, max_per_second=2)
    clock.advance(60)
    assert await visible(engine, source) == 4
    assert await visible(engine, dlq) == 0


async def test_long_poll_on_destination_gets_a_message_moved_while_it_waits(engine: Engine, clock: ManualClock) -> None:
    """SQS: a long poll returns as soon as a message is available, including one a move task delivers."""
    _, [source] = await setup(engine, "jobs")
    await dead_letter(engine, source, ["a"])
    got: list[ReceivedMessage] = []
    seen_after_one_second: list[str] = []

    async def poll() -> None:
        got.extend(await engine.receive_message(source, wait_time_seconds=20))

    async with anyio.create_task_group() as tg:
        tg.start_soon(poll)
        await parked(clock)
        await engine.start_message_move_task(DLQ_ARN, max_per_second=1)
        clock.advance(1)
        await anyio.wait_all_tasks_blocked()
        seen_after_one_second = [m.body for m in got]
        clock.advance(20)  # release the poll either way
    assert seen_after_one_second == ["a"]


async def test_fifo_redrive_keeps_group_order(engine: Engine) -> None:
    dlq, [source] = await setup(engine, "jobs", fifo=True)
    await dead_letter(engine, source, ["1", "2", "3"], group="g")
    assert await visible(engine, dlq) == 3
    await engine.start_message_move_task(ARN + "dlq.fifo")
    assert (await only_task(engine, ARN + "dlq.fifo")).status == "COMPLETED"
    assert [m.body for m in await receive_all(engine, source)] == ["1", "2", "3"]


async def test_messages_in_flight_in_the_dlq_are_not_counted_to_move(engine: Engine) -> None:
    dlq, [source] = await setup(engine, "jobs")
    await dead_letter(engine, source, ["a", "b"])
    [held] = await engine.receive_message(dlq, visibility_timeout=300)
    await engine.start_message_move_task(DLQ_ARN)
    task = await only_task(engine)
    assert (task.status, task.moved, task.to_move) == ("COMPLETED", 1, 1)
    assert [m.body for m in await receive_all(engine, source)] == [{"a": "b", "b": "a"}[held.body]]


async def ten_in_the_dlq(engine: Engine) -> tuple[str, str]:
    dlq, [source] = await setup(engine, "jobs")
    await engine.send_message_batch(source, [SendEntry(f"m{i}", f"e{i}") for i in range(10)])
    assert len(await receive_all(engine, source, visibility_timeout=0)) == 10
    assert await receive_all(engine, source) == []
    assert await visible(engine, dlq) == 10
    return dlq, source


async def test_a_rate_limited_task_does_not_make_parked_receives_spin(engine: Engine, clock: ManualClock) -> None:
    """``now - start`` lands a hair off a whole number at epoch-sized timestamps: a task that names its next
    move at a time already past makes every parked receive loop without ever waiting."""
    await ten_in_the_dlq(engine)
    await engine.start_message_move_task(DLQ_ARN, max_per_second=10)
    idle = await engine.create_queue("idle")
    progress: list[int] = []
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: engine.receive_message(idle, wait_time_seconds=20))
            await parked(clock)
            for _ in range(11):
                clock.advance(0.1)
                await parked(clock)  # the idle poll waits again instead of spinning
                progress.append((await only_task(engine)).moved)
            tg.cancel_scope.cancel()
    assert progress == sorted(progress)
    assert (await only_task(engine)).status == "COMPLETED"
    assert progress[-1] == 10


async def test_ten_steps_of_a_tenth_of_a_second_move_ten_messages_at_ten_a_second(
    engine: Engine, clock: ManualClock
) -> None:
    """The same rounding must not leave the task a message behind the clock."""
    dlq, source = await ten_in_the_dlq(engine)
    await engine.start_message_move_task(DLQ_ARN, max_per_second=10)
    progress: list[int] = []
    for _ in range(10):
        clock.advance(0.1)
        progress.append((await only_task(engine)).moved)
    assert progress == sorted(progress)
    task = await only_task(engine)
    assert (task.status, task.moved, task.to_move) == ("COMPLETED", 10, 10)
    assert await visible(engine, dlq) == 0
    assert await visible(engine, source) == 10


async def test_a_task_started_by_one_engine_progresses_for_another_on_the_same_file(
    tmp_path: Path, clock: ManualClock
) -> None:
    """Running tasks live in the store: an engine that did not start a task (a CLI started it and exited)
    still brings it up to date."""
    url = f"sqlite:///{tmp_path / 'queues.db'}"
    async with Engine.open(url, clock) as starter, Engine.open(url, clock) as other:
        dlq, [source] = await setup(starter, "jobs")
        await dead_letter(starter, source, ["m1", "m2", "m3"])
        assert await other.list_message_move_tasks(DLQ_ARN) == []
        handle = await starter.start_message_move_task(DLQ_ARN, max_per_second=1)
        await starter.aclose()
        clock.advance(10)
        task = await only_task(other)
        assert task.handle == handle
        assert (task.status, task.moved, task.to_move) == ("COMPLETED", 3, 3)
        assert await visible(other, dlq) == 0
        assert sorted(m.body for m in await receive_all(other, source)) == ["m1", "m2", "m3"]


async def test_fifo_task_does_not_move_a_message_ahead_of_one_in_flight_in_its_group(
    engine: Engine, clock: ManualClock
) -> None:
    """m1 is in flight in the DLQ and blocks its group there: m2 must wait behind it, and the task is not
    complete while m1 is still in the DLQ."""
    dlq, [source] = await setup(engine, "jobs", fifo=True)
    await dead_letter(engine, source, ["m1", "m2"], group="g")
    [head] = await engine.receive_message(dlq, visibility_timeout=30)
    assert head.body == "m1"
    await engine.start_message_move_task(ARN + "dlq.fifo")
    assert await receive_all(engine, source) == []
    task = await only_task(engine, ARN + "dlq.fifo")
    assert (task.status, task.moved) == ("RUNNING", 0)
    assert (await engine.queue_stats(dlq)).in_flight == 1
    clock.advance(30)  # m1's visibility ends in the DLQ
    task = await only_task(engine, ARN + "dlq.fifo")
    assert (task.status, task.moved, task.to_move) == ("COMPLETED", 2, 2)  # m1 counted though in flight
    assert [m.body for m in await receive_all(engine, source)] == ["m1", "m2"]


@pytest.mark.parametrize("fifo", [False, True], ids=["standard-to-fifo", "fifo-to-standard"])
async def test_destination_of_the_other_queue_type_is_rejected(engine: Engine, fifo: bool) -> None:
    dlq, [source] = await setup(engine, "jobs", fifo=fifo)
    await dead_letter(engine, source, ["a"], group="g" if fifo else None)
    other = "replay" if fifo else "replay.fifo"
    await engine.create_queue(other, {} if fifo else {"FifoQueue": "true"})
    source_arn = ARN + ("dlq.fifo" if fifo else "dlq")
    error = await fails(engine.start_message_move_task(source_arn, ARN + other))
    assert error.code == "InvalidParameterValue"
    assert error.status == 400
    assert "DestinationArn" in error.message
    assert await engine.list_message_move_tasks(source_arn) == []
    assert await visible(engine, dlq) == 1


async def test_messages_past_retention_in_the_dlq_are_dropped_not_moved(engine: Engine, clock: ManualClock) -> None:
    """A standard DLQ keeps counting retention from the original send: what has expired there is deleted on
    the way, never delivered to the source again."""
    dlq = await engine.create_queue("dlq", {"MessageRetentionPeriod": "60"})
    policy = json.dumps({"deadLetterTargetArn": DLQ_ARN, "maxReceiveCount": 1})
    source = await engine.create_queue("jobs", {"RedrivePolicy": policy})
    await dead_letter(engine, source, ["old"])
    clock.advance(30)
    await dead_letter(engine, source, ["new"])
    clock.advance(30)  # "old" was sent 60 s ago: past the DLQ's retention; "new" is not
    await engine.start_message_move_task(DLQ_ARN)
    task = await only_task(engine)
    assert (task.status, task.moved, task.to_move) == ("COMPLETED", 1, 1)
    assert [m.body for m in await receive_all(engine, source)] == ["new"]
    assert await receive_all(engine, dlq) == []


# -- one task at a time, cancelling ------------------------------------------------------------------------


async def test_only_one_running_task_per_source(engine: Engine, clock: ManualClock) -> None:
    _, [source] = await setup(engine, "jobs")
    await dead_letter(engine, source, ["a", "b", "c"])
    first = await engine.start_message_move_task(DLQ_ARN, max_per_second=1)
    error = await fails(engine.start_message_move_task(DLQ_ARN))
    assert error.code == "InvalidParameterValue"
    await engine.cancel_message_move_task(first)
    clock.advance(1)
    second = await engine.start_message_move_task(DLQ_ARN)
    assert second != first
    assert (await only_task(engine)).status == "COMPLETED"


async def test_a_new_task_may_start_once_the_last_completed(engine: Engine, clock: ManualClock) -> None:
    _, [source] = await setup(engine, "jobs")
    replay = await engine.create_queue("replay")
    await dead_letter(engine, source, ["a"])
    await engine.start_message_move_task(DLQ_ARN, ARN + "replay")
    clock.advance(1)
    await dead_letter(engine, source, ["b"])
    await engine.start_message_move_task(DLQ_ARN, ARN + "replay")
    assert await visible(engine, replay) == 2
    assert [t.status for t in await engine.list_message_move_tasks(DLQ_ARN, max_results=10)] == [
        "COMPLETED",
        "COMPLETED",
    ]


async def test_cancel_a_running_task(engine: Engine, clock: ManualClock) -> None:
    dlq, [source] = await setup(engine, "jobs")
    await dead_letter(engine, source, ["m1", "m2", "m3", "m4", "m5"])
    handle = await engine.start_message_move_task(DLQ_ARN, max_per_second=1)
    clock.advance(2)
    moved = await engine.cancel_message_move_task(handle)
    assert moved == 2
    task = await only_task(engine)
    assert (task.status, task.moved) == ("CANCELLED", 2)
    clock.advance(10)  # a cancelled task moves nothing more
    task = await only_task(engine)
    assert (task.status, task.moved) == ("CANCELLED", 2)
    assert await visible(engine, dlq) == 3
    assert await visible(engine, source) == 2


async def test_cancelling_a_completed_task_is_an_error(engine: Engine) -> None:
    _, [source] = await setup(engine, "jobs")
    await dead_letter(engine, source, ["a"])
    handle = await engine.start_message_move_task(DLQ_ARN)
    await fails(engine.cancel_message_move_task(handle))
    assert (await only_task(engine)).status == "COMPLETED"


async def test_cancelling_twice_is_an_error(engine: Engine) -> None:
    _, [source] = await setup(engine, "jobs")
    await dead_letter(engine, source, ["a", "b"])
    handle = await engine.start_message_move_task(DLQ_ARN, max_per_second=1)
    await engine.cancel_message_move_task(handle)
    await fails(engine.cancel_message_move_task(handle))
    assert (await only_task(engine)).status == "CANCELLED"


# -- listing -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("max_results", [0, 11])
async def test_list_max_results_out_of_range(engine: Engine, max_results: int) -> None:
    await setup(engine, "jobs")
    error = await fails(engine.list_message_move_tasks(DLQ_ARN, max_results=max_results))
    assert error.code == "InvalidParameterValue"
    assert "MaxResults" in error.message
    assert "10" in error.message


async def test_list_is_empty_before_any_task(engine: Engine) -> None:
    await setup(engine, "jobs")
    assert await engine.list_message_move_tasks(DLQ_ARN, max_results=10) == []


@FINISHED_TASK_HANDLE
async def test_list_returns_newest_first_and_one_by_default(engine: Engine, clock: ManualClock) -> None:
    _, [source] = await setup(engine, "jobs")
    await engine.create_queue("replay")
    handles = []
    for body in ("a", "b", "c"):
        await dead_letter(engine, source, [body])
        handles.append(await engine.start_message_move_task(DLQ_ARN, ARN + "replay"))
        clock.advance(5)
    assert [t.handle for t in await engine.list_message_move_tasks(DLQ_ARN)] == [handles[2]]
    assert [t.handle for t in await engine.list_message_move_tasks(DLQ_ARN, max_results=2)] == handles[:0:-1]
    assert [t.handle for t in await engine.list_message_move_tasks(DLQ_ARN, max_results=10)] == handles[::-1]


@FINISHED_TASK_HANDLE
async def test_list_shows_only_the_tasks_of_that_source(engine: Engine) -> None:
    _, [first] = await setup(engine, "jobs")
    other_dlq = await engine.create_queue("other-dlq")
    policy = json.dumps({"deadLetterTargetArn": ARN + "other-dlq", "maxReceiveCount": 1})
    other = await engine.create_queue("other", {"RedrivePolicy": policy})
    await dead_letter(engine, first, ["a"])
    await dead_letter(engine, other, ["b"])
    mine = await engine.start_message_move_task(DLQ_ARN)
    theirs = await engine.start_message_move_task(ARN + "other-dlq")
    assert [t.handle for t in await engine.list_message_move_tasks(DLQ_ARN, max_results=10)] == [mine]
    assert [t.handle for t in await engine.list_message_move_tasks(ARN + "other-dlq", max_results=10)] == [theirs]
    assert await visible(engine, other_dlq) == 0


async def test_a_redriven_message_is_new_with_a_new_id_and_retention_restarted(
    engine: Engine, clock: ManualClock
) -> None:
    """AWS: "redriven messages are considered new messages and are assigned a new messageID and enqueueTime",
    so a message older than the source's retention is not lost on the way back."""
    dlq, [source] = await setup(engine, "jobs")
    await engine.set_queue_attributes(source, {"MessageRetentionPeriod": "3600"})
    await engine.set_queue_attributes(dlq, {"MessageRetentionPeriod": "1209600"})
    await engine.send_message(source, "old")
    [first] = await engine.receive_message(source, visibility_timeout=0)
    assert await engine.receive_message(source) == []  # moved to the DLQ
    clock.advance(7200)  # older than the source's retention by now
    await engine.start_message_move_task(DLQ_ARN)
    assert (await only_task(engine)).status == "COMPLETED"
    [back] = await engine.receive_message(source, attribute_names=["All"])
    assert back.body == "old"
    assert back.message_id != first.message_id
    assert back.attributes["ApproximateReceiveCount"] == "1"
