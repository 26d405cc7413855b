"""``consumerkit top``: every queue's backlog, refreshed in place, for watching a system drain or back up.

The oldest message's age comes from the local engine only: SQS publishes ``ApproximateAgeOfOldestMessage`` to
CloudWatch, not through its API, and asking CloudWatch would need other permissions than the queues' own.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

import anyio
import click
from rich.live import Live
from rich.table import Table

from consumerkit.backends import AdminBackend
from consumerkit.cli.common import backend_option, console, on_backend, stop_on_signal
from consumerkit.cli.tables import counts_table, gather_rows


@click.command("top")
@click.option("--interval", type=click.FloatRange(0.2, 3600), default=2.0, show_default=True, help="Seconds.")
@click.option("--prefix", default=None, help="Only queues whose name starts with this.")
@click.option("--once", is_flag=True, help="Print one table and exit (for scripts).")
@backend_option
def top_command(interval: float, prefix: str | None, once: bool, backend: str) -> None:
    """A live table of every queue: visible, in flight, delayed, oldest age; DLQs marked. Ctrl-C ends it.

    Off a terminal (a pipe, a log) it prints a new table every interval instead of redrawing one.
    """
    if once:
        console().print(on_backend(backend, lambda opened: _table(opened, prefix)))
        return
    on_backend(backend, lambda opened: _watch(opened, prefix, interval))


async def _table(backend: AdminBackend, prefix: str | None) -> Table:
    rows = await gather_rows(backend, prefix)
    title = f"{len(rows)} queues{f' starting with {prefix!r}' if prefix else ''} at {datetime.now():%H:%M:%S}"
    return counts_table(rows, ages=True, title=title)


async def _watch(backend: AdminBackend, prefix: str | None, interval: float) -> None:
    """Refresh until Ctrl-C or SIGTERM, the way out of a live view rather than a failure: exit status 0."""
    stop = anyio.Event()
    out = console()
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(stop_on_signal, stop)
        with Live(console=out, auto_refresh=False) if out.is_terminal else contextlib.nullcontext() as live:
            while not stop.is_set():
                table = await _table(backend, prefix)
                if live is None:
                    out.print(table)
                else:
                    live.update(table, refresh=True)
                with anyio.move_on_after(interval):
                    await stop.wait()
        tasks.cancel_scope.cancel()
