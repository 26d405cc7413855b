"""The example end to end, in one process on the embedded engine: publish as SNS and S3 would, then work.

It sends SNS-wrapped orders, S3 event notifications (the set-up test event among them) and S3 events relayed by
SNS, plus two bodies that do not decode; it runs the worker until every good message has been handled and both
bad ones sit in a dead-letter queue, prints what each handler decoded, and stops the worker gracefully.
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import anyio

from consumerkit import ConsumerkitError, Outcome, Supervisor
from consumerkit.observability.logging import configure_logging
from examples.fanout import producer
from examples.fanout.worker import FANOUT, MAX_RECEIVES, ORDERS, QUEUES, UPLOADS, app

POLL = 0.05  # seconds between looks at the dead-letter queues while the last bad message is moved


def messages() -> dict[str, list[str]]:
    """What each queue gets: good bodies first, then the bad ones (see ``BAD``)."""
    upload = producer.s3_notification
    return {
        ORDERS: [
            producer.sns_envelope("orders", '{"order_id": "A-1", "video": "intro.mov"}', "order", {"tenant": "acme"}),
            producer.sns_envelope("orders", '{"order_id": "A-2", "video": "outro.mov", "copies": 3}'),
            producer.sns_envelope("orders", '{"order_id": "A-3"}'),  # no video: does not fit Order
        ],
        UPLOADS: [
            producer.s3_test_event("media-inbox"),
            upload("media-inbox", "raw/summer holiday.mov", 734_003_200),
            upload("media-inbox", "raw/café crème+1.mp4", 52_428_800),
            '{"Records": [{"eventVersion": "2.1"}]}',  # a record without its fields
        ],
        FANOUT: [
            producer.sns_envelope(
                "media-uploads", upload("media-inbox", "raw/trailer 2.mkv", 9_437_184), "Amazon S3 Notification"
            ),
        ],
    }


BAD = 2  # the last order and the last upload


class Tally:
    """An observer of every outcome: counts the successes, and prints each failed try in one line."""

    def __init__(self) -> None:
        self.handled = 0

    def __call__(self, outcome: Outcome) -> None:
        if outcome.outcome == "success":
            self.handled += 1
        elif outcome.outcome == "error":
            tries = f"try {outcome.receive_count} of {MAX_RECEIVES}"
            print(f"{outcome.queue}: {tries} failed: {outcome.error}", flush=True)


async def run_demo(backend: str, *, time_limit: float = 60.0) -> int:
    """Returns how many messages were dead-lettered; raises TimeoutError if the work did not finish in time."""
    bodies = messages()
    good = sum(len(b) for b in bodies.values()) - BAD
    tally = Tally()
    async with anyio.create_task_group() as tg:
        supervisor: Supervisor = await tg.start(functools.partial(app.serve, backend, observers=[tally]))
        try:
            urls = {ctx.spec.queue: ctx.queue_url for ctx in supervisor.contexts}
            for queue, queued in bodies.items():
                await producer.send(supervisor.backend, urls[queue], queued)
            with anyio.fail_after(time_limit):
                dead = await _settled(supervisor, tally, good)
        finally:
            supervisor.stop()  # and leaving the task group waits for the graceful stop
    return dead


async def _settled(supervisor: Supervisor, tally: Tally, good: int) -> int:
    """Wait until every good message was handled and the bad ones reached a DLQ (SQS moves a message at the
    receive after its last try, so only the dead-letter queues' counters tell)."""
    dead_letter_urls = [await supervisor.backend.get_queue_url(f"{queue}-dlq") for queue in QUEUES]
    while True:
        dead = 0
        for url in dead_letter_urls:
            counts = await supervisor.backend.queue_counts(url)
            dead += counts.visible + counts.in_flight + counts.delayed
        if tally.handled >= good and dead >= BAD:
            return dead
        await anyio.sleep(POLL)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.fanout", description=__doc__)
    parser.add_argument("--store", choices=("memory", "sqlite"), default="memory", help="the engine's store")
    parser.add_argument("--timeout", type=float, default=60.0, help="give up after this many seconds")
    args = parser.parse_args(argv)
    configure_logging("console", "error")  # the handlers print what they decoded, one line each
    with tempfile.TemporaryDirectory(prefix="consumerkit-fanout-") as workdir:
        backend = "memory://" if args.store == "memory" else f"sqlite:///{Path(workdir) / 'queues.db'}"
        try:
            dead = anyio.run(functools.partial(run_demo, backend, time_limit=args.timeout))
        except TimeoutError:
            print(f"fanout demo: not done after {args.timeout:g} s", file=sys.stderr)
            return 1
        except ConsumerkitError as error:
            print(f"fanout demo: {error}", file=sys.stderr)
            return 1
    print(f"done: {dead} messages that did not decode are in the dead-letter queues", flush=True)
    return 0
