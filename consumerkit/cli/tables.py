"""Every queue's counters in one table, for ``queue list`` and ``top``: gathered concurrently, DLQs marked.

A queue counts as a dead-letter queue when a listed queue's RedrivePolicy names it; with ``--prefix`` a DLQ whose
sources fall outside the prefix is shown unmarked (asking every queue for its sources would double the calls).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import anyio
from rich.table import Table

from consumerkit.backends import AdminBackend, QueueCounts
from consumerkit.cli.common import queue_name
from consumerkit.errors import QueueNotFoundError

CONCURRENT_CALLS = 10  # queues asked at once: quick on hundreds of queues, and well below SQS's throttling


@dataclass(frozen=True, slots=True)
class QueueRow:
    name: str
    url: str
    arn: str
    visible: int
    in_flight: int
    delayed: int
    oldest_age: float | None
    dead_letter_target: str | None  # the ARN this queue's RedrivePolicy names
    is_dead_letter_queue: bool = False


async def gather_rows(backend: AdminBackend, prefix: str | None) -> list[QueueRow]:
    urls = await backend.list_queues(prefix)
    found: dict[str, QueueRow] = {}
    limiter = anyio.CapacityLimiter(CONCURRENT_CALLS)

    async def one(url: str) -> None:
        async with limiter:
            try:
                attributes = await backend.get_queue_attributes(url, ["QueueArn", "RedrivePolicy"])
                counts = await backend.queue_counts(url)
            except QueueNotFoundError:  # deleted between the listing and now: not a queue any more
                return
        found[url] = _row(url, attributes, counts)

    async with anyio.create_task_group() as tasks:
        for url in urls:
            tasks.start_soon(one, url)
    targets = {row.dead_letter_target for row in found.values()}
    rows = [_marked(row, row.arn in targets) for row in found.values()]
    return sorted(rows, key=lambda row: row.name)


def _row(url: str, attributes: dict[str, str], counts: QueueCounts) -> QueueRow:
    policy = attributes.get("RedrivePolicy")
    target = json.loads(policy).get("deadLetterTargetArn") if policy else None
    return QueueRow(
        queue_name(url),
        url,
        attributes.get("QueueArn", ""),
        counts.visible,
        counts.in_flight,
        counts.delayed,
        counts.oldest_age,
        target,
    )


def _marked(row: QueueRow, is_dlq: bool) -> QueueRow:
    return QueueRow(**{**asdict(row), "is_dead_letter_queue": is_dlq})


def as_json(rows: list[QueueRow]) -> str:
    return json.dumps([asdict(row) for row in rows], indent=2)


AGE_UNKNOWN = "n/a"
AGE_FOOTNOTE = "oldest age: known on the local engine only"  # under a table that shows AGE_UNKNOWN


def counts_table(rows: list[QueueRow], *, ages: bool, title: str | None = None) -> Table:
    unknown = ages and any(_oldest(row) == AGE_UNKNOWN for row in rows)
    table = Table(title=title, title_justify="left", caption=AGE_FOOTNOTE if unknown else None, caption_justify="left")
    table.add_column("queue", no_wrap=True)
    for heading in ("visible", "in flight", "delayed", *(["oldest"] if ages else [])):
        table.add_column(heading, justify="right", no_wrap=True)
    table.add_column("dead letters", no_wrap=True)
    for row in rows:
        cells = [str(row.visible), str(row.in_flight), str(row.delayed)]
        if ages:
            cells.append(_oldest(row))
        table.add_row(row.name, *cells, _redrive_text(row))
    return table


def _redrive_text(row: QueueRow) -> str:
    if row.is_dead_letter_queue:
        return "(is a DLQ)"
    if row.dead_letter_target:
        return "→ " + row.dead_letter_target.rsplit(":", 1)[-1]
    return ""


def _oldest(row: QueueRow) -> str:
    """``-`` for a queue with nothing to age; ``n/a`` where the backend cannot tell (SQS publishes the age to
    CloudWatch alone), which the table's footnote explains; else the age."""
    if row.oldest_age is not None:
        return age_text(row.oldest_age)
    return "-" if row.visible + row.in_flight + row.delayed == 0 else AGE_UNKNOWN


def age_text(age: float) -> str:
    """``42s``, ``3m05s``, ``2h07m``, ``3d04h``: two units at most, enough to see a backlog age."""
    seconds = int(age)
    for unit, size, small, small_size in (("d", 86_400, "h", 3600), ("h", 3600, "m", 60), ("m", 60, "s", 1)):
        if seconds >= size:
            return f"{seconds // size}{unit}{(seconds % size) // small_size:02d}{small}"
    return f"{seconds}s"
