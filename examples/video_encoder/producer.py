"""The producer: generate short test clips with ffmpeg, then send one encode job per clip.

``python -m examples.video_encoder.producer`` sends to the same backend as the worker (``$CONSUMERKIT_BACKEND``,
else ``sqlite:///.consumerkit/queues.db``); start the worker first on the local engine, since it creates the
queues. ``--bad`` adds two jobs that cannot succeed (a missing source, a body that is not JSON), to watch them
reach the dead-letter queue.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import anyio

from consumerkit import ConsumerkitError, QueueNotFoundError, run_process
from consumerkit.backends import Backend, OutgoingMessage, open_backend
from examples.video_encoder.media import clip_command
from examples.video_encoder.worker import DEAD_LETTER, MAX_RECEIVES, QUEUE, Job, app

DEFAULT_WORKDIR = Path(".consumerkit") / "video-encoder"
SEND_BATCH = 10  # SQS's limit per SendMessageBatch


@dataclass(frozen=True)
class Clip:
    name: str
    seconds: float
    realtime: bool = False  # encoded at playing speed: a long job on a fast machine


def demo_clips(count: int, long_seconds: float) -> list[Clip]:
    """``count`` short clips, the last one encoded at playing speed for ``long_seconds`` (0: none)."""
    clips = [Clip(f"clip-{n}", 2.0 + n % 3) for n in range(1, count + 1)]
    if long_seconds > 0 and clips:
        clips[-1] = Clip(clips[-1].name, long_seconds, realtime=True)
    return clips


def clip_paths(directory: Path, clips: Sequence[Clip]) -> list[Path]:
    """Where the clips go (absolute, since the worker may run elsewhere), their directory made."""
    directory.mkdir(parents=True, exist_ok=True)
    return [(directory / f"{clip.name}.mp4").resolve() for clip in clips]


async def make_clips(clips: Sequence[Clip], paths: Sequence[Path]) -> None:
    """Render the clips, one after the other: each takes a fraction of a second, and a failure stays one error."""
    for clip, path in zip(clips, paths, strict=True):
        await run_process(clip_command(path, seconds=clip.seconds))


def jobs_for(clips: Sequence[Clip], sources: Sequence[Path], output: Path, height: int = 240) -> list[Job]:
    output = output.resolve()
    return [
        Job(str(source), str(output / f"{clip.name}-{height}p.mp4"), height=height, realtime=clip.realtime)
        for clip, source in zip(clips, sources, strict=True)
    ]


def bad_bodies(directory: Path) -> dict[str, str]:
    """Two jobs no worker can do, by what is wrong with them: a source that does not exist, a body cut short."""
    missing = Job(str(directory.resolve() / "no-such-clip.mp4"), str(directory.resolve() / "never.mp4"))
    return {"missing source": json.dumps(asdict(missing)), "malformed JSON": '{"source": "clip-1.mp4", "target": '}


async def send(backend: Backend, queue_url: str, bodies: Sequence[str]) -> list[str]:
    """Send ``bodies``, ten per call; returns the message ids. A refused entry is an error, never skipped."""
    ids: list[str] = []
    for start in range(0, len(bodies), SEND_BATCH):
        batch = [OutgoingMessage(body, str(n)) for n, body in enumerate(bodies[start : start + SEND_BATCH])]
        sent, failed = await backend.send_message_batch(queue_url, batch)
        if failed:
            raise RuntimeError(f"{QUEUE}: {len(failed)} jobs refused: {failed[0].code}: {failed[0].message}")
        ids += sent
    return ids


def bodies_of(jobs: Sequence[Job]) -> list[str]:
    return [json.dumps(asdict(job)) for job in jobs]


async def produce(url: str, clips: Sequence[Clip], sources: Sequence[Path], bodies: Sequence[str]) -> list[str]:
    await make_clips(clips, sources)
    async with open_backend(url) as backend:
        return await send(backend, await backend.get_queue_url(QUEUE), bodies)


def add_clip_options(parser: argparse.ArgumentParser) -> None:
    """The options the producer and the demo share: which clips, and where they and the outputs go."""
    parser.add_argument("--clips", type=int, default=3, help="how many clips to encode, 1..100 (default 3)")
    parser.add_argument("--long", type=float, default=8.0, help="seconds of the last clip, encoded at play speed")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help="where clips and outputs go")


def clips_of(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[Clip]:
    if not 1 <= args.clips <= 100:
        parser.error(f"--clips={args.clips} is out of range: 1..100")
    if not 0 <= args.long <= 600:
        parser.error(f"--long={args.long:g} is out of range: 0..600 seconds")
    return demo_clips(args.clips, args.long)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.video_encoder.producer", description=__doc__)
    add_clip_options(parser)
    parser.add_argument("--bad", action="store_true", help="also send two jobs that end in the dead-letter queue")
    args = parser.parse_args(argv)
    url, clips = app.backend_url(), clips_of(parser, args)
    sources = clip_paths(args.workdir / "clips", clips)
    bodies = bodies_of(jobs_for(clips, sources, args.workdir / "encoded"))
    if args.bad:
        bodies += bad_bodies(args.workdir / "clips").values()
    try:
        ids = anyio.run(produce, url, clips, sources, bodies)
    except QueueNotFoundError:
        print(
            f"producer: queue {QUEUE!r} does not exist on {url}: start the worker first (it creates the queues on "
            f"the local engine), or create them: consumerkit queue create {QUEUE} --dead-letter {DEAD_LETTER} "
            f"--max-receives {MAX_RECEIVES}",
            file=sys.stderr,
        )
        return 1
    except (ConsumerkitError, RuntimeError, OSError) as error:  # ffmpeg failed, the queue service, a full disk
        print(f"producer: {error}", file=sys.stderr)
        return 1
    print(f"sent {len(ids)} jobs to {QUEUE} on {url}; outputs go to {(args.workdir / 'encoded').resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
