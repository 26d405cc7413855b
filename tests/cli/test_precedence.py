"""Beyond ``--backend``: a flag beats its ``CONSUMERKIT_*`` variable, which beats the default, for ``run``'s
own variables and for the ones click derives (``CONSUMERKIT_TOP_INTERVAL``), as docs/configuration.md says."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import click
import pytest

from consumerkit.cli.main import main
from consumerkit.cli.run import Operations


def resolved(monkeypatch: pytest.MonkeyPatch, path: str, args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """The parameters the command ``path`` (``queue peek``) would be called with, under ``env``: click's own
    parsing, the same as a real invocation, stopped before the command runs."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    *groups, leaf = path.split()
    context = click.Context(main, info_name="consumerkit", **main.context_settings)
    group: click.Command = main
    for name in groups:  # each level adds its name to the variables click derives: CONSUMERKIT_QUEUE_PEEK_MAX
        assert isinstance(group, click.Group)
        group = group.commands[name]
        context = click.Context(group, info_name=name, parent=context)
    assert isinstance(group, click.Group)
    return dict(group.commands[leaf].make_context(leaf, list(args), parent=context).params)  # it consumes the list


def operations(params: dict[str, Any]) -> Operations:
    """What ``run`` hands to ``install_operations``: its operator's switches, by name."""
    return Operations(**{field.name: params[field.name] for field in fields(Operations)})


def test_run_http_port_and_host_flag_beats_variable_beats_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CONSUMERKIT_HTTP_PORT", "CONSUMERKIT_HTTP_HOST"):
        monkeypatch.delenv(name, raising=False)
    default = operations(resolved(monkeypatch, "run", ["worker:app"], {}))
    assert (default.http_port, default.http_host) == (None, "127.0.0.1")  # no endpoints unless asked for
    env = {"CONSUMERKIT_HTTP_PORT": "9100", "CONSUMERKIT_HTTP_HOST": "0.0.0.0"}
    from_env = operations(resolved(monkeypatch, "run", ["worker:app"], env))
    assert (from_env.http_port, from_env.http_host) == (9100, "0.0.0.0")
    flags = ["worker:app", "--http-port", "9200", "--http-host", "::1"]
    from_flags = operations(resolved(monkeypatch, "run", flags, env))
    assert (from_flags.http_port, from_flags.http_host) == (9200, "::1")


def test_top_interval_flag_beats_the_derived_variable_beats_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """``top --interval`` has no variable of its own; click derives ``CONSUMERKIT_TOP_INTERVAL`` (``queue peek
    --max`` gets none by its flag's name: click names it after the parameter, ``most``)."""
    monkeypatch.delenv("CONSUMERKIT_TOP_INTERVAL", raising=False)
    assert resolved(monkeypatch, "top", ["--once"], {})["interval"] == 2.0
    assert resolved(monkeypatch, "top", ["--once"], {"CONSUMERKIT_TOP_INTERVAL": "5"})["interval"] == 5.0
    flag = ["--once", "--interval", "7"]
    assert resolved(monkeypatch, "top", flag, {"CONSUMERKIT_TOP_INTERVAL": "5"})["interval"] == 7.0
