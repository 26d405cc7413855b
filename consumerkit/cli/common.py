"""What every operator command shares: the ``--backend`` option, one-line errors, and a backend to work on.

Precedence is click's: a flag beats ``$CONSUMERKIT_BACKEND``, which beats the embedded default
(:data:`~consumerkit.backends.urls.DEFAULT_BACKEND`, the same as ``consumerkit run``'s). An empty variable counts
as unset, as in a compose file's ``VAR=``.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any, TypeVar

import anyio
import click
from rich.console import Console

from consumerkit.app import BACKEND_ENV
from consumerkit.backends import DEFAULT_BACKEND, AdminBackend, open_backend
from consumerkit.errors import ConsumerkitError, QueueNotFoundError, unwrap

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

WIDE = 200  # columns of a table written to a pipe or a file, where nothing wraps it


class CliError(click.ClickException):
    """A failure the operator can act on: one line ``error: ...`` on stderr, exit code 1, no traceback."""

    exit_code = 1

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class Interrupted(CliError):
    """Ctrl-C or SIGTERM: the count so far, and the shell's exit code for an interrupted command."""

    exit_code = 130


def backend_option(command: F) -> F:
    option = click.option(
        "--backend",
        envvar=BACKEND_ENV,
        default=DEFAULT_BACKEND,
        show_default=True,
        help=f"Backend URL: memory://, sqlite:///path.db, sqs://REGION or http(s)://host:port [env {BACKEND_ENV}].",
    )
    return option(command)


def on_backend(url: str, work: Callable[[AdminBackend], Awaitable[T]]) -> T:
    """Run ``work`` on the backend ``url`` names, with every consumerkit error as one ``error:`` line."""

    async def main() -> T:
        backend = open_backend(url)
        if not isinstance(backend, AdminBackend):  # every backend URL opens one today; a plug-in might not
            raise CliError(f"backend {type(backend).__name__} cannot administer queues")
        async with backend:
            return await work(backend)

    with one_line_errors():
        return anyio.run(main)


@contextmanager
def one_line_errors(*also: type[Exception]) -> Iterator[None]:
    """Every consumerkit error (and each type in ``also``, such as ``OSError`` for a port in use) as one
    ``error:`` line with exit status 1, whether raised alone or as the one error of a command's task group."""
    said: tuple[type[Exception], ...] = (ConsumerkitError, *also)
    try:
        yield
    except said as error:
        raise CliError(str(error)) from None
    except BaseExceptionGroup as group:
        inner = unwrap(group)
        if isinstance(inner, click.ClickException):
            raise inner from None
        if isinstance(inner, said):
            raise CliError(str(inner)) from None
        raise


async def queue_url(backend: AdminBackend, name: str) -> str:
    """The URL of the queue ``name`` (a name, or already a URL), with a missing queue said plainly."""
    if name.startswith(("http://", "https://")):
        return name
    try:
        return await backend.get_queue_url(name)
    except QueueNotFoundError:
        raise CliError(f"queue {name!r} does not exist") from None


def queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def pairs(option: str, values: Iterable[str]) -> dict[str, str]:
    """``Key=Value`` settings, each checked for its ``=``."""
    found: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{value!r} is not Key=Value", param_hint=option)
        found[key] = rest
    return found


def console() -> Console:
    """Rich output on stdout; wide and plain when stdout is no terminal, so scripts get whole lines."""
    terminal = sys.stdout.isatty()
    return Console(width=None if terminal else WIDE, no_color=not terminal, highlight=False)


def require_terminal_or_yes(yes: bool, what: str) -> None:
    """Ask before something that cannot be undone; with no terminal to ask on, refuse rather than hang."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise CliError(f"{what}: cannot be undone; no terminal to confirm on, so pass --yes")
    if not click.confirm(f"{what}: this cannot be undone. Go ahead?", default=False):
        raise CliError(f"{what}: not confirmed, nothing done")


async def stop_on_signal(stop: anyio.Event) -> None:
    """Set ``stop`` at Ctrl-C or SIGTERM, so a long command ends where it chooses, with its count, and exits as
    it decides rather than by a KeyboardInterrupt at an arbitrary await."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            stop.set()
