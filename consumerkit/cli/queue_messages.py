"""``consumerkit queue send`` and ``queue peek``: put messages on a queue, and look at some without taking them.

``send`` streams its lines: a batch leaves as soon as it is full (10 messages, or SQS's 1 MiB per request), so a
producer's output can be piped in without being held in memory. ``peek`` is a real receive with visibility 0:
the messages stay available, but each peek counts as one receive of each (see :func:`peek_command`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO

import anyio.lowlevel
import click
from rich.table import Table

from consumerkit.backends import AdminBackend, EntryFailure, OutgoingMessage, QueueMessage, VisibilityChange
from consumerkit.cli.batching import send_batches
from consumerkit.cli.common import CliError, Interrupted, backend_option, console, on_backend, queue_url
from consumerkit.engine.model import MAX_BATCH_ENTRIES, MAX_DELAY, MAX_RECEIVE, MAX_WAIT_SECONDS

BODY_SHOWN = 80  # characters of a body that peek shows without --full
PEEK_LIMIT = 100  # messages one peek may show
PEEK_HIDE = 30  # seconds a peek of more than one batch hides each batch, so that the next receive brings others


@click.command("send")
@click.argument("name")
@click.argument("body", required=False)
@click.option("--file", "source", type=click.File("r"), default=None, help="One message per line ('-': stdin).")
@click.option("--group-id", default=None, help="MessageGroupId (FIFO queues: required).")
@click.option("--dedup-id", default=None, help="MessageDeduplicationId (FIFO, one message only).")
@click.option("--delay", type=click.IntRange(0, MAX_DELAY), default=None, help="Seconds before it is visible.")
@backend_option
def send_command(
    name: str, body: str | None, source: IO[str] | None, group_id: str | None, dedup_id: str | None,
    delay: int | None, backend: str,
) -> None:  # fmt: skip
    """Send BODY to queue NAME; with '-' or --file PATH, one message per non-empty line, 10 to a batch."""
    if (body is None) == (source is None):
        raise click.UsageError("give BODY (or - for stdin lines) or --file PATH, one of them")
    if body is not None and body.strip() == "":
        raise click.BadParameter("is empty; SQS refuses an empty message", param_hint="BODY")
    lines = [(1, body)] if body is not None and body != "-" else _lines(source or sys.stdin)
    if name.endswith(".fifo") and group_id is None:
        raise click.UsageError(f"--group-id: {name} is a FIFO queue, whose every message needs a group")
    template = OutgoingMessage("", delay_seconds=delay, group_id=group_id, deduplication_id=dedup_id)
    stream = _Sending()

    async def work(opened: AdminBackend) -> None:
        url = await queue_url(opened, name)
        await _send_all(opened, url, _outgoing(lines, template), stream)

    try:
        on_backend(backend, work)
    except (CliError, KeyboardInterrupt) as error:
        raise _stopped(stream, error) from None
    click.echo(f"sent {stream.sent} message{'s' * (stream.sent != 1)} to {name}")
    stream.report_failures()
    if stream.failures:
        raise CliError(f"{len(stream.failures)} of {stream.sent + len(stream.failures)} messages not sent")


@dataclass
class _Sending:
    """How far a send has got, kept outside the event loop so that a failure or Ctrl-C can still say it."""

    sent: int = 0
    failures: list[str] = field(default_factory=list)
    resume: int = 1  # the first input line after every batch the queue has answered
    attempted: bool = False  # a batch was sent (else an error is about the command, not a stream cut short)
    pending: bool = False  # a batch is on its way, unanswered

    def report_failures(self) -> None:
        for failure in self.failures:
            click.echo(f"not sent: {failure}", err=True)


def _stopped(stream: _Sending, error: CliError | KeyboardInterrupt) -> CliError:
    """The one line of a send cut short: how many went, and the input line to resume from."""
    if isinstance(error, CliError) and not stream.attempted:
        return error
    stream.report_failures()
    where = f"sent {stream.sent}; stopped at line {stream.resume}"
    if isinstance(error, CliError):
        return CliError(f"{where}: {error.format_message()}")
    maybe = " (the batch from that line may have reached the queue too)" if stream.pending else ""
    return Interrupted(f"interrupted: {where}{maybe}")


def _lines(stream: IO[str]) -> Iterator[tuple[int, str]]:
    """Each non-empty line with its number in the input, blank lines counted, so a line number points into
    the file."""
    for number, line in enumerate(stream, 1):
        if text := line.rstrip("\r\n"):
            yield number, text


def _outgoing(lines: Iterable[tuple[int, str]], template: OutgoingMessage) -> Iterator[OutgoingMessage]:
    for count, (number, line) in enumerate(lines, 1):
        if count > 1 and template.deduplication_id is not None:
            raise CliError("--dedup-id names one message; for several, let the queue deduplicate by content")
        yield OutgoingMessage(
            line, f"line{number}", template.delay_seconds, None, template.group_id, template.deduplication_id
        )


async def _send_all(backend: AdminBackend, url: str, messages: Iterable[OutgoingMessage], stream: _Sending) -> None:
    for batch in send_batches(messages):
        stream.attempted = stream.pending = True
        ids, failed = await backend.send_message_batch(url, batch)
        stream.pending = False
        stream.sent += len(ids)
        stream.failures += [_failure_text(f) for f in failed]
        stream.resume = int(batch[-1].id.removeprefix("line")) + 1
        await anyio.lowlevel.checkpoint()  # the local engine never waits: without this, Ctrl-C would not land


def _failure_text(failure: EntryFailure) -> str:
    return f"{failure.id.replace('line', 'line ')}: {failure.code}: {failure.message}"


@click.command("peek")
@click.argument("name")
@click.option("--max", "most", type=click.IntRange(1, PEEK_LIMIT), default=10, show_default=True, help="Messages.")
@click.option("--full", is_flag=True, help=f"Whole bodies (else the first {BODY_SHOWN} characters).")
@click.option("--json", "as_json", is_flag=True, help="JSON lines: id, receive count, sent time, body, attributes.")
@click.option(
    "--wait",
    type=click.IntRange(0, MAX_WAIT_SECONDS),
    default=1,
    show_default=True,
    help="Seconds the first receive may wait (a short poll on SQS may miss messages).",
)
@backend_option
def peek_command(name: str, most: int, full: bool, as_json: bool, wait: int, backend: str) -> None:
    """Show messages of queue NAME without consuming them: a receive with visibility 0 (past 10 messages,
    each batch is hidden while the peek runs and made visible again at its end).

    A peek IS a receive: it adds one to each message's ApproximateReceiveCount, so on a queue with a
    RedrivePolicy, peeking a message that is at its maxReceiveCount moves it to the dead-letter queue.
    """

    async def work(opened: AdminBackend) -> list[QueueMessage]:
        return await _peek(opened, await queue_url(opened, name), most, wait)

    messages = on_backend(backend, work)
    if as_json:
        for message in messages:
            click.echo(json.dumps(_as_dict(message)))
    elif not messages:
        click.echo(f"no visible messages in {name}")
    else:
        console().print(_table(messages, full))


async def _peek(backend: AdminBackend, url: str, most: int, wait: int) -> list[QueueMessage]:
    """Up to ``most`` messages, each received once. One batch is a receive with visibility 0; more take several
    receives, each batch hidden for :data:`PEEK_HIDE` seconds so the next brings others, and all are made
    visible again at the end (or, if the peek dies, when that time is up). The first receive waits ``wait``
    seconds: a short poll on SQS may answer from too few of its servers."""
    if most <= MAX_RECEIVE:
        return await backend.receive_messages(url, max_messages=most, wait_seconds=wait, visibility_timeout=0)
    seen: list[QueueMessage] = []
    try:
        while len(seen) < most:
            got = await backend.receive_messages(
                url, max_messages=min(MAX_RECEIVE, most - len(seen)), wait_seconds=0 if seen else wait,
                visibility_timeout=PEEK_HIDE,
            )  # fmt: skip
            if not got:
                break
            seen += got
    finally:
        for start in range(0, len(seen), MAX_BATCH_ENTRIES):
            batch = seen[start : start + MAX_BATCH_ENTRIES]
            await backend.change_visibility_batch(
                url, [VisibilityChange(str(i), m.receipt_handle, 0) for i, m in enumerate(batch)]
            )
    return seen


def _sent(message: QueueMessage) -> str:
    stamp = message.attributes.get("SentTimestamp")
    return "-" if stamp is None else datetime.fromtimestamp(int(stamp) / 1000, UTC).isoformat(timespec="seconds")


def _as_dict(message: QueueMessage) -> dict[str, object]:
    return {
        "id": message.message_id,
        "receive_count": int(message.attributes.get("ApproximateReceiveCount", 0)),
        "sent": _sent(message),
        "body": message.body,
        "attributes": dict(message.attributes),
    }


def _table(messages: list[QueueMessage], full: bool) -> Table:
    table = Table()
    table.add_column("id", no_wrap=True)
    table.add_column("receives", justify="right")
    table.add_column("sent (UTC)", no_wrap=True)
    table.add_column("body", overflow="fold")
    for message in messages:
        body = message.body if full else _shortened(message.body)
        table.add_row(message.message_id, message.attributes.get("ApproximateReceiveCount", "?"), _sent(message), body)
    return table


def _shortened(body: str) -> str:
    flat = " ".join(body.split())
    return flat if len(flat) <= BODY_SHOWN else flat[: BODY_SHOWN - 1] + "…"
