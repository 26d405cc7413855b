"""A small video-encoding worker on the embedded engine: no AWS account, no server.

``python examples/worker.py`` runs it (``make run`` runs the video encoder instead). It declares a queue with a
dead-letter queue, sends itself five jobs (one of them poison), and works through them: four encode, the broken
one fails three times and SQS's redrive policy moves
it to the dead-letter queue, where a second handler reports it. It runs until Ctrl-C (or SIGTERM), then drains
and exits. The same code runs on real SQS with ``CONSUMERKIT_BACKEND=sqs://``, once the queues and their
redrive policy exist there (consumerkit creates queues only on the local engine unless told to).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import anyio

from consumerkit import App, FixedBackoff, Message
from consumerkit.backends import OutgoingMessage

app = App()  # $CONSUMERKIT_BACKEND, else sqlite:///.consumerkit/queues.db
app.queue("videos", dead_letter="videos-dlq", max_receives=3)


@dataclass
class Job:
    source: str
    preset: str = "720p"


@app.handler("videos", concurrency=2, visibility_timeout=60, retry=FixedBackoff(1))
async def encode(job: Job, message: Message) -> None:
    """Stands in for an ffmpeg encode (see consumerkit.run_process for running the real thing)."""
    if not job.source.endswith(".mov"):
        raise ValueError(f"cannot encode {job.source!r}: not a .mov file")
    await anyio.sleep(0.2)
    print(f"encoded {job.source} -> {job.source.removesuffix('.mov')}-{job.preset}.mp4", flush=True)


@app.handler("videos-dlq", concurrency=1)
async def dead_letters(message: Message) -> None:
    # SQS keeps counting receives across the move: three failed tries, then this one
    tries = message.receive_count - 1
    print(f"dead-lettered after {tries} failed tries: {message.body}", flush=True)


async def main() -> None:
    async with anyio.create_task_group() as tg:
        supervisor = await tg.start(app.serve)  # creates the queues, then works until a signal
        backend, videos = supervisor.backend, supervisor.contexts[0].queue_url
        jobs = [Job(f"clip-{n}.mov") for n in range(4)] + [Job("clip-4.broken")]
        messages = [OutgoingMessage(json.dumps(job.__dict__), str(n)) for n, job in enumerate(jobs)]
        await backend.send_message_batch(videos, messages)
        print(f"sent {len(jobs)} jobs to {app.backend_url()}; Ctrl-C to stop", flush=True)


if __name__ == "__main__":
    anyio.run(main)
