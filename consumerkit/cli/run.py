"""``consumerkit run module:app``: run a worker application as a long-running process.

The process drains on SIGTERM/SIGINT (a second signal releases at once) and exits 0 once every running job has
finished or been released, so an orchestrator's stop is never a lost message.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

from consumerkit.app import BACKEND_ENV, App
from consumerkit.aws import ec2_protection_service, ecs_protection_service, spot_watch_service
from consumerkit.cli.common import one_line_errors
from consumerkit.errors import ConfigError
from consumerkit.observability.http import DEFAULT_HTTP_HOST, HTTP_HOST_ENV, HTTP_PORT_ENV, http_service
from consumerkit.observability.logging import install_logging
from consumerkit.observability.metrics import install_metrics


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


@dataclass(frozen=True)
class Operations:
    """The operator's switches of ``consumerkit run``: endpoints, logs, backlog sampling, AWS hooks."""

    http_port: int | None = None
    http_host: str = DEFAULT_HTTP_HOST
    log_format: str | None = None
    log_level: str | None = None
    sample_interval: float | None = None
    ecs_protection: bool = False
    ec2_protection: bool = False
    asg_name: str | None = None
    spot_watch: bool = False


def install_operations(app: App, ops: Operations) -> None:
    """Logs always; metrics and health endpoints when a port is given; each AWS hook when asked for. The hooks
    are built here, before anything runs, so a missing setting (ECS_AGENT_URI) fails the start at once."""
    install_logging(app, ops.log_format, ops.log_level)
    if ops.sample_interval is not None:
        if 0 < ops.sample_interval < 1:
            raise ConfigError(f"--sample-interval={ops.sample_interval:g} is out of range: 0 (off) or 1..3600 seconds")
        app.settings = app.settings.replace(sample_interval=ops.sample_interval or None)
    if ops.asg_name is not None and not ops.ec2_protection:
        raise ConfigError("--asg-name is only for --ec2-protection: add that flag, or drop the name")
    metrics = None
    if ops.http_port is not None:
        metrics = install_metrics(app)
        app.add_service(http_service(ops.http_host, ops.http_port, metrics.registry))
    protections = {"ecs": ecs_protection_service() if ops.ecs_protection else None,
                   "ec2": ec2_protection_service(asg_name=ops.asg_name) if ops.ec2_protection else None}  # fmt: skip
    for protector, service in protections.items():
        if service is not None:
            app.add_service(service)
            if metrics is not None:
                metrics.watch_protection(protector, service)
    if ops.spot_watch:
        watch = spot_watch_service()
        app.add_service(watch)
        if metrics is not None:
            metrics.watch_spot(watch)


def _flag(name: str, env: str, text: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option(name, envvar=env, is_flag=True, default=False, help=f"{text} [env {env}].")


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
@click.option(
    "--http-port",
    envvar=HTTP_PORT_ENV,
    type=click.IntRange(0, 65_535),
    default=None,
    help="Serve /metrics, /livez and /readyz on this port; 0 picks one; off by default [env CONSUMERKIT_HTTP_PORT].",
)
@click.option(
    "--http-host",
    envvar=HTTP_HOST_ENV,
    default=DEFAULT_HTTP_HOST,
    show_default=True,
    help="Address of that port; a container scraped from outside needs 0.0.0.0 [env CONSUMERKIT_HTTP_HOST].",
)
@click.option(
    "--log-format",
    envvar="CONSUMERKIT_LOG_FORMAT",
    type=click.Choice(["auto", "json", "console"], case_sensitive=False),
    default=None,
    help="auto: console on a terminal, JSON lines otherwise [env CONSUMERKIT_LOG_FORMAT].",
)
@click.option("--log-level", envvar="CONSUMERKIT_LOG_LEVEL", default=None, help="[env CONSUMERKIT_LOG_LEVEL; INFO]")
@click.option(
    "--sample-interval",
    envvar="CONSUMERKIT_SAMPLE_INTERVAL",
    type=click.FloatRange(0, 3600),
    default=None,
    help="Seconds between backlog samples; 0 turns them off [env CONSUMERKIT_SAMPLE_INTERVAL; 30].",
)
@_flag("--ecs-protection", "CONSUMERKIT_ECS_PROTECTION", "ECS task scale-in protection while busy")
@_flag("--ec2-protection", "CONSUMERKIT_EC2_PROTECTION", "EC2 Auto Scaling instance protection while busy")
@click.option("--asg-name", envvar="CONSUMERKIT_ASG_NAME", default=None, help="[env CONSUMERKIT_ASG_NAME]")
@_flag("--spot-watch", "CONSUMERKIT_SPOT_WATCH", "Drain when EC2 schedules a Spot interruption")
def run_command(
    target: str, backend: str | None, concurrency: int | None, drain_timeout: float | None, **ops: Any
) -> None:
    """Run the worker APP (module:attribute) until SIGTERM or Ctrl-C, then drain and exit."""
    with one_line_errors():
        app = load_app(target)
        if concurrency is not None:
            app.handlers = [spec.replace(concurrency=concurrency) for spec in app.handlers]
        if drain_timeout is not None:
            app.settings = app.settings.replace(drain_timeout=drain_timeout)
        install_operations(app, Operations(**ops))
        app.run(backend)
