"""``consumerkit queue ...``: create, list, inspect, purge and delete queues on any backend.

``create`` goes through :class:`~consumerkit.queues.QueueSpec`, the same declaration an app makes, so the CLI and
``App.queue`` build a queue and its dead-letter queue alike and validate with the same limits.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import click

from consumerkit.backends import AdminBackend
from consumerkit.cli.common import (
    backend_option,
    console,
    on_backend,
    pairs,
    queue_url,
    require_terminal_or_yes,
)
from consumerkit.cli.queue_messages import peek_command, send_command
from consumerkit.cli.tables import as_json, counts_table, gather_rows
from consumerkit.engine.model import MAX_DELAY, MAX_RETENTION, MAX_VISIBILITY, MIN_RETENTION
from consumerkit.errors import ConfigError, QueueNotFoundError
from consumerkit.queues import QueueSpec


@click.group("queue")
def queue_group() -> None:
    """Create, list, inspect, feed, peek at, purge and delete queues."""


@queue_group.command("create")
@click.argument("name")
@click.option("--fifo", is_flag=True, help="A FIFO queue (its name, and its DLQ's, must end in .fifo).")
@click.option("--dead-letter", "dead_letter", metavar="DLQ", default=None, help="Create DLQ too and redrive to it.")
@click.option(
    "--max-receives",
    type=click.IntRange(1, 1000),
    default=5,
    show_default=True,
    help="Receives before a message is dead-lettered (RedrivePolicy maxReceiveCount).",
)
@click.option("--visibility-timeout", type=click.IntRange(0, MAX_VISIBILITY), default=None, help="Seconds.")
@click.option("--retention", type=click.IntRange(MIN_RETENTION, MAX_RETENTION), default=None, help="Seconds.")
@click.option("--delay", type=click.IntRange(0, MAX_DELAY), default=None, help="Seconds every message is delayed.")
@click.option("--attribute", "extra", multiple=True, metavar="KEY=VALUE", help="Any other SQS attribute.")
@backend_option
def create_command(name: str, fifo: bool, dead_letter: str | None, max_receives: int, **options: Any) -> None:
    """Create queue NAME, and with --dead-letter its DLQ first (same type, 14 days' retention) and the
    RedrivePolicy. Idempotent: an existing queue with the same attributes is left as it is; an existing DLQ is
    used as it is."""
    if fifo and not name.endswith(".fifo"):
        raise click.BadParameter(f"{name!r}: a FIFO queue's name must end in .fifo", param_hint="NAME")
    try:
        spec = QueueSpec(name, dead_letter, max_receives, options["visibility_timeout"], _create_attributes(options))
    except ConfigError as error:
        raise click.UsageError(str(error)) from None
    for line in on_backend(options["backend"], lambda backend: _create(backend, spec)):
        click.echo(line)


def _create_attributes(options: dict[str, Any]) -> dict[str, str]:
    attributes = {}
    if options["retention"] is not None:
        attributes["MessageRetentionPeriod"] = str(options["retention"])
    if options["delay"] is not None:
        attributes["DelaySeconds"] = str(options["delay"])
    return attributes | pairs("--attribute", options["extra"])


async def _create(backend: AdminBackend, spec: QueueSpec) -> list[str]:
    lines, arn = [], None
    if spec.dead_letter is not None:
        try:
            dlq_url = await backend.get_queue_url(spec.dead_letter)
        except QueueNotFoundError:
            dlq_url = await backend.create_queue(spec.dead_letter, spec.dead_letter_attributes())
        arn = (await backend.get_queue_attributes(dlq_url, ["QueueArn"]))["QueueArn"]
        lines.append(f"dead-letter queue {spec.dead_letter}: {dlq_url}")
    url = await backend.create_queue(spec.name, spec.attributes(arn))
    after = f", dead-lettered after {spec.max_receives} receives" if arn else ""
    return [*lines, f"queue {spec.name}: {url}{after}"]


@queue_group.command("list")
@click.option("--prefix", default=None, help="Only queues whose name starts with this.")
@click.option("--json", "as_json_", is_flag=True, help="JSON for scripts, with URLs, ARNs and ages.")
@backend_option
def list_command(prefix: str | None, as_json_: bool, backend: str) -> None:
    """Every queue with its visible, in-flight and delayed counts; DLQs marked."""
    rows = on_backend(backend, lambda opened: gather_rows(opened, prefix))
    if as_json_:
        click.echo(as_json(rows))
    elif not rows:
        click.echo("no queues" + (f" starting with {prefix!r}" if prefix else ""))
    else:
        console().print(counts_table(rows, ages=False))


@queue_group.command("attributes")
@click.argument("name")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE", help="Change an attribute first.")
@click.option("--json", "as_json_", is_flag=True, help="A JSON object for scripts.")
@backend_option
def attributes_command(name: str, settings: tuple[str, ...], as_json_: bool, backend: str) -> None:
    """Show queue NAME's attributes, after changing those --set names."""
    changes = pairs("--set", settings)

    async def work(opened: AdminBackend) -> dict[str, str]:
        url = await queue_url(opened, name)
        if changes:
            await opened.set_queue_attributes(url, changes)
        return await opened.get_queue_attributes(url)

    attributes = on_backend(backend, work)
    if as_json_:
        click.echo(json.dumps(attributes, indent=2, sort_keys=True))
        return
    width = max(map(len, attributes), default=0)
    for key in sorted(attributes):
        click.echo(f"{key:<{width}}  {attributes[key]}")


def _irreversible(verb: str, asking: str, help_text: str, act: Callable[[AdminBackend, str], Awaitable[None]]) -> None:
    """A command that cannot be undone (purge, delete): it asks first, or refuses without a terminal."""

    @queue_group.command(verb, help=help_text)
    @click.argument("name")
    @click.option("--yes", is_flag=True, allow_from_autoenv=False, help="Do not ask.")
    @backend_option
    def command(name: str, yes: bool, backend: str) -> None:
        require_terminal_or_yes(yes, asking.format(name=name))

        async def work(opened: AdminBackend) -> None:
            await act(opened, await queue_url(opened, name))

        on_backend(backend, work)
        click.echo(f"{verb}d {name}")


_irreversible(
    "purge",
    "purge every message of {name}",
    "Delete every message of queue NAME (SQS allows one purge per queue a minute).",
    lambda backend, url: backend.purge_queue(url),
)
_irreversible(
    "delete",
    "delete queue {name}",
    "Delete queue NAME and its messages (its DLQ stays). SQS frees the name after 60 seconds.",
    lambda backend, url: backend.delete_queue(url),
)

queue_group.add_command(send_command)
queue_group.add_command(peek_command)

__all__ = ["queue_group"]
