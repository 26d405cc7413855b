"""The video-encoding worker: one ffmpeg transcode per message, kept invisible by heartbeats while it runs.

Run it on its own with ``consumerkit run examples.video_encoder.worker:app`` (from the repository's root), or
end to end with ``python -m examples.video_encoder``. A job is a JSON object (see :class:`Job`). What the
worker shows:

* **heartbeats**: the visibility timeout (3 s) is shorter than a long encode on purpose; the supervisor extends
  it every second while ffmpeg runs, so nobody else receives the message. In production keep the default
  (120 s, extended every 60 s): it only has to cover a worker that dies, not the encode;
* **cancellation**: ffmpeg runs through :func:`consumerkit.run_process`, in its own process group, so a
  shutdown (or a timeout, or a lost lease) stops the encode and anything it started, and the message goes back
  to the queue for another worker. A half-written output never takes the target's name;
* **bad jobs**: a body that is not a Job, or names a source that does not exist, fails like any handler error:
  retried after a second, and after three tries SQS's redrive policy moves it to the dead-letter queue. The
  worker carries on with the others.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import anyio
import structlog

from consumerkit import App, FixedBackoff, Message, run_process
from examples.video_encoder.media import CONTAINERS, HEIGHTS, PRESETS, Progress, transcode_command

QUEUE = "video-encodes"
DEAD_LETTER = "video-encodes-dlq"
MAX_RECEIVES = 3
VISIBILITY_TIMEOUT = 3  # seconds; shorter than a long encode, so that the heartbeat has work to do
HEARTBEAT_INTERVAL = 1.0

app = App()  # $CONSUMERKIT_BACKEND, else sqlite:///.consumerkit/queues.db
app.queue(QUEUE, dead_letter=DEAD_LETTER, max_receives=MAX_RECEIVES)
log = structlog.get_logger("examples.video_encoder")


class BadJob(ValueError):
    """The job cannot be done as asked: named field, value, and what was expected."""


@dataclass
class Job:
    """One transcode: ``source`` to ``target`` (its suffix picks the container), scaled to ``height`` pixels
    with x264's ``preset``. ``realtime`` paces the encode at the clip's own speed (ffmpeg ``-re``)."""

    source: str
    target: str
    height: int = 240
    preset: str = "veryfast"
    realtime: bool = False

    def __post_init__(self) -> None:
        # JSON gives any type for any field: check them here, so that a bad body fails before ffmpeg runs
        for name in ("source", "target"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise BadJob(f"{name}: expected a non-empty path, got {getattr(self, name)!r}")
        if Path(self.target).suffix not in CONTAINERS:
            raise BadJob(f"target: {self.target!r} must end in one of {', '.join(CONTAINERS)}")
        if type(self.height) is not int or self.height not in HEIGHTS:
            raise BadJob(f"height: {self.height!r} must be an even integer from {HEIGHTS[0]} to {HEIGHTS[-1]}")
        if self.preset not in PRESETS:
            raise BadJob(f"preset: {self.preset!r} is not one of {', '.join(PRESETS)}")
        if not isinstance(self.realtime, bool):
            raise BadJob(f"realtime: expected true or false, got {self.realtime!r}")


@app.handler(
    QUEUE,
    concurrency=2,  # one single-threaded ffmpeg per core on a 2-core machine
    visibility_timeout=VISIBILITY_TIMEOUT,
    heartbeat_interval=HEARTBEAT_INTERVAL,
    retry=FixedBackoff(1),
)
async def encode(job: Job, message: Message) -> None:
    # anyio.Path: a file system call, on a network mount especially, must not stall the heartbeats' event loop
    source, target = anyio.Path(job.source), anyio.Path(job.target)
    if not await source.is_file():  # checked per try: a source that is still uploading may be there next time
        raise BadJob(f"source: {job.source!r} does not exist")
    await target.parent.mkdir(parents=True, exist_ok=True)
    # written under a name of its own (a redelivery may run beside a worker that lost its lease), renamed once whole
    partial = target.with_name(f"{target.stem}.{message.id}.partial{target.suffix}")
    command = transcode_command(
        Path(source), Path(partial), height=job.height, preset=job.preset, realtime=job.realtime
    )
    started = time.monotonic()
    try:
        result = await run_process(command)
    except BaseException:  # failed or cancelled: ffmpeg's process group is gone by now, and its half a file goes
        with anyio.CancelScope(shield=True):
            await partial.unlink(missing_ok=True)
        raise
    await partial.replace(target)
    progress = Progress.parse(result.stdout)
    log.info(  # the runtime binds the queue, handler, message id and receive count to every line of a job
        "encoded",
        target=str(target),
        frames=progress.frames,
        media_seconds=round(progress.seconds, 2),
        took=round(time.monotonic() - started, 2),
        speed=progress.speed,
    )
