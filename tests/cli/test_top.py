"""``consumerkit top --once``, and what every operator command shares: backend precedence and one-line errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from consumerkit.cli.main import main
from tests.cli.conftest import Invoke, failed, ok
from tests.fixtures.backends import free_port, remote_env


def test_top_once_shows_every_queue_with_its_oldest_age(ck: Invoke, cli_kind: str, queue_name: str) -> None:
    ok(ck("queue", "create", queue_name, "--dead-letter", f"{queue_name}-dlq"))
    ok(ck("queue", "send", queue_name, "-", input="a\nb\n"))
    ok(ck("queue", "send", queue_name, "later", "--delay", "600"))
    table = ok(ck("top", "--once", "--prefix", queue_name))
    assert table.splitlines()[0].startswith(f"2 queues starting with {queue_name!r} at ")
    (row,) = [line.split("│")[1:-1] for line in table.splitlines() if f"│ {queue_name} " in line]
    cells = [cell.strip() for cell in row]
    assert cells[:4] == [queue_name, "2", "0", "1"]
    # the local engine knows the oldest message's age; SQS (and so our server through it) publishes it elsewhere,
    # which a footnote under the table says
    footnote = "oldest age: known on the local engine only"
    if cli_kind == "serve":
        assert cells[4] == "n/a" and table.splitlines()[-1].strip() == footnote
    else:
        assert cells[4].endswith("s") and footnote not in table
    assert cells[5] == f"→ {queue_name}-dlq"
    (dlq,) = [line.split("│")[1:-1] for line in table.splitlines() if f"│ {queue_name}-dlq " in line]
    assert [cell.strip() for cell in dlq][4:] == ["-", "(is a DLQ)"]  # empty: no age to know
    usage = ck("top", "--interval", "0")
    assert usage.exit_code == 2 and "'--interval': 0.0 is not in the range 0.2<=x<=3600" in usage.stderr


def test_the_flag_beats_the_environment_which_beats_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CONSUMERKIT_BACKEND", raising=False)
    flag, env = f"sqlite:///{tmp_path}/flag.db", f"sqlite:///{tmp_path}/env.db"
    runner = CliRunner()
    assert runner.invoke(main, ["queue", "create", "q-default"]).exit_code == 0
    assert (tmp_path / ".consumerkit" / "queues.db").exists()  # the embedded default, as `consumerkit run` has
    assert runner.invoke(main, ["queue", "create", "q-env"], env={"CONSUMERKIT_BACKEND": env}).exit_code == 0
    both = runner.invoke(main, ["queue", "create", "q-flag", "--backend", flag], env={"CONSUMERKIT_BACKEND": env})
    assert both.exit_code == 0
    for url, name in ((flag, "q-flag"), (env, "q-env"), ("sqlite:///.consumerkit/queues.db", "q-default")):
        listed = runner.invoke(main, ["queue", "list", "--json", "--backend", url]).stdout
        assert f'"name": "{name}"' in listed and listed.count('"name"') == 1, (url, listed)
    blank = runner.invoke(main, ["queue", "list", "--json"], env={"CONSUMERKIT_BACKEND": ""})  # blank: unset
    assert '"name": "q-default"' in blank.stdout


def test_backend_errors_are_one_line_without_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    remote_env(monkeypatch)
    runner = CliRunner()
    bad = runner.invoke(main, ["queue", "list", "--backend", "sqlite://nope"])
    assert failed(bad).startswith("backend URL 'sqlite://nope': a SQLite URL has three slashes")
    leaked = runner.invoke(main, ["top", "--once", "--backend", "http://key:secret@127.0.0.1:1"])
    assert "secret" not in leaked.output and failed(leaked).startswith("backend URL 'http://***@127.0.0.1:1'")
    unreachable = runner.invoke(main, ["queue", "list", "--backend", f"http://127.0.0.1:{free_port()}"])
    assert failed(unreachable).startswith("ListQueues: EndpointConnectionError: ")
    assert "Traceback" not in unreachable.output


def test_every_operator_command_has_help(ck: Invoke) -> None:
    for command in ("create", "list", "attributes", "send", "peek", "purge", "delete"):
        assert "--backend" in ok(ck("queue", command, "--help"))
    assert "--rate" in ok(ck("dlq", "redrive", "--help"))
    assert "--once" in ok(ck("top", "--help"))


def test_live_top_prints_a_table_each_interval_off_a_terminal_and_exits_0_on_sigterm(
    tmp_path: Path, queue_name: str
) -> None:
    url = f"sqlite:///{tmp_path}/queues.db"
    assert CliRunner().invoke(main, ["queue", "create", queue_name, "--backend", url]).exit_code == 0
    command = [sys.executable, "-m", "consumerkit", "top", "--interval", "0.2", "--backend", url]
    top = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert top.stdout is not None
        titles = 0
        while titles < 2:  # a second table: it goes on refreshing (readline blocks until rich flushes a line)
            line = top.stdout.readline()
            assert line, top.stderr.read() if top.stderr else ""
            titles += line.startswith("1 queues at ")
        os.kill(top.pid, signal.SIGTERM)
        _, err = top.communicate(timeout=15)
    finally:
        if top.poll() is None:
            top.kill()
            top.wait()
    assert (top.returncode, err) == (0, "")
