"""Metrics scraped from a real worker on the local engine, with one manual clock for the worker and its queue."""

from __future__ import annotations

import platform

import anyio
import pytest
import structlog.testing
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from consumerkit import App, FixedBackoff, Message, Outcome, Reject, SupervisorSettings, __version__
from consumerkit.backends import Backend, LocalBackend, OutgoingMessage
from consumerkit.clock import ManualClock
from consumerkit.engine import Engine
from consumerkit.errors import ConfigError, QueueNotFoundError
from consumerkit.observability import LONG_JOB_BUCKETS, MeteredBackend, Metrics, install_metrics
from tests.runtime.harness import Gate, running, send, settle, url_of

Samples = dict[str, list[tuple[dict[str, str], float]]]
BOUNDED_LABELS = {"queue", "handler", "outcome", "result", "state", "operation", "le", "version", "python_version"}
EVERY_METRIC = [
    "consumerkit_messages_received_total",
    "consumerkit_messages_processed_total",
    "consumerkit_message_processing_duration_seconds_bucket",
    "consumerkit_message_queue_wait_seconds_bucket",
    "consumerkit_messages_in_progress",
    "consumerkit_concurrency_slots",
    "consumerkit_message_redeliveries_total",
    "consumerkit_visibility_extensions_total",
    "consumerkit_visibility_cap_reached_total",
    "consumerkit_receive_requests_total",
    "consumerkit_sqs_requests_total",
    "consumerkit_sqs_request_duration_seconds_bucket",
    "consumerkit_queue_messages",
    "consumerkit_queue_oldest_message_age_seconds",
    "consumerkit_queue_sample_errors_total",
    "consumerkit_last_message_processed_timestamp_seconds",
    "consumerkit_draining",
    "consumerkit_build_info",
]


def scrape(registry: CollectorRegistry) -> Samples:
    """The registry as Prometheus would read it: the text format, parsed back, by sample name."""
    samples: Samples = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    found = [v for sample_labels, v in samples.get(name, []) if sample_labels == labels]
    assert len(found) == 1, f"{name}{labels}: {found} among {samples.get(name)}"
    return found[0]


def expected_buckets(values: list[float]) -> dict[str, float]:
    """Cumulative bucket counts, as ``le`` labels render, for these observations."""
    counts = {f"{bound:.1f}": float(sum(1 for v in values if v <= bound)) for bound in LONG_JOB_BUCKETS}
    return {**counts, "+Inf": float(len(values))}


async def test_every_metric_from_a_real_run(local: LocalBackend, clock: ManualClock, queue_name: str) -> None:
    app = App()
    app.queue(queue_name, dead_letter=f"{queue_name}-dlq", visibility_timeout=30)
    registry = CollectorRegistry()
    install_metrics(app, registry)
    gate = Gate()

    @app.handler(queue_name, concurrency=4, visibility_timeout=30, retry=FixedBackoff(1))  # heartbeat every 15 s
    async def encode(message: Message) -> None:
        if message.body == "slow":
            await gate.enter()
        elif message.body == "fail once" and message.receive_count == 1:
            raise ValueError("transcoder crashed")
        elif message.body == "poison":
            raise Reject("not a video")
        elif message.body == "give back":
            await message.release(600)

    async with running(app, local, clock=clock) as (supervisor, outcomes):
        url = url_of(supervisor, queue_name)
        await send(local, url, "slow", "fail once", "poison", "give back")
        await local.send_message_batch(url, [OutgoingMessage("delayed", "d", delay_seconds=3)])
        await gate.wait_started(1)
        for _ in range(20):  # the retry comes back after 1 s, the delayed one after 3, a heartbeat at 15
            clock.advance(1)
            await settle()
        gate.open.set()
        await outcomes.wait(6)
        clock.advance(10)  # to the sampler's second read, at 30 s: the DLQ holds the poison
        await settle()
        samples = scrape(registry)

    for name in EVERY_METRIC:
        assert name in samples, name
    q, dlq = queue_name, f"{queue_name}-dlq"
    assert sorted(outcomes.kinds()) == ["error", "rejected", "released", "success", "success", "success"]
    processed = "consumerkit_messages_processed_total"
    assert value(samples, processed, queue=q, handler="encode", outcome="success") == 3
    for outcome in ("error", "rejected", "released"):
        assert value(samples, processed, queue=q, handler="encode", outcome=outcome) == 1
    for outcome in ("timeout", "lease_lost"):  # every outcome is there from the start, so rate() sees the first
        assert value(samples, processed, queue=q, handler="encode", outcome=outcome) == 0
    assert value(samples, "consumerkit_messages_received_total", queue=q) == 6
    assert value(samples, "consumerkit_message_redeliveries_total", queue=q) == 1
    assert value(samples, "consumerkit_visibility_extensions_total", queue=q, result="ok") >= 1
    assert value(samples, "consumerkit_visibility_extensions_total", queue=q, result="error") == 0
    assert value(samples, "consumerkit_visibility_cap_reached_total", queue=q, handler="encode") == 0
    assert value(samples, "consumerkit_receive_requests_total", queue=q, result="messages") >= 3
    assert value(samples, "consumerkit_receive_requests_total", queue=q, result="error") == 0
    assert value(samples, "consumerkit_messages_in_progress", queue=q, handler="encode") == 0
    assert value(samples, "consumerkit_concurrency_slots", queue=q) == 4
    # the slow job settled last, 20 s after the start
    assert value(samples, "consumerkit_last_message_processed_timestamp_seconds", queue=q) == 1_700_000_020
    assert value(samples, "consumerkit_queue_messages", queue=dlq, state="visible") == 1
    assert value(samples, "consumerkit_queue_messages", queue=q, state="delayed") == 0
    assert value(samples, "consumerkit_queue_messages", queue=q, state="in_flight") == 1  # released for 600 s
    assert value(samples, "consumerkit_queue_oldest_message_age_seconds", queue=dlq) >= 0
    assert value(samples, "consumerkit_queue_sample_errors_total", queue=q) == 0
    assert value(samples, "consumerkit_draining") == 0
    info = {"version": __version__, "python_version": platform.python_version()}
    assert value(samples, "consumerkit_build_info", **info) == 1
    _assert_histograms(samples, q, outcomes.items)
    _assert_requests(samples)
    _assert_bounded_labels(samples, outcomes.items)


def _assert_histograms(samples: Samples, queue: str, outcomes: list[Outcome]) -> None:
    """Each outcome's duration, and each delivery's queue wait, in the buckets its value belongs to."""
    for kind in ("success", "error", "rejected", "released"):
        durations = [o.duration for o in outcomes if o.outcome == kind]
        labels = {"queue": queue, "handler": "encode", "outcome": kind}
        buckets = {
            sl["le"]: v
            for sl, v in samples["consumerkit_message_processing_duration_seconds_bucket"]
            if {k: sl[k] for k in labels} == labels
        }
        assert buckets == expected_buckets(durations), kind
        total = value(samples, "consumerkit_message_processing_duration_seconds_sum", **labels)
        assert total == pytest.approx(sum(durations))
    success = {sl["le"]: v for sl, v in samples["consumerkit_message_processing_duration_seconds_bucket"]
               if sl["outcome"] == "success"}  # fmt: skip
    assert (success["15.0"], success["30.0"]) == (2, 3)  # the 20-second job, above 15 and within 30
    waits = [o.queue_wait for o in outcomes if o.queue_wait is not None]
    assert len(waits) == 6
    buckets = {
        sl["le"]: v for sl, v in samples["consumerkit_message_queue_wait_seconds_bucket"] if sl["queue"] == queue
    }
    assert buckets == expected_buckets(waits)
    assert max(waits) == 3  # the message sent with a 3-second delay (the retried one came back sooner)
    assert (buckets["1.0"], buckets["5.0"]) == (4, 6)  # four received at once, two later


def _assert_requests(samples: Samples) -> None:
    requests = "consumerkit_sqs_requests_total"
    for operation in ("ReceiveMessage", "DeleteMessageBatch", "ChangeMessageVisibilityBatch", "SendMessageBatch",
                      "GetQueueAttributes", "GetQueueUrl", "CreateQueue"):  # fmt: skip
        assert value(samples, requests, operation=operation, result="ok") >= 1, operation
    # declared queues are looked up before being created, and SQS says they are missing
    assert value(samples, requests, operation="GetQueueUrl", result="error") == 2
    for operation in ("ReceiveMessage", "DeleteMessageBatch", "GetQueueAttributes"):
        calls = sum(v for labels, v in samples[requests] if labels["operation"] == operation)
        assert value(samples, "consumerkit_sqs_request_duration_seconds_count", operation=operation) == calls


def _assert_bounded_labels(samples: Samples, outcomes: list[Outcome]) -> None:
    ids = {o.message_id for o in outcomes}
    for name, series in samples.items():
        for labels, _ in series:
            assert set(labels) <= BOUNDED_LABELS, (name, labels)
            assert not ids & set(labels.values()), (name, labels)


async def test_before_the_worker_starts_only_build_info_and_draining_have_values() -> None:
    registry = CollectorRegistry()
    Metrics(registry)
    samples = scrape(registry)
    assert value(samples, "consumerkit_draining") == 0
    assert "consumerkit_queue_sample_errors_total" not in samples  # no queue known yet
    assert "consumerkit_build_info" in samples
    assert "consumerkit_messages_processed_total" not in samples  # no handler known yet


def test_one_registry_holds_one_metrics() -> None:
    registry = CollectorRegistry()
    Metrics(registry)
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        Metrics(registry)


async def test_the_metered_backend_keeps_the_protocol_and_counts_errors(local: LocalBackend, queue_name: str) -> None:
    registry = CollectorRegistry()
    metered = Metrics(registry).metered(local)
    assert isinstance(metered, Backend) and isinstance(metered, MeteredBackend)
    assert metered.creates_queues is local.creates_queues
    async with metered as entered:
        assert entered is metered
        url = await metered.create_queue(queue_name)
        await metered.set_queue_attributes(url, {"VisibilityTimeout": "5"})
        with pytest.raises(QueueNotFoundError):
            await metered.get_queue_url(f"{queue_name}-missing")
        with anyio.move_on_after(0.01):  # a long poll cancelled midway: neither ok nor error, and no duration
            await metered.receive_messages(url, max_messages=1, wait_seconds=20, visibility_timeout=5)
    samples = scrape(registry)
    requests = "consumerkit_sqs_requests_total"
    assert value(samples, requests, operation="CreateQueue", result="ok") == 1
    assert value(samples, requests, operation="SetQueueAttributes", result="ok") == 1
    assert value(samples, requests, operation="GetQueueUrl", result="error") == 1
    assert value(samples, requests, operation="ReceiveMessage", result="ok") == 0
    assert value(samples, requests, operation="ReceiveMessage", result="error") == 0
    assert value(samples, requests, operation="ReceiveMessage", result="cancelled") == 1
    durations = "consumerkit_sqs_request_duration_seconds_count"
    assert not any(labels["operation"] == "ReceiveMessage" for labels, _ in samples[durations])  # never ended
    assert value(samples, "consumerkit_sqs_request_duration_seconds_count", operation="GetQueueUrl") == 1


async def test_buckets_can_be_chosen_and_must_increase(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    app = App()
    gate = Gate()
    done = {body: anyio.Event() for body in "abc"}

    @app.handler(queue_name, concurrency=3)
    async def encode(message: Message) -> None:
        await gate.enter()
        await done[message.body].wait()

    registry = CollectorRegistry()
    install_metrics(app, registry, buckets=(0.5, 2))
    async with running(app, local, clock=clock) as (supervisor, outcomes):
        await send(local, url_of(supervisor, queue_name), "a", "b", "c")
        await gate.wait_started(3)
        gate.open.set()
        for settled, (body, step) in enumerate(zip("abc", (0.5, 0.5, 2.0), strict=True), 1):
            clock.advance(step)  # le is inclusive: the job settled at 0.5 s falls in the first bucket
            done[body].set()
            await outcomes.wait(settled)
    samples = scrape(registry)
    buckets = {sl["le"]: v for sl, v in samples["consumerkit_message_processing_duration_seconds_bucket"]}
    assert [o.duration for o in outcomes.items] == [0.5, 1.0, 3.0]
    assert buckets == {"0.5": 1, "2.0": 2, "+Inf": 3}
    with pytest.raises(ConfigError, match="strictly increasing"):
        install_metrics(App(), CollectorRegistry(), buckets=(5, 1))


async def test_the_rarer_signals_move_in_a_real_run(
    local: LocalBackend, engine: Engine, clock: ManualClock, queue_name: str
) -> None:
    """The metrics an operator alerts on, each made to move: an empty receive, a delayed message and the oldest
    message's age in the backlog sample, a failed extension (a lost lease), the 12-hour cap's counter."""
    app = App()
    handles: list[str] = []
    gate = Gate()

    @app.handler(queue_name, concurrency=2, visibility_timeout=30, max_duration=100, cap_warning=10)
    async def held(message: Message) -> None:
        handles.append(message.receipt_handle)
        await gate.enter()

    registry = CollectorRegistry()
    install_metrics(app, registry)
    async with running(app, local, clock=clock) as (supervisor, outcomes):
        url = url_of(supervisor, queue_name)
        await settle()
        clock.advance(20)  # the first long polls end empty
        await settle()
        assert value(scrape(registry), "consumerkit_receive_requests_total", queue=queue_name, result="empty") >= 1
        await send(local, url, "stolen", "capped")
        await local.send_message_batch(url, [OutgoingMessage("later", "0", delay_seconds=600)])
        await gate.wait_started(2)
        stolen = handles[0]
        await engine.change_message_visibility(url, stolen, 0)  # another consumer takes the first one over
        (taken,) = await engine.receive_message(url, visibility_timeout=3600)
        for _ in range(20):  # 100 s: the lease is found lost, the other job hits its max_duration
            clock.advance(5)
            await settle()
        await outcomes.wait(2)
        samples = scrape(registry)
        assert value(samples, "consumerkit_visibility_extensions_total", queue=queue_name, result="error") >= 1
        assert value(samples, "consumerkit_visibility_cap_reached_total", queue=queue_name, handler="held") == 1
        assert value(samples, "consumerkit_messages_processed_total", queue=queue_name, handler="held",
                     outcome="lease_lost") == 1  # fmt: skip
        assert value(samples, "consumerkit_queue_messages", queue=queue_name, state="delayed") == 1
        assert value(samples, "consumerkit_queue_oldest_message_age_seconds", queue=queue_name) >= 90
        await engine.delete_message(url, taken.receipt_handle)
        gate.open.set()


async def test_queue_wait_is_observed_at_receipt_not_when_the_job_ends(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    app = App()
    gate = Gate()

    @app.handler(queue_name)
    async def long(message: Message) -> None:
        await gate.enter()

    registry = CollectorRegistry()
    install_metrics(app, registry)
    async with running(app, local, clock=clock) as (supervisor, _):
        await local.send_message_batch(
            url_of(supervisor, queue_name), [OutgoingMessage("waited", "0", delay_seconds=90)]
        )
        await settle()
        clock.advance(90)
        await gate.wait_started(1)
        samples = scrape(registry)  # the job is still running
        assert value(samples, "consumerkit_message_queue_wait_seconds_count", queue=queue_name) == 1
        assert value(samples, "consumerkit_message_queue_wait_seconds_bucket", queue=queue_name, le="60.0") == 0
        assert value(samples, "consumerkit_message_queue_wait_seconds_bucket", queue=queue_name, le="120.0") == 1
        gate.open.set()


class _StalledVisibility:
    """The local engine behind a link whose visibility changes never answer: a hung connection."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.calls = 0
        self.abandoned = anyio.Event()

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    async def change_visibility_batch(self, queue_url: str, changes: object) -> list[object]:
        self.calls += 1
        try:
            await anyio.sleep_forever()
        finally:
            self.abandoned.set()
        raise AssertionError("unreachable")


async def test_a_heartbeat_call_cut_off_by_its_deadline_counts_as_cancelled(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    """The heartbeat bounds each extension (half an interval, at least 1 s of real time); the abandoned call
    shows as ``cancelled`` among the requests and as a failed extension."""
    app = App()
    gate = Gate()

    @app.handler(queue_name, visibility_timeout=2)  # heartbeat every second
    async def held(message: Message) -> None:
        await gate.enter()

    registry = CollectorRegistry()
    install_metrics(app, registry)
    stalled = _StalledVisibility(local)
    async with running(app, stalled, clock=clock) as (supervisor, outcomes):  # type: ignore[arg-type]
        await send(local, url_of(supervisor, queue_name), "job")
        await gate.wait_started(1)
        clock.advance(1)  # the heartbeat's tick: the lease is due
        with anyio.fail_after(10):
            await stalled.abandoned.wait()  # at the real-time deadline, about 1 s
        await settle()
        samples = scrape(registry)
        cancelled = value(samples, "consumerkit_sqs_requests_total", operation="ChangeMessageVisibilityBatch",
                          result="cancelled")  # fmt: skip
        assert cancelled == stalled.calls >= 1
        assert value(samples, "consumerkit_sqs_requests_total", operation="ChangeMessageVisibilityBatch",
                     result="error") == 0  # fmt: skip
        assert value(samples, "consumerkit_visibility_extensions_total", queue=queue_name, result="error") >= 1
        gate.open.set()
        await outcomes.wait(1)


async def test_settings_replaced_after_install_lose_the_histograms_with_a_warning(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    app = App()

    @app.handler(queue_name)
    async def encode(message: Message) -> None:
        pass

    registry = CollectorRegistry()
    install_metrics(app, registry)
    app.settings = SupervisorSettings()  # a fresh one: no histogram buckets
    with structlog.testing.capture_logs() as logs:
        async with running(app, local, clock=clock) as (supervisor, outcomes):
            await send(local, url_of(supervisor, queue_name), "a")
            await outcomes.wait(1)
    assert any(e["event"].startswith("metrics without the duration and queue-wait histograms") for e in logs)
    assert "consumerkit_message_processing_duration_seconds_bucket" not in scrape(registry)
