"""Every command's runtime errors are one line, ``error: ...``, exit status 1; a usage mistake stays click's 2."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from consumerkit.cli.main import main
from tests.cli.conftest import failed

UNOPENABLE = "sqlite:////proc/nonexistent/queues.db"  # /proc takes no new directory, not even from root
REASON = "cannot open SQLite store '/proc/nonexistent/queues.db': cannot create directory '/proc/nonexistent'"


@pytest.mark.parametrize(
    "args",
    [
        ("queue", "list"),
        ("queue", "create", "jobs"),
        ("queue", "send", "jobs", "body"),
        ("queue", "peek", "jobs"),
        ("dlq", "redrive", "jobs-dlq"),
        ("top", "--once"),
        ("top",),
        ("run", "tests.cli.worker_app:app"),
        ("serve", "--port", "0"),
    ],
)
def test_a_sqlite_path_that_cannot_be_created_is_one_line(args: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*args, "--backend", UNOPENABLE], catch_exceptions=False)
    assert failed(result).startswith(REASON), result.output
    assert "Traceback" not in result.output


def test_run_and_serve_say_error_as_the_operator_commands_do() -> None:
    runner = CliRunner()
    assert (
        failed(runner.invoke(main, ["run", "nocolon"]))
        == "APP 'nocolon': expected module:attribute, e.g. workers.video:app"
    )
    served = failed(runner.invoke(main, ["serve", "--port", "0", "--access-key", "k"]))
    assert served == "--access-key and --secret-key: give both, or neither"
    usage = runner.invoke(main, ["serve", "--port", "x"])
    assert usage.exit_code == 2 and usage.stderr.startswith("Usage: ")
