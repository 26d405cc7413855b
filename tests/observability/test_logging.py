"""Logs during a real run of a worker on the engine: every line is JSON (or console on a terminal), a job's lines
carry its message, each settled message has one summary line, and no body or receipt handle is ever written.

The worker runs on the engine in-process (memory and SQLite) with a manual clock, so durations are exact and
nothing waits on a sleep; the last test runs ``python -m consumerkit run`` as a real process.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import structlog
from structlog.contextvars import bind_contextvars, bound_contextvars

from consumerkit import App, ConfigError, FixedBackoff, Message, Reject
from consumerkit.backends import LocalBackend
from consumerkit.clock import ManualClock
from consumerkit.observability.logging import (
    FORMAT_ENV,
    LEVEL_ENV,
    NOISY_LOGGERS,
    SENSITIVE_KEYS,
    LogSettings,
    Redact,
    configure_logging,
    ensure_logging,
    install_logging,
    log_outcome,
)
from tests.runtime.harness import Gate, running, send, url_of

SUMMARY_FIELDS = {"queue", "handler", "message_id", "receive_count", "outcome", "duration_s", "queue_wait_s"}
ANSI = re.compile(r"\x1b\[[0-9;]*m")
log = structlog.get_logger()


@pytest.fixture(autouse=True)
def restore_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test configures logging for the whole process: put structlog and the stdlib back afterwards."""
    for name in (FORMAT_ENV, LEVEL_ENV, "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in NOISY_LOGGERS}
    configured, config = structlog.is_configured(), structlog.get_config()
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)
    structlog.reset_defaults()
    if configured:
        structlog.configure(**config)
    structlog.contextvars.clear_contextvars()


@pytest.fixture
def marker() -> str:
    """Put in every body: it must appear in no line."""
    return f"body-marker-{uuid.uuid4().hex}"


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    """Every line parsed: a line that is not one JSON object fails the test here."""
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def events(lines: list[dict[str, Any]], event: str) -> list[dict[str, Any]]:
    return [line for line in lines if line["event"] == event]


# -- the summary line -------------------------------------------------------------------------------------------
async def test_one_summary_line_per_outcome(
    local: LocalBackend, clock: ManualClock, queue_name: str, marker: str
) -> None:
    app = App()
    app.queue(queue_name, dead_letter=f"{queue_name}-dlq")
    slow = Gate()  # never opened: the timeout cancels the job

    @app.handler(queue_name, timeout=5, retry=FixedBackoff(3600))
    async def work(message: Message) -> None:
        kind = message.body.split(":")[0]
        if kind == "fail":
            raise RuntimeError("encoder crashed")
        if kind == "reject":
            raise Reject("unencodable")
        if kind == "release" and message.receive_count == 1:
            await message.release()
        if kind == "slow":
            await slow.enter()

    stream = io.StringIO()
    install_logging(app, format="json", stream=stream)
    async with running(app, local, clock=clock) as (supervisor, outcomes):
        bodies = [f"{kind}:{marker}" for kind in ("ok", "fail", "reject", "release", "slow")]
        await send(local, url_of(supervisor, queue_name), *bodies)
        await slow.wait_started(1)
        clock.advance(5)
        await outcomes.wait(6)  # the released message comes back and succeeds
    summaries = events(json_lines(stream), "message settled")
    assert Counter(line["outcome"] for line in summaries) == Counter(
        success=2, error=1, rejected=1, released=1, timeout=1
    )
    assert len(summaries) == len(outcomes.items)
    for outcome in outcomes.items:
        [line] = [s for s in summaries if (s["message_id"], s["outcome"]) == (outcome.message_id, outcome.outcome)]
        assert line.keys() >= SUMMARY_FIELDS
        assert (line["queue"], line["handler"], line["receive_count"]) == (queue_name, "work", outcome.receive_count)
        assert line["duration_s"] == round(outcome.duration, 3)
        assert line["logger"] == "consumerkit.outcomes"
        assert line["level"] == ("info" if outcome.outcome in ("success", "released") else "warning")
    failures = {line["outcome"]: line for line in summaries if "error_type" in line}
    assert failures.keys() == {"error", "rejected"}  # a timeout has no exception of its own
    assert (failures["error"]["error_type"], failures["error"]["error"]) == ("RuntimeError", "encoder crashed")
    assert (failures["rejected"]["error_type"], failures["rejected"]["error"]) == ("Reject", "unencodable")
    assert marker not in stream.getvalue()


async def test_the_summary_line_times_the_job_and_the_wait(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    app = App()

    @app.handler(queue_name)
    async def work(message: Message) -> None:
        clock.advance(2.25)

    stream = io.StringIO()
    install_logging(app, format="json", stream=stream)
    await send(local, await local.create_queue(queue_name), "job")
    clock.advance(1.5)  # waits in the queue before any worker runs
    async with running(app, local, clock=clock) as (_, outcomes):
        await outcomes.wait(1)
    [line] = events(json_lines(stream), "message settled")
    assert (line["duration_s"], line["queue_wait_s"]) == (2.25, 1.5)
    assert datetime.fromisoformat(line["timestamp"]).utcoffset() == UTC.utcoffset(None)
    assert list(line)[:4] == ["timestamp", "level", "logger", "event"]


def test_install_logging_adds_its_observer_once() -> None:
    app = App()
    install_logging(app, format="json", stream=io.StringIO())
    install_logging(app, format="json", stream=io.StringIO())
    assert app.observers.count(log_outcome) == 1


# -- a job's own lines ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_a_handlers_own_lines_carry_its_message(
    local: LocalBackend, clock: ManualClock, queue_name: str, kind: str
) -> None:
    app = App()

    async def encode_async(message: Message) -> None:
        log.info("encoding", step=1)

    def encode_sync(message: Message) -> None:  # runs in a worker thread: the context goes with it
        log.info("encoding", step=1)

    app.handler(queue_name)(encode_async if kind == "async" else encode_sync)
    stream = io.StringIO()
    install_logging(app, format="json", stream=stream)
    async with running(app, local, clock=clock) as (supervisor, outcomes):
        await send(local, url_of(supervisor, queue_name), "job")
        [outcome] = await outcomes.wait(1)
    [line] = events(json_lines(stream), "encoding")
    assert line["step"] == 1 and line["level"] == "info"
    assert line["logger"] == __name__  # an unnamed structlog logger is named after the module that logs
    about = (line["queue"], line["handler"], line["message_id"], line["receive_count"])
    assert about == (queue_name, outcome.handler, outcome.message_id, 1)


async def test_fields_a_handler_binds_are_on_its_lines(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    app = App()

    @app.handler(queue_name)
    async def encode(message: Message) -> None:
        with bound_contextvars(video_id="v-42"):
            log.info("encoding")
            logging.getLogger("app.encoder").info("ffmpeg started")
        log.info("uploaded")

    stream = io.StringIO()
    install_logging(app, format="json", stream=stream)
    async with running(app, local, clock=clock) as (supervisor, outcomes):
        await send(local, url_of(supervisor, queue_name), "job")
        await outcomes.wait(1)
    lines = json_lines(stream)
    assert [line.get("video_id") for line in lines if line["logger"] != "consumerkit.supervisor"] == [
        "v-42",
        "v-42",
        None,  # "uploaded": outside the block
        None,  # the summary line is written when the delete is acknowledged, outside the job
    ]


async def test_a_handlers_bound_fields_end_with_its_job(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    app = App()

    @app.handler(queue_name, concurrency=1)  # one worker task runs both jobs, one after the other
    async def encode(message: Message) -> None:
        log.info("encoding")
        bind_contextvars(video_id=message.body)

    stream = io.StringIO()
    install_logging(app, format="json", stream=stream)
    async with running(app, local, clock=clock) as (supervisor, outcomes):
        await send(local, url_of(supervisor, queue_name), "first", "second")
        await outcomes.wait(2)
    assert [line.get("video_id") for line in events(json_lines(stream), "encoding")] == [None, None]


async def test_a_bare_binding_stays_for_its_failure_line_only(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    app = App()

    @app.handler(queue_name, concurrency=1, retry=FixedBackoff(3600))
    async def encode(message: Message) -> None:
        if message.body == "bad":
            bind_contextvars(video_id="bad-video")
            raise RuntimeError("encoder crashed")
        log.info("encoding")

    stream = io.StringIO()
    install_logging(app, format="json", stream=stream)
    async with running(app, local, clock=clock) as (supervisor, outcomes):
        await send(local, url_of(supervisor, queue_name), "bad")
        await outcomes.wait(1)
        await send(local, url_of(supervisor, queue_name), "good")
        await outcomes.wait(2)
    lines = json_lines(stream)
    assert [line.get("video_id") for line in events(lines, "handler failed")] == ["bad-video"]
    assert [line.get("video_id") for line in events(lines, "encoding")] == [None]


async def test_a_failure_is_a_structured_traceback(
    local: LocalBackend, clock: ManualClock, queue_name: str, marker: str
) -> None:
    app = App()

    @app.handler(queue_name, retry=FixedBackoff(3600))
    async def encode(message: Message) -> None:
        body = message.body  # a local of the failing frame: tracebacks must not show locals
        if body:
            raise RuntimeError("encoder crashed")

    stream = io.StringIO()
    install_logging(app, format="json", stream=stream)
    async with running(app, local, clock=clock) as (supervisor, outcomes):
        await send(local, url_of(supervisor, queue_name), marker)
        [outcome] = await outcomes.wait(1)
    [failed] = events(json_lines(stream), "handler failed")
    assert (failed["logger"], failed["level"]) == ("consumerkit.jobs", "warning")
    assert failed["message_id"] == outcome.message_id
    [exception] = failed["exception"]
    assert (exception["exc_type"], exception["exc_value"]) == ("RuntimeError", "encoder crashed")
    assert exception["frames"][-1]["name"] == "encode"
    assert all(frame.keys() == {"filename", "lineno", "name"} for frame in exception["frames"])
    assert marker not in stream.getvalue()


# -- the standard library's loggers -----------------------------------------------------------------------------
async def test_stdlib_logs_come_out_as_the_same_json(local: LocalBackend, clock: ManualClock, queue_name: str) -> None:
    app = App()

    @app.handler(queue_name)
    async def encode(message: Message) -> None:
        logging.getLogger("botocore.retryhandler").warning("retrying %s", "PutObject")
        logging.getLogger("botocore.endpoint").debug("the wire form of a request")  # below WARNING: quiet
        logging.getLogger("aiobotocore.credentials").info("found credentials")  # likewise
        logging.getLogger("app.encoder").info("from the %s", "stdlib")

    stream = io.StringIO()
    install_logging(app, format="json", stream=stream)
    async with running(app, local, clock=clock) as (supervisor, outcomes):
        await send(local, url_of(supervisor, queue_name), "job")
        [outcome] = await outcomes.wait(1)
    lines = json_lines(stream)
    foreign = [line for line in lines if line["logger"].startswith(("botocore", "aiobotocore", "app."))]
    assert [(line["logger"], line["level"], line["event"]) for line in foreign] == [
        ("botocore.retryhandler", "warning", "retrying PutObject"),
        ("app.encoder", "info", "from the stdlib"),
    ]
    assert all(line["message_id"] == outcome.message_id and "timestamp" in line for line in foreign)


@pytest.mark.parametrize(
    ("level", "shown"),
    [("debug", ["debug", "info", "warning"]), ("info", ["warning"]), ("error", [])],
)
def test_noisy_libraries_speak_from_warning_unless_debug(level: str, shown: list[str]) -> None:
    stream = io.StringIO()
    configure_logging("json", level, stream=stream)
    for name in ("botocore.endpoint", "aiohttp.access", "asyncio"):
        for method in ("debug", "info", "warning"):
            getattr(logging.getLogger(name), method)("%s from %s", method, name)
    assert Counter(line["level"] for line in json_lines(stream)) == Counter({m: 3 for m in shown})


def test_an_exception_from_a_stdlib_logger_is_structured_too() -> None:
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    try:
        raise ConnectionResetError("peer went away")
    except ConnectionResetError:
        logging.getLogger("aiohttp.client").exception("request failed")
    [line] = json_lines(stream)
    assert line["exception"][0]["exc_type"] == "ConnectionResetError"


# -- what is never logged ---------------------------------------------------------------------------------------
async def test_no_line_holds_a_body_or_a_receipt_handle(
    local: LocalBackend, clock: ManualClock, queue_name: str, marker: str
) -> None:
    app = App()
    handles: list[str] = []

    @app.handler(queue_name, retry=FixedBackoff(3600))
    async def careless(message: Message) -> None:
        handles.append(message.receipt_handle)
        log.info(
            "careless",
            body=message.body,
            receipt_handle=message.receipt_handle,
            request={"Entries": [{"ReceiptHandle": message.receipt_handle, "MessageBody": message.body}]},
        )
        if message.body.startswith("fail"):
            raise RuntimeError("encoder crashed")

    stream = io.StringIO()
    install_logging(app, format="json", level="debug", stream=stream)
    async with running(app, local, clock=clock) as (supervisor, outcomes):
        await send(local, url_of(supervisor, queue_name), f"ok:{marker}", f"fail:{marker}")
        await outcomes.wait(2)
    text = stream.getvalue()
    assert len(handles) == 2
    assert marker not in text and not any(handle in text for handle in handles)
    for line in events(json_lines(stream), "careless"):
        assert line["body"] == line["receipt_handle"] == "[redacted]"
        assert line["request"] == {"Entries": [{"ReceiptHandle": "[redacted]", "MessageBody": "[redacted]"}]}


def test_redact_matches_any_spelling_at_any_depth() -> None:
    redact = Redact()
    event = {
        "event": "body",  # the message itself is never touched
        "ReceiptHandle": "rh",
        "receipt-handle": "rh",
        "aws_secret_access_key": "k",
        "batch": ({"Body": "b", "id": 1}, "kept"),
        "count": 3,
    }
    assert redact(None, "info", event) == {
        "event": "body",
        "ReceiptHandle": "[redacted]",
        "receipt-handle": "[redacted]",
        "aws_secret_access_key": "[redacted]",
        "batch": ({"Body": "[redacted]", "id": 1}, "kept"),
        "count": 3,
    }
    assert "receipthandle" in repr(redact)


def test_a_body_is_logged_when_asked_for() -> None:
    stream = io.StringIO()
    configure_logging("json", stream=stream, redact=SENSITIVE_KEYS - {"body"})
    log.info("asked for", body="hello", receipt_handle="rh")
    [line] = json_lines(stream)
    assert (line["body"], line["receipt_handle"]) == ("hello", "[redacted]")


# -- formats, levels, the environment ---------------------------------------------------------------------------
async def test_a_terminal_gets_console_lines(local: LocalBackend, clock: ManualClock, queue_name: str) -> None:
    app = App()

    @app.handler(queue_name)
    async def encode(message: Message) -> None:
        log.info("encoding")

    terminal = FakeTerminal()
    assert install_logging(app, stream=terminal) == LogSettings("console", logging.INFO)
    async with running(app, local, clock=clock) as (supervisor, outcomes):
        await send(local, url_of(supervisor, queue_name), "job")
        [outcome] = await outcomes.wait(1)
    text = terminal.getvalue()
    assert "\x1b[" in text  # colours on a terminal
    lines = ANSI.sub("", text).splitlines()
    for line in lines:
        with pytest.raises(json.JSONDecodeError):
            json.loads(line)
    [settled] = [line for line in lines if "message settled" in line]
    assert f"message_id={outcome.message_id}" in settled and "outcome=success" in settled
    assert "[consumerkit.outcomes]" in settled


def test_no_color_keeps_the_console_plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    terminal = FakeTerminal()
    configure_logging(stream=terminal)
    log.info("plain", n=1)
    assert "plain" in terminal.getvalue() and "\x1b[" not in terminal.getvalue()


def test_anything_but_a_terminal_gets_json() -> None:
    assert configure_logging(stream=io.StringIO()) == LogSettings("json", logging.INFO)
    assert configure_logging("auto", stream=FakeTerminal()).format == "console"
    assert configure_logging("console", stream=io.StringIO()).format == "console"  # asked for: no colours
    log.info("plain")
    assert "\x1b[" not in logging.getLogger().handlers[-1].stream.getvalue()  # type: ignore[attr-defined]


def test_the_environment_chooses_format_and_level(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FORMAT_ENV, "Console")
    monkeypatch.setenv(LEVEL_ENV, "WARNING")
    stream = io.StringIO()
    assert configure_logging(stream=stream) == LogSettings("console", logging.WARNING)
    log.info("dropped")
    log.warning("kept")
    assert "dropped" not in stream.getvalue() and "kept" in stream.getvalue()
    assert not stream.getvalue().startswith("{")
    # arguments win over the environment (the CLI's options pass theirs)
    assert configure_logging("json", "debug", stream=io.StringIO()) == LogSettings("json", logging.DEBUG)
    monkeypatch.setenv(FORMAT_ENV, "")  # set but empty: unset
    assert configure_logging(stream=io.StringIO()).format == "json"


@pytest.mark.parametrize(
    ("variable", "value", "wording"),
    [
        (FORMAT_ENV, "xml", "CONSUMERKIT_LOG_FORMAT='xml': expected one of auto, console, json"),
        (LEVEL_ENV, "loud", "CONSUMERKIT_LOG_LEVEL='loud': expected one of debug, info, warning, error, critical"),
    ],
)
def test_a_bad_variable_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, wording: str
) -> None:
    configure_logging("json", stream=io.StringIO())
    before = list(logging.getLogger().handlers)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=re.escape(wording)):
        configure_logging(stream=io.StringIO())
    assert logging.getLogger().handlers == before  # a bad setting changes nothing


@pytest.mark.parametrize(
    ("arguments", "wording"),
    [(("xml", None), "log format='xml'"), (("json", 15), "log level=15"), (("json", "verbose"), "log level='verbose'")],
)
def test_a_bad_argument_is_a_config_error(arguments: tuple[Any, Any], wording: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(wording)):
        configure_logging(*arguments, stream=io.StringIO())


def test_configuring_twice_replaces_the_handler() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging("json", stream=first)
    configure_logging("json", stream=second)
    log.info("once")
    logging.getLogger("app").warning("once too")
    ours = [h for h in logging.getLogger().handlers if h.get_name() == "consumerkit"]
    assert len(ours) == 1
    assert first.getvalue() == "" and [line["event"] for line in json_lines(second)] == ["once", "once too"]


def test_stdout_by_default_even_when_replaced_later(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json")
    log.info("to stdout")
    assert json.loads(capsys.readouterr().out)["event"] == "to stdout"


# -- a real process ---------------------------------------------------------------------------------------------
WORKER = """
import structlog
from consumerkit import App, Message
from consumerkit.observability.logging import install_logging

app = App()

@app.handler("jobs")
async def work(message: Message) -> None:
    structlog.get_logger().info("handled", size=len(message.body))

install_logging(app)
"""

SEND = """
import anyio, sys
from consumerkit.backends import open_backend, OutgoingMessage
async def main():
    async with open_backend(sys.argv[1]) as backend:
        url = await backend.create_queue("jobs")
        await backend.send_message_batch(url, [OutgoingMessage(sys.argv[2], "0")])
anyio.run(main)
"""


def test_consumerkit_run_writes_json_lines_to_a_pipe(tmp_path: Path, marker: str) -> None:
    (tmp_path / "worker.py").write_text(WORKER)
    backend = f"sqlite:///{tmp_path}/queues.db"
    env = {k: v for k, v in os.environ.items() if k not in (FORMAT_ENV, LEVEL_ENV)} | {"CONSUMERKIT_BACKEND": backend}
    subprocess.run([sys.executable, "-c", SEND, backend, marker], check=True, env=env, timeout=60)
    process = subprocess.Popen(
        [sys.executable, "-m", "consumerkit", "run", "worker:app"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    watchdog = threading.Timer(60, process.kill)  # a hung worker fails the test instead of hanging it
    watchdog.start()
    try:
        assert process.stdout is not None
        lines: list[dict[str, Any]] = []
        while not lines or lines[-1]["event"] != "message settled":
            line = process.stdout.readline()
            assert line, "the worker exited before settling the message"
            lines.append(json.loads(line))
        process.send_signal(signal.SIGTERM)
        rest, errors = process.communicate(timeout=30)
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, errors
    lines += [json.loads(line) for line in rest.splitlines()]
    assert {"worker started", "handled", "message settled", "worker stopped"} <= {line["event"] for line in lines}
    [handled] = events(lines, "handled")
    [settled] = events(lines, "message settled")
    assert settled.keys() >= SUMMARY_FIELDS
    assert [settled[key] for key in ("queue", "handler", "outcome", "level")] == ["jobs", "work", "success", "info"]
    assert [handled[key] for key in ("message_id", "receive_count", "size")] == [settled["message_id"], 1, len(marker)]
    assert marker not in rest and all(marker not in json.dumps(line) for line in lines)


# A worker that never configured logging still never prints a body: structlog's unconfigured default (with rich
# installed) renders tracebacks with every frame's locals.
UNCONFIGURED_WORKER = """
import sys
from consumerkit import App, Message

app = App(backend=sys.argv[1], drain_timeout=1)

@app.handler("jobs")
async def encode(message: Message) -> None:
    secret = message.body  # a local of the failing frame
    if secret:
        raise RuntimeError("encoder crashed")

app.run()
"""


def test_app_run_without_logging_configured_keeps_bodies_out(tmp_path: Path, marker: str) -> None:
    backend = f"sqlite:///{tmp_path}/queues.db"
    (tmp_path / "worker.py").write_text(UNCONFIGURED_WORKER)
    subprocess.run([sys.executable, "-c", SEND, backend, marker], check=True, timeout=60)
    worker = subprocess.Popen(
        [sys.executable, "worker.py", backend], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        assert worker.stdout is not None
        lines = []
        for line in worker.stdout:
            lines.append(line)
            if "Traceback" in line or "encoder crashed" in line:
                break
        worker.terminate()
        rest, _ = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    output = "".join(lines) + rest
    assert "encoder crashed" in output and "worker stopped" in output
    assert marker not in output, output


def test_ensure_logging_leaves_a_programs_stdlib_setup_alone(marker: str) -> None:
    """A program that set up the standard library's logging keeps its handlers, format and level; structlog's
    lines reach them once, with tracebacks that show no locals."""
    stream = io.StringIO()
    mine = logging.StreamHandler(stream)
    mine.setFormatter(logging.Formatter("USER %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(mine)
    root.setLevel(logging.WARNING)
    structlog.reset_defaults()
    handlers = list(root.handlers)
    ensure_logging()
    assert root.handlers == handlers and root.level == logging.WARNING
    logger = structlog.get_logger("consumerkit.jobs")
    logger.info("quiet")  # below the program's level
    try:
        secret = marker  # a local of the failing frame
        raise RuntimeError(f"failed after {len(secret)} bytes")
    except RuntimeError:
        logger.warning("handler failed", exc_info=True)
    lines = stream.getvalue()
    assert "quiet" not in lines
    assert lines.count("USER WARNING") == 1 and "handler failed" in lines and "RuntimeError" in lines
    assert marker not in lines


def test_ensure_logging_keeps_a_structlog_configuration() -> None:
    structlog.configure(processors=[structlog.processors.JSONRenderer()])
    config = structlog.get_config()
    ensure_logging()
    assert structlog.get_config() == config
