"""The video-encoder example (examples/video_encoder/): real ffmpeg encodes, heartbeats, dead letters, shutdown.

Three runs: the real ``make run``, from the repository's root; the worker's app in this process, for its statistics and
outcomes; and ``consumerkit run`` in a subprocess, stopped by SIGTERM in the middle of an encode.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVar

import anyio
import pytest

from consumerkit import HandlerStatistics, Outcome
from consumerkit.backends import QueueMessage, open_backend
from examples.video_encoder import producer
from examples.video_encoder.media import ffmpeg, probe
from examples.video_encoder.worker import DEAD_LETTER, MAX_RECEIVES, QUEUE, VISIBILITY_TIMEOUT, app

ROOT = Path(__file__).parents[2]
T = TypeVar("T")

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process groups from /proc")


def wait_for(what: str, check: Callable[[], T | None], within: float = 20.0) -> T:
    """Poll ``check`` until it returns something, for at most ``within`` seconds: for conditions no event
    announces (a process appearing in /proc)."""
    deadline = time.monotonic() + within
    while (found := check()) is None:
        assert time.monotonic() < deadline, f"timed out after {within:g} s waiting for {what}"
        time.sleep(0.02)
    return found


def playable(path: Path) -> bool:
    """Whether ffmpeg decodes every frame of ``path`` without an error."""
    result = subprocess.run(
        [ffmpeg(), "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"], capture_output=True, check=False
    )
    return result.returncode == 0 and not result.stderr


# -- make run ---------------------------------------------------------------------------------------------------
@dataclass
class MakeRun:
    started: float  # time.time() before make started, to tell this run's outputs from an earlier run's
    result: subprocess.CompletedProcess[str]
    peek: subprocess.CompletedProcess[str]  # the command the demo's last line says to run, run as printed


@contextmanager
def exclusive(lock: Path) -> Iterator[None]:
    """Only one test session at a time runs ``make run``: it works in the checkout's own .consumerkit/, and a
    second run would empty the queues of the first."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)


@pytest.fixture(scope="module")
def make_run() -> MakeRun:
    """The real ``make run`` from the repository's root, on its existing venv: ``-o`` holds the install stamp
    up to date, so make runs the demo without reinstalling anything."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    if not (ROOT / ".venv" / "bin" / "python").exists():
        pytest.skip("no .venv/bin/python in the checkout: make run would create and install the venv first")
    with exclusive(ROOT / ".consumerkit" / "make-run.lock"):
        started = time.time()
        result = subprocess.run(
            ["make", "--no-print-directory", "-o", ".venv/.installed", "run"],
            cwd=ROOT, capture_output=True, text=True, timeout=150, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        hint = result.stdout.rstrip().splitlines()[-1]
        peek = subprocess.run(hint, shell=True, cwd=ROOT, capture_output=True, text=True, timeout=30, check=False)
    return MakeRun(started, result, peek)


def test_make_run_encodes_playable_files_where_it_says(make_run: MakeRun) -> None:
    out = make_run.result.stdout
    where = re.search(r"^done in [\d.]+ s; 3 outputs in (.+):$", out, re.MULTILINE)
    assert where is not None, out
    names = re.findall(r"^  (\S+\.mp4)  ", out, re.MULTILINE)
    assert names == ["clip-1-240p.mp4", "clip-2-240p.mp4", "clip-3-240p.mp4"]
    outputs = [Path(where.group(1)) / name for name in names]
    assert outputs[0].parent == ROOT / ".consumerkit" / "video-encoder" / "encoded"
    for output, seconds in zip(outputs, (3.0, 4.0, 8.0), strict=True):
        assert output.stat().st_mtime >= make_run.started - 1  # written by this run, not left by an earlier one
        media = probe(output)
        assert media.duration == pytest.approx(seconds, abs=0.1)
        assert media.streams == ("video", "audio")
        assert playable(output)
    extensions = re.search(r"heartbeats: (\d+) visibility extension", out)
    assert extensions is not None and int(extensions.group(1)) > 0
    assert f"dead-letter queue {DEAD_LETTER}: 2 bad jobs, after {MAX_RECEIVES} tries each" in out
    assert "Traceback" not in make_run.result.stderr + out


def test_the_printed_peek_command_shows_the_dead_letters(make_run: MakeRun) -> None:
    hint = make_run.result.stdout.rstrip().splitlines()[-1].strip()
    assert hint.startswith(".venv/bin/consumerkit queue peek ")  # make run puts consumerkit in the venv only
    assert make_run.peek.returncode == 0, make_run.peek.stderr
    malformed = re.search(r"bad job \(malformed JSON\): try 1 of \d+ failed: message ([\w-]+):", make_run.result.stdout)
    assert malformed is not None
    shown = re.findall(r"^│ ([0-9a-f-]{36}) │", make_run.peek.stdout, re.MULTILINE)
    assert len(shown) == 2 and malformed.group(1) in shown, make_run.peek.stdout


def test_make_run_leaves_nothing_git_sees(make_run: MakeRun) -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    status = subprocess.run(
        ["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=all", "--", ".consumerkit"],
        cwd=ROOT, capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    assert (ROOT / ".consumerkit" / "video-encoder" / "queues.db").exists()
    assert status.stdout == ""


# -- the worker in this process ---------------------------------------------------------------------------------
@dataclass
class Session:
    encoded: Path  # where the outputs go
    ids: dict[str, str]  # what the job is -> its message id
    bodies: dict[str, str]  # message id -> body as sent
    outcomes: list[Outcome] = field(default_factory=list)
    dead_letters: dict[str, QueueMessage] = field(default_factory=dict)
    stats: HandlerStatistics | None = None

    def of(self, job: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.message_id == self.ids[job]]


async def serve_jobs(tmp: Path) -> Session:
    """A long encode (longer than the visibility timeout), three bad jobs, then a short encode; until both
    encodes succeeded and the bad jobs can be received from the dead-letter queue."""
    clips = [producer.Clip("long", 5.0, realtime=True), producer.Clip("short", 1.0)]
    sources = producer.clip_paths(tmp / "clips", clips)
    await producer.make_clips(clips, sources)
    long, short = producer.bodies_of(producer.jobs_for(clips, sources, tmp / "encoded"))
    bad = producer.bad_bodies(tmp / "clips")
    bad["not a Job"] = json.dumps({"source": str(sources[1]), "target": str(tmp / "short.avi")})
    jobs = {"long": long, **bad, "short": short}
    succeeded = anyio.Event()
    session = Session(tmp / "encoded", {}, {})

    def observe(outcome: Outcome) -> None:
        session.outcomes.append(outcome)
        if sum(o.outcome == "success" and o.queue == QUEUE for o in session.outcomes) == 2:
            succeeded.set()

    async with anyio.create_task_group() as tg:
        serve = functools.partial(app.serve, f"sqlite:///{tmp}/queues.db", observers=[observe], handle_signals=False)
        supervisor = await tg.start(serve)
        backend = supervisor.backend
        ids = await producer.send(backend, await backend.get_queue_url(QUEUE), list(jobs.values()))
        session.ids = dict(zip(jobs, ids, strict=True))
        session.bodies = dict(zip(ids, jobs.values(), strict=True))
        with anyio.fail_after(40):
            await succeeded.wait()
            dead_letter_url = await backend.get_queue_url(DEAD_LETTER)
            while len(session.dead_letters) < len(bad):  # a long poll: returns as soon as a message is there
                for m in await backend.receive_messages(
                    dead_letter_url, max_messages=10, wait_seconds=5, visibility_timeout=60
                ):
                    session.dead_letters[m.message_id] = m
        supervisor.stop()
    (session.stats,) = [s for s in supervisor.statistics() if s.queue == QUEUE]
    return session


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Session:
    return anyio.run(serve_jobs, tmp_path_factory.mktemp("video"))


def test_heartbeats_keep_a_long_encode_hidden(session: Session) -> None:
    (outcome,) = session.of("long")  # received once: no other slot got it when its first 3 s ran out
    assert outcome.outcome == "success" and outcome.receive_count == 1
    assert outcome.duration > VISIBILITY_TIMEOUT + 1
    assert session.stats is not None
    assert session.stats.extensions["ok"] > 0 and session.stats.extensions["error"] == 0


@pytest.mark.parametrize("job", ["missing source", "malformed JSON", "not a Job"])
def test_a_bad_job_is_tried_then_dead_lettered(session: Session, job: str) -> None:
    tries = session.of(job)
    assert [(o.outcome, o.receive_count) for o in tries] == [("error", n) for n in range(1, MAX_RECEIVES + 1)]
    dead = session.dead_letters[session.ids[job]]  # moved as it was sent, not dropped
    assert dead.body == session.bodies[dead.message_id]


def test_the_worker_goes_on_after_bad_jobs(session: Session) -> None:
    (short,) = session.of("short")
    assert short.outcome == "success"
    assert sorted(p.name for p in session.encoded.iterdir()) == ["long-240p.mp4", "short-240p.mp4"]


# -- consumerkit run, stopped mid-encode ------------------------------------------------------------------------
def process_groups() -> Iterator[tuple[int, int, int, str]]:
    """(pid, parent pid, process group, command line) of every process now running."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile
            continue
        _state, parent, group = stat.rpartition(")")[2].split()[:3]  # the name may hold spaces: split after it
        yield int(entry.name), int(parent), int(group), command


class Lines:
    """A process's output, read by a thread, so that a test can wait for a line with a deadline."""

    def __init__(self, stream: IO[str]) -> None:
        self.seen: list[str] = []
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line)

    def wait_for(self, text: str, within: float = 20.0) -> str:
        deadline = time.monotonic() + within
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line with {text!r} within {within:g} s: {self.seen}") from None
            self.seen.append(line)
            if text in line:
                return line


def test_sigterm_mid_encode_ends_ffmpeg_and_gives_the_job_back(tmp_path: Path) -> None:
    env = {**os.environ, "CONSUMERKIT_BACKEND": f"sqlite:///{tmp_path}/queues.db"}
    consumerkit = Path(sys.executable).with_name("consumerkit")
    # a drain of 0 s: the encode is cancelled at SIGTERM instead of being given the usual 25 s to finish
    worker = subprocess.Popen(
        [consumerkit, "run", "examples.video_encoder.worker:app", "--log-format", "json", "--drain-timeout", "0"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert worker.stdout is not None
        lines = Lines(worker.stdout)
        lines.wait_for('"worker started"')
        sent = subprocess.run(
            [sys.executable, "-m", "examples.video_encoder.producer", "--clips", "1", "--long", "60",
             "--workdir", str(tmp_path)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert sent.returncode == 0, sent.stderr
        encoder = wait_for(
            "ffmpeg to start encoding",
            lambda: next((p for p in process_groups() if p[1] == worker.pid and " -re " in p[3]), None),
        )
        pid, _, group, _ = encoder
        assert group == pid != os.getpgid(worker.pid)  # its own group, which the worker signals as a whole
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert not [p for p in process_groups() if p[2] == group], "a process of ffmpeg's group outlived the worker"
    settled = json.loads(lines.wait_for('"message settled"'))
    assert settled["outcome"] == "released" and settled["receive_count"] == 1
    assert not list((tmp_path / "encoded").iterdir())  # neither the output nor its partial file
    assert anyio.run(receive_again, f"sqlite:///{tmp_path}/queues.db") == 2


async def receive_again(url: str) -> int:
    """The released job is visible at once (not after its visibility timeout) and comes back: its receive count."""
    async with open_backend(url) as backend:
        queue_url = await backend.get_queue_url(QUEUE)
        counts = await backend.queue_counts(queue_url)
        assert (counts.visible, counts.in_flight) == (1, 0)
        (message,) = await backend.receive_messages(queue_url, max_messages=10, wait_seconds=1, visibility_timeout=30)
        return int(message.attributes["ApproximateReceiveCount"])
