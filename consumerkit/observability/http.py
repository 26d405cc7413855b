"""One HTTP port per worker: ``/metrics`` for Prometheus, ``/livez`` and ``/readyz`` for the platform's probes.

* ``/livez``: 200 while the supervisor's loop and every heartbeat loop tick (:meth:`Supervisor.live`), else 503.
  It does not look at the queue service: an SQS or network incident would otherwise restart the whole fleet,
  which cannot bring SQS back and would throw away every running job; that incident shows in the metrics.
* ``/readyz``: 200 once started and until the drain begins, else 503 (rollouts count ready replicas).
* ``/metrics``: the registry in Prometheus's text format (OpenMetrics when the scraper asks for it).

It binds 127.0.0.1 by default, so nothing is reachable from outside unless the deployment says so (a container
scraped from outside binds 0.0.0.0). The server is aiohttp's (parsing, size limits, keep-alive), with a deadline
on each connection's headers (:mod:`consumerkit.headerguard`): clients that connect and stall must not use up
the descriptors the platform's own probes need. The replies are computed from the supervisor's records in the
event loop, the same thread that updates them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import structlog
from aiohttp import web
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import choose_encoder

from consumerkit.errors import ConfigError
from consumerkit.headerguard import GuardedSite, HeaderDeadlines
from consumerkit.runtime.supervisor import Supervisor

__all__ = ["DEFAULT_HTTP_HOST", "DEFAULT_HTTP_PORT", "HTTP_HOST_ENV", "HTTP_PORT_ENV", "HttpService", "http_service"]

DEFAULT_HTTP_HOST = "127.0.0.1"
DEFAULT_HTTP_PORT = 9750
HTTP_PORT_ENV = "CONSUMERKIT_HTTP_PORT"
HTTP_HOST_ENV = "CONSUMERKIT_HTTP_HOST"
SHUTDOWN_GRACE = 1.0  # seconds requests under way get once the service is cancelled; every reply is immediate
HEADER_TIMEOUT = 5.0  # seconds a new connection has to send its request's headers; a probe needs milliseconds
ENDPOINTS = ("/metrics", "/livez", "/readyz")
log = structlog.get_logger("consumerkit.http")


class HttpService:
    """The endpoints, as an app service: ``app.add_service(http_service(port=9750))``. ``port`` 0 picks a free
    port; once listening, :attr:`port` is the bound one and ``on_listening(url)`` is called with the base URL."""

    def __init__(
        self,
        host: str = DEFAULT_HTTP_HOST,
        port: int = DEFAULT_HTTP_PORT,
        registry: CollectorRegistry | None = None,
        *,
        on_listening: Callable[[str], None] | None = None,
        header_timeout: float = HEADER_TIMEOUT,
    ) -> None:
        if not 0 <= port <= 65_535:
            raise ConfigError(f"http port {port!r} is out of range: 0..65535")
        if not 0 < header_timeout <= 3600:
            raise ConfigError(f"header_timeout={header_timeout!r} is out of range: above 0, at most 3600 seconds")
        self.deadlines = HeaderDeadlines(header_timeout)
        self.host = host
        self.port = port
        self.registry = REGISTRY if registry is None else registry
        self.on_listening = on_listening

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def __repr__(self) -> str:
        return f"HttpService({self.url!r})"

    async def __call__(self, supervisor: Supervisor) -> None:
        runner = web.AppRunner(
            self._application(supervisor), handle_signals=False, shutdown_timeout=SHUTDOWN_GRACE, access_log=None
        )
        await runner.setup()
        try:
            site = GuardedSite(runner, self.host, self.port, self.deadlines)
            try:
                await site.start()
            except OSError as error:
                raise ConfigError(
                    f"cannot serve /metrics, /livez and /readyz on {self.host}:{self.port}: "
                    f"{error.strerror or error}; choose another --http-port (0 picks a free one)"
                ) from None
            self.port = int(runner.addresses[0][1])
            log.info("http endpoints listening", url=self.url, endpoints=list(ENDPOINTS))
            if self.on_listening is not None:
                self.on_listening(self.url)
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True):
                await runner.cleanup()

    def _application(self, supervisor: Supervisor) -> web.Application:
        async def metrics(request: web.Request) -> web.Response:
            encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
            return _reply(200, content_type, encoder(self.registry))

        async def livez(request: web.Request) -> web.Response:
            return _liveness(supervisor)

        async def readyz(request: web.Request) -> web.Response:
            return _readiness(supervisor)

        @web.middleware
        async def arrived(
            request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
        ) -> web.StreamResponse:
            self.deadlines.arrived(request.protocol)  # its headers came in time
            return await handler(request)

        app = web.Application(middlewares=[arrived, _errors])
        app.router.add_get("/metrics", metrics)  # add_get routes HEAD too; aiohttp drops a HEAD reply's body
        app.router.add_get("/livez", livez)
        app.router.add_get("/readyz", readyz)
        return app


def http_service(
    host: str = DEFAULT_HTTP_HOST,
    port: int = DEFAULT_HTTP_PORT,
    registry: CollectorRegistry | None = None,
    *,
    on_listening: Callable[[str], None] | None = None,
    header_timeout: float = HEADER_TIMEOUT,
) -> HttpService:
    """The service serving ``/metrics`` (from ``registry``, default the global one), ``/livez`` and ``/readyz``."""
    return HttpService(host, port, registry, on_listening=on_listening, header_timeout=header_timeout)


@web.middleware
async def _errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Our wording for unknown paths and methods, and a 500 for a collector's bug: the scrape fails, the
    worker does not."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return _text(404, "not found: try /metrics, /livez or /readyz")
    except web.HTTPMethodNotAllowed:
        response = _text(405, f"method {request.method} not allowed: use GET")
        response.headers["Allow"] = "GET, HEAD"
        return response
    except web.HTTPException:
        raise
    except Exception:
        log.exception("http request failed", target=request.path_qs)
        return _text(500, "internal error: see the worker's log")


def _liveness(supervisor: Supervisor) -> web.Response:
    if supervisor.live():
        return _text(200, "live")
    why = "stopped" if supervisor.stopped.is_set() else "the supervisor or a heartbeat loop stopped ticking"
    return _text(503, f"not live: {why}")


def _readiness(supervisor: Supervisor) -> web.Response:
    if supervisor.ready:
        return _text(200, "ready")
    if supervisor.stopped.is_set():
        return _text(503, "not ready: stopped")
    return _text(503, f"not ready: {'draining' if supervisor.draining else 'starting'}")


def _text(status: int, body: str) -> web.Response:
    return _reply(status, "text/plain; charset=utf-8", f"{body}\n".encode())


def _reply(status: int, content_type: str, body: bytes) -> web.Response:
    """``content_type`` whole, parameters included (aiohttp's ``content_type=`` would split them off)."""
    return web.Response(status=status, body=body, headers={"Content-Type": content_type})
