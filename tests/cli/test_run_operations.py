"""``consumerkit run`` with its operator's switches: a real worker process on the local engine, scraped and
probed over HTTP while it runs, its logs read as JSON lines, then drained by SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from consumerkit.aws.imds import ENDPOINT_ENV
from tests.cli.test_run import SEND
from tests.fixtures.backends import free_port

WORKER = """
from consumerkit import App, Message, Reject

app = App()
app.queue("jobs", dead_letter="jobs-dlq", max_receives=3)

@app.handler("jobs", concurrency=3)
async def work(message: Message) -> None:
    if message.body == "poison":
        raise Reject("cannot be done")
"""


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def metric(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name + ("{" if labels else " ")) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name}{{{wanted}}} not in the scrape")


def test_metrics_health_and_logs_of_a_real_run(tmp_path: Path) -> None:
    (tmp_path / "worker.py").write_text(WORKER)
    backend = f"sqlite:///{tmp_path}/queues.db"
    # the Spot watch on, against a metadata address where nothing listens: its failed looks must show
    nowhere = f"http://127.0.0.1:{free_port()}"
    env = {**os.environ, "CONSUMERKIT_BACKEND": backend, "CONSUMERKIT_HTTP_PORT": "0", ENDPOINT_ENV: nowhere}
    env.pop("CONSUMERKIT_LOG_FORMAT", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "consumerkit", "run", "worker:app", "--sample-interval", "1", "--spot-watch"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines: list[dict[str, Any]] = []

    def until(event: str, **fields: object) -> dict[str, Any]:
        assert process.stdout is not None
        while True:
            line = process.stdout.readline()
            assert line, f"the worker exited before {event!r}: {lines[-5:]}"
            record = json.loads(line)  # not a terminal: every line is JSON
            lines.append(record)
            if record.get("event") == event and all(record.get(k) == v for k, v in fields.items()):
                return record

    try:
        url = until("http endpoints listening")["url"]
        assert get(f"{url}/livez")[0] == 200
        assert get(f"{url}/readyz")[0] == 200
        subprocess.run([sys.executable, "-c", SEND, backend, "a", "b", "poison"], check=True, env=env, timeout=60)
        settled = [until("message settled") for _ in range(3)]
        assert sorted(r["outcome"] for r in settled) == ["rejected", "success", "success"]
        status, scrape = get(f"{url}/metrics")
        assert status == 200
        assert metric(scrape, "consumerkit_messages_processed_total", queue="jobs", outcome="success") == 2
        assert metric(scrape, "consumerkit_messages_processed_total", queue="jobs", outcome="rejected") == 1
        assert metric(scrape, "consumerkit_messages_received_total", queue="jobs") == 3
        assert metric(scrape, "consumerkit_concurrency_slots", queue="jobs") == 3
        assert metric(scrape, "consumerkit_messages_in_progress", queue="jobs") == 0
        assert metric(scrape, "consumerkit_draining") == 0
        assert "consumerkit_message_processing_duration_seconds_bucket" in scrape
        assert 'le="43200.0"' in scrape
        assert "consumerkit_build_info" in scrape
        assert metric(scrape, "consumerkit_spot_metadata_requests_total", result="error") >= 1
        assert metric(scrape, "consumerkit_spot_interruption_scheduled") == 0
        check = subprocess.run(
            [sys.executable, "-m", "consumerkit", "check", "--url", f"{url}/livez"], env=env, timeout=60,
            capture_output=True, text=True,
        )  # fmt: skip
        assert check.returncode == 0, check.stdout + check.stderr
        process.send_signal(signal.SIGTERM)
        until("worker stopped")
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert all("receipt_handle" not in record for record in lines)
    assert not any("poison" in json.dumps(record) for record in lines)  # bodies never reach the logs
