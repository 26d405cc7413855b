"""``consumerkit dlq redrive``: move dead-lettered messages back, by message move task or by hand.

A move task (StartMessageMoveTask) is the service's own redrive: atomic per message, throttled by SQS, and it
goes on if this process dies. Where the backend has none (moto, some look-alikes) or with ``--manual``, the
messages are received, sent to the target, and only then deleted: an interruption at any point leaves each
message in the DLQ, in the target, or (between send and delete) in both, never in neither. FIFO copies carry a
deduplication id derived from the message's id, so a rerun after such an interruption is deduplicated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import anyio
import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from consumerkit.backends import (
    AdminBackend,
    MoveTaskStatus,
    OutgoingMessage,
    QueueMessage,
    Receipt,
    UnsupportedOperationError,
)
from consumerkit.cli.batching import send_batches
from consumerkit.cli.common import (
    CliError,
    Interrupted,
    backend_option,
    on_backend,
    queue_name,
    queue_url,
    stop_on_signal,
)
from consumerkit.clock import Clock, SystemClock, sleep_until
from consumerkit.engine.model import MAX_MOVE_RATE, MAX_RECEIVE

POLL_INTERVAL = 0.5  # seconds between looks at a move task's progress
LIST_LOOKS = 5  # looks at ListMessageMoveTasks, each LIST_RETRY seconds apart, before an empty list is believed
START_SKEW = 10.0  # seconds a finished task's start may seem to precede ours (clock skew, rounding)
LIST_RETRY = 1.0
SYSTEM_CLOCK = SystemClock()
MANUAL_VISIBILITY = 60  # seconds a message received for a manual move stays hidden: ample to send and delete it


@dataclass
class Outcome:
    moved: int
    to_move: int
    target: str
    how: str
    stopped: bool = False
    failures: int = 0
    note: str = ""


Report = Callable[[int, int], None]


@click.group("dlq")
def dlq_group() -> None:
    """Work on dead-letter queues."""


@dlq_group.command("redrive")
@click.argument("source", metavar="DLQ")
@click.option("--to", "target", metavar="QUEUE", default=None, help="Where to [default: the DLQ's source queue].")
@click.option("--rate", type=click.IntRange(1, MAX_MOVE_RATE), default=None, help="Messages per second at most.")
@click.option("--manual", is_flag=True, help="Receive, send, delete here, even where the backend has move tasks.")
@backend_option
def redrive_command(source: str, target: str | None, rate: int | None, manual: bool, backend: str) -> None:
    """Move the messages of dead-letter queue DLQ back to their source queue, or to --to QUEUE.

    Only the messages there at the start are moved (those dead-lettered meanwhile stay), so a redrive ends even
    while its target keeps failing them. Ctrl-C stops with a count; nothing is lost.
    """
    with _progress() as progress:
        bar = progress.add_task(f"redrive {source}", total=None)

        def report(moved: int, to_move: int) -> None:
            progress.update(bar, completed=moved, total=to_move)

        outcome = on_backend(backend, lambda opened: _redrive(opened, source, target, rate, manual, report))
    if outcome.note:
        click.echo(outcome.note, err=True)
    line = f"moved {outcome.moved} of {outcome.to_move} messages from {source} to {outcome.target} ({outcome.how})"
    if outcome.stopped:
        raise Interrupted(f"interrupted: {line}; the rest stay in {source}")
    click.echo(line)
    if outcome.failures:
        raise CliError(f"{outcome.failures} messages could not be sent and stay in {source}")


def _progress() -> Progress:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    stderr = Console(stderr=True)
    return Progress(*columns, console=stderr, transient=True, disable=not stderr.is_terminal)


async def _redrive(
    backend: AdminBackend, source: str, target: str | None, rate: int | None, manual: bool, report: Report
) -> Outcome:
    dlq = await queue_url(backend, source)
    target_url: str | None
    if target is not None:
        target_url, sources = await queue_url(backend, target), []
    else:
        # A DLQ of one queue goes back to it by name: a move task to "each message's source" fails on a message
        # SQS did not dead-letter itself (a Reject's copy), which has no source to go back to.
        sources = await backend.dead_letter_sources(dlq)
        target_url = sources[0] if len(sources) == 1 else None
    stop = anyio.Event()
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(stop_on_signal, stop)
        outcome = await _choose(backend, dlq, target_url, sources, rate, manual, report, stop)
        tasks.cancel_scope.cancel()
    return outcome


async def _choose(
    backend: AdminBackend, dlq: str, target: str | None, sources: list[str], rate: int | None, manual: bool,
    report: Report, stop: anyio.Event,
) -> Outcome:  # fmt: skip
    note = ""
    if not manual:
        try:
            return await _move_task(backend, dlq, target, rate, report, stop)
        except UnsupportedOperationError:
            note = "this backend has no message move tasks: moving by receive, send, delete"
    if target is None:
        raise _not_one_source(dlq, sources)
    outcome = await _by_hand(backend, dlq, target, rate, report, stop)
    outcome.note = note
    return outcome


async def _arn(backend: AdminBackend, url: str) -> str:
    return (await backend.get_queue_attributes(url, ["QueueArn"]))["QueueArn"]


async def _move_task(
    backend: AdminBackend, dlq: str, target: str | None, rate: int | None, report: Report, stop: anyio.Event,
    clock: Clock = SYSTEM_CLOCK,
) -> Outcome:  # fmt: skip
    source_arn = await _arn(backend, dlq)
    target_arn = None if target is None else await _arn(backend, target)
    started = clock.now()
    handle = await backend.start_move_task(source_arn, target_arn, max_per_second=rate)
    where = "their source queues" if target is None else queue_name(target)
    while True:
        task = await _listed(backend, source_arn, clock, handle, started)
        report(task.moved, task.to_move)
        if task.status != "RUNNING":
            break
        with anyio.move_on_after(POLL_INTERVAL):
            await stop.wait()
        if stop.is_set():
            moved = await backend.cancel_move_task(handle)
            return Outcome(moved, task.to_move, where, "move task, cancelled", stopped=True)
    if task.status != "COMPLETED":
        raise _failed(task, sent_back=target is None)
    return Outcome(task.moved, task.to_move, where, "move task")


async def _listed(backend: AdminBackend, source_arn: str, clock: Clock, handle: str, started: float) -> MoveTaskStatus:
    """The move task this command started. SQS is eventually consistent: a task just started may not be listed
    yet, and the list may still show the DLQ's previous task (finished, so it would pass for this one's result),
    so only this task counts: by its handle while it runs, by its start time once finished (SQS drops the
    handle then). Anything else is asked again a few times before the command gives up (the task goes on)."""
    for look in range(LIST_LOOKS):
        if look:
            await sleep_until(clock, clock.now() + LIST_RETRY)
        for task in await backend.list_move_tasks(source_arn):
            if task.handle == handle or (task.handle is None and task.started_at >= started - START_SKEW):
                return task
    raise CliError(
        f"a move task was started on {source_arn.rsplit(':', 1)[-1]}, but ListMessageMoveTasks showed none in "
        f"{LIST_LOOKS} looks over {(LIST_LOOKS - 1) * LIST_RETRY:g} s; it goes on without this command: follow it "
        f"with `aws sqs list-message-move-tasks --source-arn {source_arn}`"
    )


def _failed(task: MoveTaskStatus, sent_back: bool) -> CliError:
    reason = (task.failure_reason or "no reason given").rstrip(".")
    line = f"move task {task.status.lower()} after {task.moved} of {task.to_move} messages: {reason}"
    if sent_back and "destination" in reason.lower():  # a message with no source, or a source since deleted
        line += "; messages with no source queue to go back to (a Reject's copy, say) need --to QUEUE"
    return CliError(line)


def _not_one_source(dlq: str, sources: list[str]) -> CliError:
    name = queue_name(dlq)
    if not sources:
        return CliError(f"no queue names {name} as its dead-letter queue; say where to with --to QUEUE")
    names = ", ".join(sorted(queue_name(url) for url in sources))
    return CliError(f"{name} is the dead-letter queue of {len(sources)} queues ({names}); say which with --to QUEUE")


async def _by_hand(
    backend: AdminBackend, dlq: str, target: str, rate: int | None, report: Report, stop: anyio.Event
) -> Outcome:
    to_move = (await backend.queue_counts(dlq)).visible
    outcome = Outcome(0, to_move, queue_name(target), "receive, send, delete")
    pace = _Pace(rate, stop)
    report(0, to_move)
    while outcome.moved + outcome.failures < to_move and not stop.is_set():
        want = min(MAX_RECEIVE, rate or MAX_RECEIVE, to_move - outcome.moved - outcome.failures)
        got = await backend.receive_messages(
            dlq, max_messages=want, wait_seconds=1, visibility_timeout=MANUAL_VISIBILITY
        )
        if not got:
            break  # the rest are in flight elsewhere, or expired
        sent = await _send_then_delete(backend, got, dlq, target)
        outcome.moved += sent
        outcome.failures += len(got) - sent
        report(outcome.moved, to_move)
        await pace.after(len(got))
    outcome.stopped = stop.is_set()
    return outcome


async def _send_then_delete(backend: AdminBackend, got: list[QueueMessage], dlq: str, target: str) -> int:
    """Send received messages to the target in batches within SQS's limits (ten 200 KB bodies are two requests),
    and after each batch delete from the DLQ exactly those the target accepted: what was not sent stays."""
    fifo = target.endswith(".fifo")
    received = {str(i): message for i, message in enumerate(got)}
    moved = 0
    for batch in send_batches(_copy(entry, message, fifo) for entry, message in received.items()):
        _, failed = await backend.send_message_batch(target, batch)
        refused = {f.id for f in failed}
        receipts = [Receipt(c.id, received[c.id].receipt_handle) for c in batch if c.id not in refused]
        if receipts:
            await backend.delete_message_batch(dlq, receipts)  # a failed delete only duplicates: it comes back later
        moved += len(receipts)
    return moved


def _copy(entry_id: str, message: QueueMessage, fifo: bool) -> OutgoingMessage:
    attributes = dict(message.message_attributes) or None
    if not fifo:
        return OutgoingMessage(message.body, entry_id, message_attributes=attributes)
    # the original deduplication id would be dropped as a duplicate if the original send was < 5 minutes ago
    group = message.attributes.get("MessageGroupId", "redrive")
    return OutgoingMessage(message.body, entry_id, None, attributes, group, f"redrive-{message.message_id}")


class _Pace:
    """At most ``rate`` messages a second, waiting in a way a stop interrupts."""

    def __init__(self, rate: int | None, stop: anyio.Event) -> None:
        self._rate, self._stop = rate, stop
        self._next = anyio.current_time()

    async def after(self, count: int) -> None:
        if self._rate is None:
            return
        self._next = max(self._next, anyio.current_time() - 1) + count / self._rate
        with anyio.move_on_after(self._next - anyio.current_time()):
            await self._stop.wait()
