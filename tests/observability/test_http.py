"""/metrics, /livez and /readyz over real HTTP on 127.0.0.1, from a real worker on the local engine."""

from __future__ import annotations

import contextlib
import functools
import re
import urllib.error
import urllib.request

import anyio
import pytest
from prometheus_client import CollectorRegistry

from consumerkit import App, Message, Supervisor, TransientBackendError
from consumerkit.backends import LocalBackend, QueueCounts, QueueMessage
from consumerkit.clock import ManualClock
from consumerkit.engine import Engine
from consumerkit.errors import ConfigError
from consumerkit.observability import HttpService, http_service, install_metrics
from tests.runtime.harness import WAIT, Flaky, Gate, running, send, settle, url_of

Reply = tuple[int, dict[str, str], str]


class Unreachable(LocalBackend):
    """The real engine behind a link that can go down: every receive and backlog read then fails."""

    down = False

    def _trip(self) -> None:
        if self.down:
            raise TransientBackendError("connect timeout on endpoint URL")

    async def receive_messages(
        self, queue_url: str, *, max_messages: int, wait_seconds: int, visibility_timeout: int
    ) -> list[QueueMessage]:
        self._trip()
        return await super().receive_messages(
            queue_url, max_messages=max_messages, wait_seconds=wait_seconds, visibility_timeout=visibility_timeout
        )

    async def queue_counts(self, queue_url: str) -> QueueCounts:
        self._trip()
        return await super().queue_counts(queue_url)


async def get(url: str, method: str = "GET") -> Reply:
    """A real HTTP client (urllib, in a thread, no proxy), so the worker's event loop serves the request."""

    def fetch() -> Reply:
        request = urllib.request.Request(url, method=method)
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with direct.open(request, timeout=WAIT) as reply:
                return reply.status, dict(reply.headers), reply.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()

    return await anyio.to_thread.run_sync(fetch)


def serving(registry: CollectorRegistry | None = None) -> tuple[HttpService, anyio.Event]:
    """The endpoints on a free port, and an event set once they listen."""
    listening = anyio.Event()
    return http_service(port=0, registry=registry, on_listening=lambda url: listening.set()), listening


def worker(queue: str) -> tuple[App, CollectorRegistry, Gate]:
    app, registry, gate = App(drain_timeout=60), CollectorRegistry(), Gate()
    install_metrics(app, registry)

    @app.handler(queue, concurrency=2, visibility_timeout=30)
    async def encode(message: Message) -> None:
        await gate.enter()

    return app, registry, gate


async def test_the_three_endpoints_and_readiness_during_the_drain(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    app, registry, gate = worker(queue_name)
    service, listening = serving(registry)
    app.add_service(service)
    async with running(app, local, clock=clock) as (supervisor, outcomes):
        with anyio.fail_after(WAIT):
            await listening.wait()
        assert service.host == "127.0.0.1" and service.port > 0
        base = service.url
        status, headers, body = await get(f"{base}/metrics")
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        assert f'consumerkit_concurrency_slots{{queue="{queue_name}"}} 2.0' in body
        assert "consumerkit_draining 0.0" in body and "consumerkit_build_info{" in body
        status, headers, body = await get(f"{base}/livez")
        assert (status, body) == (200, "live\n")
        assert headers["Content-Type"] == "text/plain; charset=utf-8" and headers["Content-Length"] == "5"
        assert (await get(f"{base}/readyz"))[::2] == (200, "ready\n")
        assert (await get(f"{base}/livez", "HEAD"))[::2] == (200, "")
        status, headers, body = await get(f"{base}/livez", "POST")
        assert (status, headers["Allow"], body) == (405, "GET, HEAD", "method POST not allowed: use GET\n")
        assert (await get(f"{base}/"))[::2] == (404, "not found: try /metrics, /livez or /readyz\n")
        await send(local, url_of(supervisor, queue_name), "long encode")
        await gate.wait_started(1)
        supervisor.stop()
        await settle()
        assert (await get(f"{base}/readyz"))[::2] == (503, "not ready: draining\n")
        assert (await get(f"{base}/livez"))[0] == 200  # draining is alive: its jobs still run
        _, _, body = await get(f"{base}/metrics")
        assert "consumerkit_draining 1.0" in body
        assert f'consumerkit_messages_in_progress{{handler="encode",queue="{queue_name}"}} 1.0' in body
        gate.open.set()
        await outcomes.wait(1)


async def test_openmetrics_when_the_scraper_asks(local: LocalBackend, clock: ManualClock, queue_name: str) -> None:
    app, registry, _ = worker(queue_name)
    service, listening = serving(registry)
    app.add_service(service)
    async with running(app, local, clock=clock):
        await listening.wait()

        def fetch() -> tuple[str, str]:
            accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
            request = urllib.request.Request(f"{service.url}/metrics", headers={"Accept": accept})
            with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=WAIT) as reply:
                return reply.headers["Content-Type"], reply.read().decode()

        content_type, body = await anyio.to_thread.run_sync(fetch)
    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith("# EOF\n")


async def test_livez_stays_200_while_the_queue_service_is_unreachable(
    engine: Engine, clock: ManualClock, queue_name: str
) -> None:
    """Restarting the fleet would not bring SQS back: the outage shows in the metrics instead."""
    backend = Unreachable(engine)
    app, registry, _ = worker(queue_name)
    service, listening = serving(registry)
    app.add_service(service)
    async with running(app, backend, clock=clock) as (supervisor, _):
        await listening.wait()
        assert f'consumerkit_queue_messages{{queue="{queue_name}",state="visible"}}' in (await metrics(service))
        backend.down = True
        for _ in range(120):  # two minutes of receives failing and backing off, and four backlog reads failing
            clock.advance(1)
            await settle()
        assert supervisor.statistics()[0].receive_requests["error"] > 0
        assert (await get(f"{service.url}/livez"))[::2] == (200, "live\n")
        assert (await get(f"{service.url}/readyz"))[0] == 200
        body = await metrics(service)
        assert f'consumerkit_receive_requests_total{{queue="{queue_name}",result="error"}}' in body
        assert 'consumerkit_sqs_requests_total{operation="ReceiveMessage",result="error"}' in body
        assert f'consumerkit_queue_sample_errors_total{{queue="{queue_name}"}} 4.0' in body
        assert "consumerkit_queue_messages{" not in body  # stale after three intervals: not exported as current
        backend.down = False


async def test_livez_stays_200_while_running_jobs_cannot_be_extended(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    """The heartbeat loop goes on ticking (and retrying) while every extension fails: live, not restarted."""
    backend = Flaky(local, visibility=1_000)
    app, _, gate = worker(queue_name)  # visibility 30 s: a heartbeat every 15 s
    service, listening = serving()
    app.add_service(service)
    async with running(app, backend, clock=clock) as (supervisor, _):
        await listening.wait()
        await send(local, url_of(supervisor, queue_name), "an encode")
        await gate.wait_started(1)
        for _ in range(90):  # a minute and a half of failed extensions, retried every 5 s
            clock.advance(1)
            await settle()
        assert supervisor.statistics()[0].extensions["error"] >= 10
        assert (await get(f"{service.url}/livez"))[::2] == (200, "live\n")
        gate.open.set()


async def metrics(service: HttpService) -> str:
    status, _, body = await get(f"{service.url}/metrics")
    assert status == 200
    return body


async def test_livez_fails_when_the_loop_stops_ticking_and_after_the_stop(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    app, _, _ = worker(queue_name)
    service, listening = serving()  # run apart from the app, so it outlives the supervisor
    async with anyio.create_task_group() as tg:
        async with running(app, local, clock=clock) as (supervisor, _):
            tg.start_soon(service, supervisor)
            await listening.wait()
            assert (await get(f"{service.url}/livez"))[0] == 200
            supervisor.alive_at -= 60  # the supervisor's pulse silent for a minute, as in a blocked event loop
            status, _, body = await get(f"{service.url}/livez")
            assert (status, body) == (503, "not live: the supervisor or a heartbeat loop stopped ticking\n")
            supervisor.alive_at = clock.now()
            assert (await get(f"{service.url}/livez"))[0] == 200
            heartbeat = supervisor.contexts[0].heartbeat  # a heartbeat loop silent past 3 intervals + 10 s
            heartbeat.last_tick -= 3 * supervisor.contexts[0].spec.interval + 11
            status, _, body = await get(f"{service.url}/livez")
            assert (status, body) == (503, "not live: the supervisor or a heartbeat loop stopped ticking\n")
            heartbeat.last_tick = clock.now()
            assert (await get(f"{service.url}/livez"))[0] == 200
        assert (await get(f"{service.url}/livez"))[::2] == (503, "not live: stopped\n")
        assert (await get(f"{service.url}/readyz"))[::2] == (503, "not ready: stopped\n")
        tg.cancel_scope.cancel()
    with pytest.raises(urllib.error.URLError):  # the port is closed once the service is cancelled
        await get(f"{service.url}/livez")


async def test_not_ready_while_starting_and_bad_or_oversized_requests_are_answered(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    app, _, _ = worker(queue_name)
    supervisor = app.supervisor(local, clock=clock)  # never started
    service, listening = serving()
    async with anyio.create_task_group() as tg:
        tg.start_soon(service, supervisor)
        await listening.wait()
        assert (await get(f"{service.url}/readyz"))[::2] == (503, "not ready: starting\n")
        for request in (b"NONSENSE\r\n\r\n", b"GET /livez HTTP/1.1\r\nX-Padding: " + b"x" * 20_000 + b"\r\n\r\n"):
            async with await anyio.connect_tcp("127.0.0.1", service.port) as stream:
                await stream.send(request)
                answer = await _read_all(stream)
            assert re.match(rb"HTTP/1\.[01] 400 Bad Request\r\n", answer), answer[:200]
        assert (await get(f"{service.url}/readyz"))[0] == 503  # still serving after both
        tg.cancel_scope.cancel()


async def test_a_failing_collector_is_a_500_not_a_crash(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    class Broken:
        def collect(self) -> list[object]:
            raise RuntimeError("a third-party collector's bug")

    app, registry, _ = worker(queue_name)
    registry.register(Broken())  # type: ignore[arg-type]
    service, listening = serving(registry)
    app.add_service(service)
    async with running(app, local, clock=clock) as (supervisor, _):
        await listening.wait()
        assert (await get(f"{service.url}/metrics"))[0] == 500
        assert (await get(f"{service.url}/livez"))[0] == 200 and supervisor.live()


async def _read_all(stream: anyio.abc.ByteStream) -> bytes:
    chunks = []
    with anyio.fail_after(WAIT):
        while True:
            try:
                chunks.append(await stream.receive())
            except anyio.EndOfStream:
                return b"".join(chunks)


async def test_a_port_in_use_is_a_config_error(local: LocalBackend, clock: ManualClock, queue_name: str) -> None:
    app, _, _ = worker(queue_name)
    supervisor: Supervisor = app.supervisor(local, clock=clock)
    async with await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0) as taken:
        port = taken.extra(anyio.abc.SocketAttribute.local_port)
        with pytest.raises(ConfigError, match=f"127.0.0.1:{port}.*another --http-port"):
            await http_service(port=port)(supervisor)


async def test_the_endpoints_answer_while_start_up_waits_for_the_queue_service(queue_name: str) -> None:
    """SQS unreachable at boot: start-up keeps retrying; meanwhile the worker is live, not ready."""

    class Unreachable(LocalBackend):
        async def get_queue_url(self, name: str) -> str:
            raise TransientBackendError("GetQueueUrl: connection refused")

    app = App()

    @app.handler(queue_name)
    async def work(message: Message) -> None:
        pass

    listening = anyio.Event()
    urls: list[str] = []

    def on_listening(url: str) -> None:
        urls.append(url)
        listening.set()

    app.add_service(http_service("127.0.0.1", 0, CollectorRegistry(), on_listening=on_listening))
    async with Engine.open("memory://") as engine, anyio.create_task_group() as tg:
        tg.start_soon(functools.partial(app.serve, Unreachable(engine), handle_signals=False))
        with anyio.fail_after(10):
            await listening.wait()
        assert (await _status(urls[0] + "/livez")) == 200
        assert (await _status(urls[0] + "/readyz")) == 503
        tg.cancel_scope.cancel()


async def _status(url: str) -> int:
    def get() -> int:
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                return int(reply.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    return await anyio.to_thread.run_sync(get)


async def test_a_connection_that_never_sends_its_headers_is_answered_408_and_closed(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    """A stalled client must not hold a descriptor for an hour (aiohttp's keep-alive), nor keep the platform's
    probes from being served meanwhile."""
    app, _, _ = worker(queue_name)
    listening = anyio.Event()
    service = http_service(port=0, on_listening=lambda url: listening.set(), header_timeout=0.3)
    app.add_service(service)
    async with running(app, local, clock=clock):
        with anyio.fail_after(WAIT):
            await listening.wait()
        started = anyio.current_time()
        async with await anyio.connect_tcp("127.0.0.1", service.port) as stalled:
            await stalled.send(b"GET /livez HTTP/1.1\r\nHost: 127")  # and never the end of the headers
            assert (await get(f"{service.url}/livez"))[0] == 200  # others are served meanwhile
            with anyio.fail_after(WAIT):
                reply = b""
                with contextlib.suppress(anyio.EndOfStream):
                    while True:
                        reply += await stalled.receive()
        assert reply.startswith(b"HTTP/1.1 408 ") and b"within 0.3 seconds" in reply
        assert anyio.current_time() - started >= 0.3


def test_the_header_timeout_is_checked() -> None:
    with pytest.raises(ConfigError, match=r"header_timeout=0 is out of range"):
        http_service(header_timeout=0)
