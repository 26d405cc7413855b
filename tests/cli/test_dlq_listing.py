"""A move task SQS does not list yet (it is eventually consistent): asked again on the clock, then one line."""

from __future__ import annotations

import json

import anyio
import pytest

from consumerkit.backends import LocalBackend, MoveTaskStatus, OutgoingMessage
from consumerkit.cli.common import CliError
from consumerkit.cli.dlq import LIST_LOOKS, LIST_RETRY, Outcome, _move_task
from consumerkit.clock import ManualClock
from consumerkit.engine import Engine
from tests.runtime.harness import settle


class Lagging(LocalBackend):
    """The real engine, except that its first ``lag`` ListMessageMoveTasks answers are empty, as SQS's may be
    right after StartMessageMoveTask."""

    def __init__(self, engine: Engine, lag: int) -> None:
        super().__init__(engine, owns_engine=True)
        self.lag, self.looks = lag, 0

    async def list_move_tasks(self, source_arn: str, max_results: int = 1) -> list[MoveTaskStatus]:
        self.looks += 1
        if self.looks <= self.lag:
            return []
        return await super().list_move_tasks(source_arn, max_results)


async def queues(backend: LocalBackend) -> tuple[str, str, str]:
    """A DLQ (its url and ARN) and the queue whose redrive policy names it."""
    dlq = await backend.create_queue("jobs-dlq")
    arn = (await backend.get_queue_attributes(dlq, ["QueueArn"]))["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 1})
    return dlq, arn, await backend.create_queue("jobs", {"RedrivePolicy": policy})


async def follow(backend: LocalBackend, dlq: str, source: str, clock: ManualClock) -> Outcome | CliError:
    """A move-task redrive from ``dlq`` to ``source``, the clock moved on each time the command waits (to
    look at the listing again), never further."""
    result: list[Outcome | CliError] = []

    async def redrive() -> None:
        try:
            result.append(await _move_task(backend, dlq, source, None, lambda *_: None, anyio.Event(), clock))
        except CliError as error:
            result.append(error)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(redrive)
            while not result:
                await settle()
                if clock.sleepers:
                    assert clock.next_deadline == pytest.approx(clock.now() + LIST_RETRY)
                    clock.advance(LIST_RETRY)
    return result[0]


async def redrive_listed_after(lag: int) -> tuple[Outcome | CliError, Lagging, ManualClock]:
    """A one-message DLQ moved by a move task while the listing lags ``lag`` looks."""
    clock = ManualClock()
    async with Lagging(Engine.open("memory://", clock), lag) as backend:
        dlq, _, source = await queues(backend)
        await backend.send_message_batch(dlq, [OutgoingMessage("dead")])
        return await follow(backend, dlq, source, clock), backend, clock


async def test_a_task_listed_late_is_followed_to_its_end() -> None:
    outcome, backend, clock = await redrive_listed_after(LIST_LOOKS - 1)
    assert isinstance(outcome, Outcome), outcome
    assert (outcome.moved, outcome.to_move, outcome.how) == (1, 1, "move task")
    assert backend.looks == LIST_LOOKS
    assert clock.now() == pytest.approx(1_700_000_000.0 + (LIST_LOOKS - 1) * LIST_RETRY)


async def test_a_task_never_listed_is_one_line_saying_it_was_started_and_how_to_follow_it() -> None:
    error, backend, _ = await redrive_listed_after(LIST_LOOKS)
    assert isinstance(error, CliError)
    message = error.format_message()
    assert message.startswith(
        f"a move task was started on jobs-dlq, but ListMessageMoveTasks showed none in {LIST_LOOKS} looks over "
    )
    assert message.endswith(
        "follow it with `aws sqs list-message-move-tasks --source-arn arn:aws:sqs:us-east-1:000000000000:jobs-dlq`"
    )
    assert "\n" not in message and backend.looks == LIST_LOOKS


class Stale(LocalBackend):
    """The real engine, except that its next ``stale_looks`` ListMessageMoveTasks answers are ``stale``: the
    DLQ's previous, finished task, as SQS may still list it right after a new one starts."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine, owns_engine=True)
        self.stale: list[MoveTaskStatus] = []
        self.stale_looks = 0

    async def list_move_tasks(self, source_arn: str, max_results: int = 1) -> list[MoveTaskStatus]:
        if self.stale_looks:
            self.stale_looks -= 1
            return self.stale
        return await super().list_move_tasks(source_arn, max_results)


async def test_the_previous_finished_task_is_not_taken_for_this_one() -> None:
    clock = ManualClock()
    async with Stale(Engine.open("memory://", clock)) as backend:
        dlq, arn, source = await queues(backend)
        await backend.send_message_batch(dlq, [OutgoingMessage("old")])
        first = await _move_task(backend, dlq, source, None, lambda *_: None, anyio.Event(), clock)
        assert (first.moved, first.to_move) == (1, 1)
        backend.stale = await backend.list_move_tasks(arn)
        assert backend.stale[0].status == "COMPLETED"
        clock.advance(600)
        await backend.send_message_batch(dlq, [OutgoingMessage("new", "0"), OutgoingMessage("newer", "1")])
        backend.stale_looks = 2
        outcome = await follow(backend, dlq, source, clock)
        assert isinstance(outcome, Outcome), outcome
        assert (outcome.moved, outcome.to_move) == (2, 2)
        assert backend.stale_looks == 0  # both stale answers were seen, and passed over
        assert (await backend.queue_counts(source)).visible == 3
