"""The operator commands run on the local engine in a SQLite file and over HTTP against ``consumerkit serve``:
the two backends a command's state outlives it on (``memory://`` would give every command an empty engine)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from consumerkit.cli.main import main
from tests.fixtures.backends import url_for

Invoke = Callable[..., Result]


@pytest.fixture(params=["sqlite", "serve"])
def cli_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def cli_url(cli_kind: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    return url_for(cli_kind, request, tmp_path, monkeypatch)


@pytest.fixture
def ck(cli_url: str) -> Invoke:
    """``consumerkit ARGS`` in-process, with ``$CONSUMERKIT_BACKEND`` naming the test's backend."""

    def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        environment = {"CONSUMERKIT_BACKEND": cli_url, **(env or {})}
        return CliRunner().invoke(main, list(args), input=input, env=environment, catch_exceptions=False)

    return invoke


def ok(result: Result) -> str:
    """The command's stdout, once it is known to have succeeded."""
    assert result.exit_code == 0, (result.exit_code, result.output)
    return result.stdout


def failed(result: Result, code: int = 1) -> str:
    """The one ``error:`` line a failed command wrote, once it is known to have failed with ``code``."""
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0].removeprefix("error: ")
