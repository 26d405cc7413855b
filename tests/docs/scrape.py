"""One real scrape of a worker's ``/metrics``, for checking the metric names the docs' PromQL uses.

The worker runs on the engine in memory with ``install_metrics`` and every optional family watched (scale-in
protection and the Spot watch, through stand-ins that answer at once), and handles a success, a failure that
is retried and then dead-lettered, and a rejection, so that every series the docs name has samples. Then
``/metrics`` is fetched over HTTP, as Prometheus would fetch it, and parsed with prometheus_client's parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import aiohttp
import anyio
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from consumerkit import App, FixedBackoff, Message, Reject
from consumerkit.aws import protection_service, spot_watch_service
from consumerkit.backends import open_backend
from consumerkit.observability import http_service, install_metrics
from tests.runtime.harness import WAIT, running, send, url_of

QUEUE = "docs-scrape"
BODIES = ("ok", "ok", "fail", "reject")
OUTCOMES = 5  # two successes, the failure twice (max_receives=2, then SQS dead-letters it), one rejection
# Labels Prometheus adds to every series it scrapes, which queries may group by.
TARGET_LABELS = frozenset({"instance", "job"})


@dataclass(frozen=True)
class Scrape:
    """Series names as exposed (``_total``, ``_bucket`` included) and each one's label names."""

    labels: dict[str, frozenset[str]] = field(default_factory=dict)

    def has(self, series: str) -> bool:
        return series in self.labels


class _IdleProtector:
    """A protector whose calls always succeed; its service is only watched, never run."""

    renew_every = None

    async def enable(self) -> None:
        pass

    async def disable(self) -> None:
        pass


class _NoNotice:
    """Instance metadata with no Spot interruption scheduled: the 404 of a normal day."""

    async def get(self, path: str) -> str | None:
        return None


def scrape_worker() -> Scrape:
    return anyio.run(_scrape)


async def _scrape() -> Scrape:
    app = App()
    app.queue(QUEUE, dead_letter=f"{QUEUE}-dlq", max_receives=2)
    metrics = install_metrics(app, CollectorRegistry())
    metrics.watch_protection("ecs", protection_service(_IdleProtector()))
    spot = spot_watch_service(_NoNotice())
    app.add_service(spot)
    metrics.watch_spot(spot)
    endpoints = http_service(host="127.0.0.1", port=0, registry=metrics.registry)
    app.add_service(endpoints)

    @app.handler(QUEUE, concurrency=2, retry=FixedBackoff(0))
    async def handle(message: Message) -> None:
        if message.body == "fail":
            raise ValueError("a failure, for the error series")
        if message.body == "reject":
            raise Reject("a rejection, for the rejected series")

    async with open_backend("memory://") as backend, running(app, backend) as (supervisor, outcomes):
        await send(backend, url_of(supervisor, QUEUE), *BODIES)
        await outcomes.wait(OUTCOMES)
        assert supervisor.sampler is not None
        await supervisor.sampler.sample()  # the start-up sample is older than the outcomes: look again
        with anyio.fail_after(WAIT):
            async with aiohttp.ClientSession() as session, session.get(f"{endpoints.url}/metrics") as reply:
                assert reply.status == 200, reply.status
                text = await reply.text()
    return _parse(text)


def _parse(text: str) -> Scrape:
    labels: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels.setdefault(sample.name, set()).update(sample.labels)
    return Scrape({name: frozenset(names) for name, names in labels.items()})
