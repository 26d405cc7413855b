"""The operator commands run on the local engine in a SQLite file and over HTTP against ``consumerkit serve``:
the two backends a command's state outlives it on (``memory://`` would give every command an empty engine)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
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


WAIT = 15  # seconds: a bound on what should take well under one


def interrupted(url: str, started: Callable[[], bool], *args: str) -> str:
    """``consumerkit ARGS`` in a process of its own on the backend ``url``, and a Ctrl-C once ``started()``
    holds: its stderr, once it has exited 130 with nothing on stdout."""
    command = [sys.executable, "-m", "consumerkit", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "CONSUMERKIT_BACKEND": url})  # fmt: skip
    try:
        deadline = time.monotonic() + WAIT
        while not started():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, f"{args[:2]} did not start within {WAIT} s"
            time.sleep(0.05)  # a poll interval while it starts, not a wait for anything in particular
        os.kill(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=WAIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert (process.returncode, out) == (130, ""), err
    return err
