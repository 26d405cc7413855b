"""``consumerkit run module:app``: run a worker application as a long-running process.

The process drains on SIGTERM/SIGINT (a second signal releases at once) and exits 0 once every running job has
finished or been released, so an orchestrator's stop is never a lost message.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from consumerkit.app import BACKEND_ENV, App
from consumerkit.errors import ConfigError, ConsumerkitError


def load_app(target: str) -> App:
    """Import ``module:attribute`` (the current directory first on the path, as ``python -m`` would)."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"APP {target!r}: expected module:attribute, e.g. workers.video:app")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigError(f"APP {target!r}: cannot import {module_name!r}: {error}") from None
    app = getattr(module, attribute, None)
    if app is None:
        raise ConfigError(f"APP {target!r}: module {module_name!r} has no attribute {attribute!r}")
    if not isinstance(app, App):
        raise ConfigError(f"APP {target!r}: {attribute!r} is a {type(app).__name__}, not a consumerkit App")
    return app


@click.command("run")
@click.argument("target", metavar="APP")
@click.option("--backend", envvar=BACKEND_ENV, default=None, help="Backend URL [env CONSUMERKIT_BACKEND].")
@click.option(
    "--concurrency",
    envvar="CONSUMERKIT_CONCURRENCY",
    type=click.IntRange(1, 100_000),
    default=None,
    help="Slots for every handler, overriding the code [env CONSUMERKIT_CONCURRENCY].",
)
@click.option(
    "--drain-timeout",
    envvar="CONSUMERKIT_DRAIN_TIMEOUT",
    type=click.FloatRange(0, 172_800),
    default=None,
    help="Seconds running jobs may finish after SIGTERM [env CONSUMERKIT_DRAIN_TIMEOUT; default 25].",
)
def run_command(target: str, backend: str | None, concurrency: int | None, drain_timeout: float | None) -> None:
    """Run the worker APP (module:attribute) until SIGTERM or Ctrl-C, then drain and exit."""
    try:
        app = load_app(target)
        if concurrency is not None:
            app.handlers = [spec.replace(concurrency=concurrency) for spec in app.handlers]
        if drain_timeout is not None:
            app.settings = app.settings.replace(drain_timeout=drain_timeout)
        app.run(backend)
    except ConsumerkitError as error:
        raise click.ClickException(str(error)) from None
