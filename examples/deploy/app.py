"""The application the deployment files run: ``consumerkit run app:app``, from the directory that holds it.

It stands in for yours. Each job names how many seconds of work it is, so a test can give the worker a job
that is still running when the platform's SIGTERM comes, and time the drain.
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio
import structlog

from consumerkit import App

app = App()
app.queue("videos", dead_letter="videos-dlq", max_receives=10)  # generous: every drain's release is a receive


@dataclass
class Job:
    seconds: float


@app.handler("videos", concurrency=4)  # 4 slots per worker: KEDA's queueLength and the scalers' divisor
async def encode(job: Job) -> None:
    structlog.get_logger("encoder").info("encode started", seconds=job.seconds)
    await anyio.sleep(job.seconds)  # the encode; a real one calls consumerkit.run_process("ffmpeg", ...)
