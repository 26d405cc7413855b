"""``consumerkit run module:app``: a real process, stopped by SIGTERM, exits 0 with its jobs settled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from consumerkit.cli import main
from tests.cli.conftest import failed

WORKER = """
import anyio
from consumerkit import App, Message

app = App()

@app.handler("jobs", concurrency=2)
async def work(message: Message) -> None:
    print("handled", message.body, flush=True)
    if message.body == "long":
        await anyio.sleep_forever()
"""

SEND = """
import anyio, sys
from consumerkit.backends import open_backend, OutgoingMessage
async def main():
    async with open_backend(sys.argv[1]) as backend:
        url = await backend.create_queue("jobs")
        await backend.send_message_batch(url, [OutgoingMessage(b, str(i)) for i, b in enumerate(sys.argv[2:])])
anyio.run(main)
"""

COUNT = """
import anyio, sys
from consumerkit.backends import open_backend
async def main():
    async with open_backend(sys.argv[1]) as backend:
        counts = await backend.queue_counts(await backend.get_queue_url("jobs"))
        print(counts.visible, counts.in_flight)
anyio.run(main)
"""


def test_sigterm_drains_releases_and_exits_zero(tmp_path: Path) -> None:
    (tmp_path / "worker.py").write_text(WORKER)
    backend = f"sqlite:///{tmp_path}/queues.db"
    env = {**os.environ, "CONSUMERKIT_BACKEND": backend, "CONSUMERKIT_DRAIN_TIMEOUT": "1"}
    subprocess.run([sys.executable, "-c", SEND, backend, "quick", "long"], check=True, env=env, timeout=60)
    command = [sys.executable, "-m", "consumerkit", "run", "worker:app"]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        seen = set()
        while len(seen) < 2:  # each line is printed as its job starts
            line = process.stdout.readline()
            assert line, "the worker exited early"
            if line.startswith("handled "):
                seen.add(line.split()[1])
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, rest
    assert "draining" in rest and "worker stopped" in rest
    counts = subprocess.run(
        [sys.executable, "-c", COUNT, backend], check=True, env=env, timeout=60, capture_output=True, text=True
    )
    assert counts.stdout.split() == ["1", "0"]  # "long" released for another worker; "quick" deleted


def test_a_second_sigterm_releases_at_once(tmp_path: Path) -> None:
    (tmp_path / "worker.py").write_text(WORKER)
    backend = f"sqlite:///{tmp_path}/queues.db"
    env = {**os.environ, "CONSUMERKIT_BACKEND": backend, "CONSUMERKIT_DRAIN_TIMEOUT": "3600"}
    subprocess.run([sys.executable, "-c", SEND, backend, "long"], check=True, env=env, timeout=60)
    process = subprocess.Popen(
        [sys.executable, "-m", "consumerkit", "run", "worker:app"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        for wanted in ("handled long", "draining"):
            while wanted not in (line := process.stdout.readline()):
                assert line, f"the worker exited before {wanted!r}"
            if wanted == "handled long":
                process.send_signal(signal.SIGTERM)  # the drain would wait an hour for the job
        process.send_signal(signal.SIGTERM)  # the second: release it now
        rest, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, rest
    counts = subprocess.run(
        [sys.executable, "-c", COUNT, backend], check=True, env=env, timeout=60, capture_output=True, text=True
    )
    assert counts.stdout.split() == ["1", "0"]


@pytest.mark.parametrize(
    ("target", "wording"),
    [
        ("nocolon", "expected module:attribute"),
        ("no_such_module_here:app", "cannot import 'no_such_module_here'"),
        ("os:nothing", "has no attribute 'nothing'"),
        ("os:sep", "is a str, not a consumerkit App"),
    ],
)
def test_a_bad_target_is_a_clear_error(target: str, wording: str) -> None:
    assert wording in failed(CliRunner().invoke(main, ["run", target]))


def test_bad_options_name_the_option() -> None:
    result = CliRunner().invoke(main, ["run", "os:sep", "--concurrency", "0"])
    assert result.exit_code == 2 and "--concurrency" in result.output


def test_a_hook_missing_its_setting_fails_the_start_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ECS_AGENT_URI", raising=False)
    result = CliRunner().invoke(main, ["run", "tests.cli.worker_app:app", "--ecs-protection", "--log-format", "JSON"])
    assert "ECS_AGENT_URI" in failed(result)


def test_sample_interval_names_its_flag() -> None:
    result = CliRunner().invoke(main, ["run", "tests.cli.worker_app:app", "--sample-interval", "0.5"])
    assert failed(result).startswith("--sample-interval=0.5 is out of range")


def test_an_asg_name_without_ec2_protection_is_refused() -> None:
    result = CliRunner().invoke(main, ["run", "tests.cli.worker_app:app", "--asg-name", "encoders"])
    assert failed(result).startswith("--asg-name is only for --ec2-protection")
