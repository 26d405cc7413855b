"""Prometheus metrics of a worker: what scalers, dashboards and alerts read (OPERATIONS.md §2.7).

Everything is a plain record that a collector reads at scrape time, so metrics never steer the worker
(DESIGN.md) and a message costs as little as possible:

* the supervisor's ``statistics()`` and its backlog sampler, which the runtime keeps anyway: received,
  processed by outcome, in progress, slots, redeliveries, visibility extensions, the 12-hour cap, receive
  requests, the backlog, the last processed time, draining. Exporting them adds nothing per message;
* the two histograms, processing duration by outcome and queue wait, with long-job buckets up to SQS's 12-hour
  ceiling: the runtime keeps them in each handler's statistics once ``SupervisorSettings.histogram_buckets``
  is set (install_metrics sets it), recording each message where it settles. An observation is a bisect and
  two additions, about a quarter of ``prometheus_client.Histogram.observe``, which takes locks the event loop
  does not need; done by an observer instead (an ``Outcome`` built and handed over per message), it had cost
  more than the observation;
* the records of :class:`~consumerkit.observability.metered.MeteredBackend`: calls and their latency by SQS
  operation;
* the ``statistics()`` of the AWS hooks it is told to watch (:meth:`Metrics.watch_protection`,
  :meth:`Metrics.watch_spot`): whether scale-in protection is on and how its calls went, and whether a Spot
  interruption is scheduled. ``consumerkit run`` wires them from its flags.

:func:`install_metrics` puts the observer, the backend layer and a binding service on an
:class:`~consumerkit.App`. Labels are bounded by code: queue, handler, outcome, result, state, operation; never
a message id (``protector`` is ``ecs`` or ``ec2``).
"""

from __future__ import annotations

import platform
from collections.abc import Iterable, Iterator, Sequence

import structlog
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from consumerkit import __version__
from consumerkit.app import App
from consumerkit.aws.protection import ProtectionService
from consumerkit.aws.spot import SpotWatch
from consumerkit.backends.base import Backend
from consumerkit.observability.metered import MeteredBackend, RequestStatistics
from consumerkit.runtime.distribution import Distribution, check_buckets
from consumerkit.runtime.events import OUTCOMES, HandlerStatistics
from consumerkit.runtime.supervisor import Supervisor

__all__ = ["LONG_JOB_BUCKETS", "Metrics", "install_metrics"]

# Roughly ×2–×3 steps from a second to SQS's 12-hour visibility ceiling (OPERATIONS.md §2.4); +Inf is added.
LONG_JOB_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0, 14400.0,
                    28800.0, 43200.0)  # fmt: skip
log = structlog.get_logger("consumerkit.metrics")
STALE_SAMPLES = 3  # a backlog sample older than this many sampling intervals is not exported


class Metrics:
    """The metrics of one worker, registered in ``registry`` (default: prometheus_client's global registry,
    which also holds the ``process_*`` and ``python_*`` collectors). The names can be registered once per
    registry: give each Metrics a registry of its own. Its histograms are the bound supervisor's (see
    ``SupervisorSettings.histogram_buckets``); without them, the histogram families are empty."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = REGISTRY if registry is None else registry
        self.supervisor: Supervisor | None = None
        self.requests = RequestStatistics()
        self.protections: dict[str, ProtectionService] = {}  # by protector: ecs | ec2
        self.spot_watch: SpotWatch | None = None
        self.registry.register(_Collector(self))

    def metered(self, backend: Backend) -> MeteredBackend:
        """The backend layer to add to the app: every call counted and timed by operation."""
        return MeteredBackend(backend, self.requests)

    def watch_protection(self, protector: str, service: ProtectionService) -> None:
        """Export this scale-in protection service's state and calls, labelled ``protector`` (ecs or ec2)."""
        self.protections[protector] = service

    def watch_spot(self, watch: SpotWatch) -> None:
        """Export whether this watch has seen a Spot interruption notice, and its metadata look-ups."""
        self.spot_watch = watch

    def bind(self, supervisor: Supervisor) -> None:
        """Read this supervisor's records from now on, at every scrape."""
        self.supervisor = supervisor
        if supervisor.settings.histogram_buckets is None:
            log.warning(
                "metrics without the duration and queue-wait histograms: the supervisor keeps none "
                "(app.settings replaced after install_metrics?); set SupervisorSettings.histogram_buckets"
            )

    async def service(self, supervisor: Supervisor) -> None:
        """The app service that binds the supervisor as it starts; it has nothing else to do."""
        self.bind(supervisor)


def install_metrics(
    app: App, registry: CollectorRegistry | None = None, *, buckets: Sequence[float] = LONG_JOB_BUCKETS
) -> Metrics:
    """Metrics for ``app``: its histograms kept by the runtime, its backend layer, and a service that binds its
    supervisor. Serve ``metrics.registry`` with :func:`~consumerkit.observability.http.http_service`.
    ``buckets`` are the upper bounds of the processing-duration and queue-wait histograms, in seconds."""
    app.settings = app.settings.replace(histogram_buckets=check_buckets(buckets))
    metrics = Metrics(registry)
    app.add_backend_layer(metrics.metered)
    app.add_service(metrics.service)
    return metrics


class _Collector:
    """Every record, read at scrape time. Before a supervisor is bound it still describes every family (so a
    second registration in one registry fails at once) and reports build info."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def describe(self) -> Iterator[Metric]:
        return self._families(None)

    def collect(self) -> Iterator[Metric]:
        return self._families(self._metrics.supervisor)

    def _families(self, supervisor: Supervisor | None) -> Iterator[Metric]:
        m = self._metrics
        stats = supervisor.statistics() if supervisor is not None else []
        yield from _handler_families(stats)
        yield _histogram(
            "message_processing_duration_seconds",
            "Seconds from a job's start to its message's settlement (delete or visibility change), by outcome.",
            ("queue", "handler", "outcome"),
            [((s.queue, s.handler, outcome), d) for s in stats for outcome, d in (s.durations or {}).items()
             if d.count],
        )  # fmt: skip
        yield _histogram(
            "message_queue_wait_seconds", "Seconds from SentTimestamp to receipt, observed at receipt.",
            ("queue",), [((s.queue,), s.queue_waits) for s in stats if s.queue_waits and s.queue_waits.count],
        )  # fmt: skip
        yield from _request_families(m.requests)
        yield from _backlog_families(supervisor)
        yield from _protection_families(m.protections)
        yield from _spot_families(m.spot_watch)
        draining = GaugeMetricFamily("consumerkit_draining", "1 while a shutdown drains running jobs, else 0.")
        draining.add_metric([], 1.0 if supervisor is not None and supervisor.draining else 0.0)
        yield draining
        info = GaugeMetricFamily("consumerkit_build_info", "Always 1.", labels=("version", "python_version"))
        info.add_metric([__version__, platform.python_version()], 1.0)
        yield info


def _handler_families(stats: list[HandlerStatistics]) -> Iterator[Metric]:
    """One handler per queue (the supervisor validates it), so the per-queue series are its handler's."""
    received = _counter("messages_received", "Messages received.", "queue")
    processed = _counter("messages_processed", "Messages settled, by outcome.", "queue", "handler", "outcome")
    redeliveries = _counter("message_redeliveries", "Messages received with a receive count above 1.", "queue")
    extensions = _counter("visibility_extensions", "Visibility extensions by result.", "queue", "result")
    cap = _counter("visibility_cap_reached", "Jobs cancelled and released at their max_duration (at most 12 h).",
                   "queue", "handler")  # fmt: skip
    receives = _counter("receive_requests", "ReceiveMessage calls by result.", "queue", "result")
    in_progress = _gauge("messages_in_progress", "Messages being handled now.", "queue", "handler")
    slots = _gauge("concurrency_slots", "Configured concurrency: messages handled at once at most.", "queue")
    last = _gauge("last_message_processed_timestamp_seconds", "When a message last settled (Unix time).", "queue")
    for s in stats:
        received.add_metric([s.queue], s.received)
        for outcome in OUTCOMES:
            processed.add_metric([s.queue, s.handler, outcome], s.outcomes[outcome])
        redeliveries.add_metric([s.queue], s.redeliveries)
        for result in ("ok", "error"):
            extensions.add_metric([s.queue, result], s.extensions[result])
        cap.add_metric([s.queue, s.handler], s.cap_reached)
        for result in ("messages", "empty", "error"):
            receives.add_metric([s.queue, result], s.receive_requests[result])
        in_progress.add_metric([s.queue, s.handler], s.in_progress)
        slots.add_metric([s.queue], s.slots)
        if s.last_processed is not None:
            last.add_metric([s.queue], s.last_processed)
    yield from (received, processed, redeliveries, extensions, cap, receives, in_progress, slots, last)


def _backlog_families(supervisor: Supervisor | None) -> Iterator[Metric]:
    """The sampler's latest counts of each queue and DLQ. A sample gone stale (the service unreachable for
    several intervals) is left out rather than exported as if current: a scaler must not act on it."""
    messages = _gauge("queue_messages", "Approximate messages in the queue, by state.", "queue", "state")
    oldest = _gauge("queue_oldest_message_age_seconds", "Age of the oldest message, where known.", "queue")
    errors = _counter("queue_sample_errors", "Failed reads of a queue's counters by the backlog sampler.", "queue")
    sampler = supervisor.sampler if supervisor is not None else None
    if supervisor is not None and sampler is not None:
        now = supervisor.clock.now()
        for queue, counts in sampler.latest.items():
            if now - sampler.sampled_at.get(queue, now) > STALE_SAMPLES * sampler.interval:
                continue
            for state, value in (("visible", counts.visible), ("in_flight", counts.in_flight),
                                 ("delayed", counts.delayed)):  # fmt: skip
                messages.add_metric([queue, state], value)
            if counts.oldest_age is not None:
                oldest.add_metric([queue], counts.oldest_age)
    if sampler is not None:
        for queue in sampler.queues:
            errors.add_metric([queue], sampler.errors[queue])
    yield from (messages, oldest, errors)


def _protection_families(services: dict[str, ProtectionService]) -> Iterator[Metric]:
    """Scale-in protection as the hooks last set it: a protected worker that is idle for long is worth an alert
    (it blocks the scale-in), and so are failing calls (a busy worker left unprotected)."""
    protected = _gauge("scale_in_protected", "1 while scale-in protection is on, as last set.", "protector")
    changes = _counter("scale_in_protection_changes", "Calls that turned protection on or off.", "protector")
    renewals = _counter("scale_in_protection_renewals", "Calls that renewed an expiring protection.", "protector")
    errors = _counter("scale_in_protection_errors", "Protection calls that failed.", "protector")
    for protector, service in services.items():
        stats = service.statistics()
        protected.add_metric([protector], 1.0 if stats.protected else 0.0)
        changes.add_metric([protector], stats.toggles)
        renewals.add_metric([protector], stats.renewals)
        errors.add_metric([protector], stats.errors)
    yield from (protected, changes, renewals, errors)


def _spot_families(watch: SpotWatch | None) -> Iterator[Metric]:
    scheduled = _gauge("spot_interruption_scheduled", "1 once EC2 has scheduled this Spot instance's interruption.")
    looks = _counter("spot_metadata_requests", "Looks for a Spot interruption notice, by result.", "result")
    if watch is not None:
        stats = watch.statistics()
        scheduled.add_metric([], 1.0 if stats.notice is not None else 0.0)
        looks.add_metric(["ok"], stats.polls - stats.errors)
        looks.add_metric(["error"], stats.errors)
    yield from (scheduled, looks)


def _request_families(requests: RequestStatistics) -> Iterator[Metric]:
    """Calls by operation and result (every operation, zeros included); durations of those ever called."""
    calls = _counter("sqs_requests", "Queue service calls, counted as they end, by operation and result.",
                     "operation", "result")  # fmt: skip
    for name, record in requests.operations.items():
        calls.add_metric([name, "ok"], record.ok)
        calls.add_metric([name, "error"], record.error)
        calls.add_metric([name, "cancelled"], record.cancelled)
    yield calls
    called = [((name,), r.durations) for name, r in requests.operations.items() if r.ok or r.error]
    yield _histogram("sqs_request_duration_seconds", "Seconds a queue service call took, by operation.",
                     ("operation",), called)  # fmt: skip


def _histogram(
    name: str, documentation: str, labels: Sequence[str], records: Iterable[tuple[tuple[str, ...], Distribution]]
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(f"consumerkit_{name}", documentation, labels=labels)
    for values, record in records:
        counts, cumulative, buckets = list(record.counts), 0, []  # a copy: a scrape may come from another thread
        for bound, count in zip((*record.bounds, float("inf")), counts, strict=True):
            cumulative += count
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), float(cumulative)))
        family.add_metric(list(values), buckets, record.total)
    return family


def _counter(name: str, documentation: str, *labels: str) -> CounterMetricFamily:
    return CounterMetricFamily(f"consumerkit_{name}", documentation, labels=labels)


def _gauge(name: str, documentation: str, *labels: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"consumerkit_{name}", documentation, labels=labels)
