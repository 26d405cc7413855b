"""The whole example in one process, on the embedded engine: what ``make run`` shows.

It renders a few test clips, sends one job per clip plus two bad ones, runs the worker until every good job is
encoded and both bad ones sit in the dead-letter queue, stops it gracefully, and prints where the outputs went.
The queues live in a fresh SQLite file under the working directory, so a run never sees an earlier run's jobs.
"""

from __future__ import annotations

import argparse
import functools
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio

from consumerkit import ConsumerkitError, Outcome, Supervisor
from consumerkit.observability.logging import configure_logging
from examples.video_encoder import producer
from examples.video_encoder.media import probe
from examples.video_encoder.worker import DEAD_LETTER, MAX_RECEIVES, QUEUE, VISIBILITY_TIMEOUT, app

POLL = 0.2  # seconds between looks at the queues while waiting for the jobs to be done


class DemoError(Exception):
    """The demo could not finish: what was left undone, and why."""


@dataclass
class Summary:
    outputs: list[Path]
    dead_lettered: int
    extensions: int  # visibility extensions the heartbeat made, over every job
    received: int  # receives of the main queue, retries included
    seconds: float


class Tally:
    """An observer of every outcome: prints one line per job's fate, and counts the main queue's successes."""

    def __init__(self) -> None:
        self.labels: dict[str, str] = {}  # message id -> what the job is, once it has been sent
        self.encoded = 0

    def __call__(self, outcome: Outcome) -> None:
        if outcome.queue != QUEUE:
            return
        label = self.labels.get(outcome.message_id, outcome.message_id)
        if outcome.outcome == "success":
            self.encoded += 1
            print(f"encoded {label} in {outcome.duration:.1f} s", flush=True)
        elif outcome.outcome == "error":
            tries = f"try {outcome.receive_count} of {MAX_RECEIVES}"
            print(f"{label}: {tries} failed: {outcome.error}", flush=True)


def fresh_store(workdir: Path) -> Path:
    """The demo's own SQLite file, emptied: a run never sees what an interrupted earlier run left queued."""
    workdir.mkdir(parents=True, exist_ok=True)
    store = workdir.resolve() / "queues.db"
    for stale in (store, store.with_name("queues.db-wal"), store.with_name("queues.db-shm")):
        stale.unlink(missing_ok=True)
    return store


async def run_demo(workdir: Path, clips: Sequence[producer.Clip], *, time_limit: float = 120.0) -> Summary:
    started = time.monotonic()
    store = fresh_store(workdir)
    sources = producer.clip_paths(workdir / "clips", clips)
    await producer.make_clips(clips, sources)
    jobs = producer.jobs_for(clips, sources, workdir / "encoded")
    bad = producer.bad_bodies(workdir / "clips")
    tally = Tally()
    async with anyio.create_task_group() as tg:
        serve = functools.partial(app.serve, f"sqlite:///{store}", observers=[tally])
        supervisor: Supervisor = await tg.start(serve)  # creates the queues, then works until stopped
        queue_url = next(ctx.queue_url for ctx in supervisor.contexts if ctx.spec.queue == QUEUE)
        ids = await producer.send(supervisor.backend, queue_url, [*producer.bodies_of(jobs), *bad.values()])
        labels = [Path(job.target).name for job in jobs] + [f"bad job ({what})" for what in bad]
        tally.labels.update(zip(ids, labels, strict=True))
        print(f"sent {len(jobs)} encode jobs and {len(bad)} bad ones to {QUEUE}", flush=True)
        done = False
        with anyio.move_on_after(time_limit) as waiting:
            done = await _settled(supervisor, tally, len(jobs), len(bad))
        supervisor.stop()  # and leaving the task group waits for the graceful stop
    if not done:
        why = f"gave up after {time_limit:g} s" if waiting.cancelled_caught else "interrupted"
        raise DemoError(f"{why} before every job was settled ({tally.encoded} of {len(jobs)} encoded)")
    (stats,) = [s for s in supervisor.statistics() if s.queue == QUEUE]
    return Summary(
        [Path(job.target) for job in jobs], len(bad), stats.extensions["ok"], stats.received,
        time.monotonic() - started,
    )  # fmt: skip


async def _settled(supervisor: Supervisor, tally: Tally, good: int, bad: int) -> bool:
    """Whether every good job got encoded and the bad ones reached the dead-letter queue before the worker
    stopped (Ctrl-C). SQS moves a message at the receive after its last try, so only the DLQ's counters tell."""
    dead_letter_url = await supervisor.backend.get_queue_url(DEAD_LETTER)
    while not supervisor.stopped.is_set():
        if tally.encoded >= good:
            counts = await supervisor.backend.queue_counts(dead_letter_url)
            if counts.visible + counts.in_flight + counts.delayed >= bad:
                return True
        await anyio.sleep(POLL)
    return False


def report(summary: Summary, workdir: Path) -> str:
    lines = [f"done in {summary.seconds:.1f} s; {len(summary.outputs)} outputs in {summary.outputs[0].parent}:"]
    for output in summary.outputs:
        media = probe(output)
        lines.append(f"  {output.name}  {media.duration:.1f} s  {'+'.join(media.streams)}")
    lines += [
        f"heartbeats: {summary.extensions} visibility extension(s) kept the long encode hidden "
        f"(visibility timeout {VISIBILITY_TIMEOUT} s); {summary.received} receives in all",
        f"dead-letter queue {DEAD_LETTER}: {summary.dead_lettered} bad jobs, after {MAX_RECEIVES} tries each; "
        "see them with",
        f"  {peek_command(workdir / 'queues.db')}",
    ]
    return "\n".join(lines)


def peek_command(store: Path) -> str:
    """The shell command that shows the dead letters, runnable as printed from where the demo ran. It names the
    ``consumerkit`` of the interpreter running the demo: after ``make run`` that one is in ``.venv/bin``, which
    is not on PATH."""
    script = Path(sys.executable).with_name("consumerkit")
    program = [_from_here(script)] if script.exists() else [_from_here(Path(sys.executable)), "-m", "consumerkit"]
    return shlex.join([*program, "queue", "peek", DEAD_LETTER, "--backend", f"sqlite:///{store.resolve()}"])


def _from_here(program: Path) -> str:
    """``program`` relative to the working directory when it is below it (``.venv/bin/consumerkit``), else
    absolute; not resolved, since a venv's interpreter is a symlink out of the venv."""
    try:
        return str(program.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(program.absolute())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.video_encoder", description=__doc__)
    producer.add_clip_options(parser)
    parser.add_argument("--timeout", type=float, default=120.0, help="give up after this many seconds")
    args = parser.parse_args(argv)
    clips = producer.clips_of(parser, args)
    if not 1 <= args.timeout <= 3600:
        parser.error(f"--timeout={args.timeout:g} is out of range: 1..3600 seconds")
    configure_logging("console", "error")  # the demo prints each job's fate itself, in one line
    try:
        summary = anyio.run(functools.partial(run_demo, args.workdir, clips, time_limit=args.timeout))
    except (DemoError, ConsumerkitError, OSError) as error:
        print(f"video encoder demo: {error}", file=sys.stderr)
        return 1
    print(report(summary, args.workdir), flush=True)
    return 0
