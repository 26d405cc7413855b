"""App: the registry of handlers and queues, and the decorators that fill it. Nothing runs here.

``@app.handler("videos")`` is sugar over :meth:`App.add_handler`, which takes a
:class:`~consumerkit.handlers.HandlerSpec`; both validate at once, and the supervisor validates the whole app
again at start. :meth:`App.serve` (async) and :meth:`App.run` (blocking) run it until SIGTERM or SIGINT.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeVar

import anyio
import anyio.abc
import structlog

from consumerkit.backends.base import Backend
from consumerkit.backends.urls import DEFAULT_BACKEND, open_backend
from consumerkit.clock import Clock
from consumerkit.errors import ConfigError, unwrap
from consumerkit.handlers import HandlerSpec
from consumerkit.queues import QueueSpec
from consumerkit.runtime.events import Observer, ReceiptObserver
from consumerkit.runtime.retry import RetryPolicy
from consumerkit.runtime.shutdown import watch_signals
from consumerkit.runtime.supervisor import Supervisor, SupervisorSettings
from consumerkit.runtime.threads import abandoned_threads

__all__ = ["App"]

F = TypeVar("F", bound=Callable[..., Any])
# A service runs beside the supervisor for its whole life (metrics and health endpoints, scale-in
# protection, an interruption watch) and is cancelled once the supervisor has stopped.
Service = Callable[[Supervisor], Coroutine[Any, Any, None]]
BACKEND_ENV = "CONSUMERKIT_BACKEND"
log = structlog.get_logger("consumerkit.app")


class App:
    """A worker application: ``app = App()``, decorate handlers, then ``app.run()`` or ``consumerkit run``.

    ``backend`` is a URL (``memory://``, ``sqlite:///path.db``, ``sqs://``, ``http://host:port``) or an open
    :class:`~consumerkit.backends.Backend`; by default ``$CONSUMERKIT_BACKEND``, else a SQLite file under
    ``.consumerkit/``. ``create_queues`` (default: yes on the local engine, no on SQS) creates, or brings up to
    their declaration, the queues :meth:`queue` declares and their DLQs, and the handlers' queues, at start-up.
    """

    def __init__(
        self,
        backend: str | Backend | None = None,
        *,
        create_queues: bool | None = None,
        drain_timeout: float = 25.0,
    ) -> None:
        self.backend = backend
        self.settings = SupervisorSettings(drain_timeout=drain_timeout, create_queues=create_queues)
        self.handlers: list[HandlerSpec] = []
        self.queues: dict[str, QueueSpec] = {}
        self.services: list[Service] = []
        self.observers: list[Observer] = []  # told every Outcome, with those given to serve()
        self.receipt_observers: list[ReceiptObserver] = []  # told each message's queue wait as it arrives
        self.backend_layers: list[Callable[[Backend], Backend]] = []  # wrap the backend, first added innermost

    # -- the registry ---------------------------------------------------------------------------------------
    def add_handler(self, spec: HandlerSpec) -> HandlerSpec:
        if any(existing.queue == spec.queue for existing in self.handlers):
            raise ConfigError(f"queue {spec.queue!r} already has a handler; one handler per queue")
        self.handlers.append(spec)
        return spec

    def handler(
        self,
        queue: str,
        *,
        concurrency: int = 10,
        visibility_timeout: int = 120,
        heartbeat_interval: float | None = None,
        batch: bool = False,
        batch_size: int = 10,
        timeout: float | None = None,
        max_duration: float | None = None,
        cap_warning: float | None = None,
        retry: RetryPolicy | None = None,
        wait_seconds: int = 20,
        name: str | None = None,
    ) -> Callable[[F], F]:
        """Register the decorated function (async or sync) as the handler of ``queue``; see HandlerSpec."""
        options: dict[str, Any] = {
            "concurrency": concurrency,
            "visibility_timeout": visibility_timeout,
            "heartbeat_interval": heartbeat_interval,
            "batch": batch,
            "batch_size": batch_size,
            "timeout": timeout,
            "wait_seconds": wait_seconds,
        }
        if max_duration is not None:
            options["max_duration"] = max_duration
        if cap_warning is not None:
            options["cap_warning"] = cap_warning
        if retry is not None:
            options["retry"] = retry

        def register(func: F) -> F:
            self.add_handler(HandlerSpec(queue, func, name or "", **options))
            return func

        return register

    def queue(
        self,
        name: str,
        *,
        dead_letter: str | None = None,
        max_receives: int = 5,
        visibility_timeout: int | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> QueueSpec:
        """Declare a queue (and its dead-letter queue) for creation at start-up."""
        spec = QueueSpec(name, dead_letter, max_receives, visibility_timeout, dict(attributes or {}))
        self.queues[name] = spec
        return spec

    def add_observer(self, observer: Observer) -> Observer:
        """Tell ``observer`` every message's Outcome (metrics and logs read them; they must not block)."""
        self.observers.append(observer)
        return observer

    def add_receipt_observer(self, observer: ReceiptObserver) -> ReceiptObserver:
        """Tell ``observer(queue, waits)``, as each receive returns, how long its messages waited since sent."""
        self.receipt_observers.append(observer)
        return observer

    def add_backend_layer(self, layer: Callable[[Backend], Backend]) -> None:
        """Wrap the backend the supervisor uses (e.g. to time every call); layers must keep the protocol."""
        self.backend_layers.append(layer)

    def add_service(self, service: Service) -> Service:
        """Run ``service(supervisor)`` beside the worker, from its start until it has stopped."""
        self.services.append(service)
        return service

    # -- running --------------------------------------------------------------------------------------------
    def supervisor(
        self, backend: Backend, *, clock: Clock | None = None, observers: Sequence[Observer] = ()
    ) -> Supervisor:
        return Supervisor(
            backend, self.handlers, list(self.queues.values()), settings=self.settings, clock=clock,
            observers=observers, receipt_observers=self.receipt_observers,
        )  # fmt: skip

    def backend_url(self) -> str:
        """The URL this app runs on: ``$CONSUMERKIT_BACKEND`` first (the deployment decides, twelve-factor
        style), then the URL given to ``App(backend=...)``, then the SQLite default."""
        configured = self.backend if isinstance(self.backend, str) else None
        return os.environ.get(BACKEND_ENV) or configured or DEFAULT_BACKEND

    async def serve(
        self,
        backend: str | Backend | None = None,
        *,
        clock: Clock | None = None,
        observers: Sequence[Observer] = (),
        handle_signals: bool = True,
        task_status: anyio.abc.TaskStatus[Supervisor] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Run until SIGTERM/SIGINT (or the returned supervisor's ``stop()``), then drain and return."""
        try:
            await self._open_and_serve(backend, clock, observers, handle_signals, task_status)
        except BaseExceptionGroup as group:
            raise unwrap(group) from None

    async def _open_and_serve(
        self,
        backend: str | Backend | None,
        clock: Clock | None,
        observers: Sequence[Observer],
        handle_signals: bool,
        task_status: anyio.abc.TaskStatus[Supervisor],
    ) -> None:
        chosen = backend if backend is not None else self.backend
        if chosen is None or isinstance(chosen, str):
            url = backend if isinstance(backend, str) else self.backend_url()
            concurrency = sum(spec.concurrency for spec in self.handlers)
            async with open_backend(url, clock=clock, max_connections=max(10, concurrency + 4)) as opened:
                await self._serve(opened, clock, observers, handle_signals, task_status)
        else:
            await self._serve(chosen, clock, observers, handle_signals, task_status)

    async def _serve(
        self,
        backend: Backend,
        clock: Clock | None,
        observers: Sequence[Observer],
        handle_signals: bool,
        task_status: anyio.abc.TaskStatus[Supervisor],
    ) -> None:
        for layer in self.backend_layers:
            backend = layer(backend)
        supervisor = self.supervisor(backend, clock=clock, observers=[*self.observers, *observers])
        async with anyio.create_task_group() as tg:
            if handle_signals:
                tg.start_soon(watch_signals, supervisor)
            failed: list[Exception] = []
            # Services first: the health endpoints answer (live, not ready) while start-up still waits for an
            # unreachable queue service, instead of failing probes that would restart the worker for it.
            for service in self.services:
                tg.start_soon(_guarded, service, supervisor, failed)
            await tg.start(supervisor.run)
            task_status.started(supervisor)
            await supervisor.wait_stopped()
            tg.cancel_scope.cancel()
        if failed:  # after the drain: what the worker held went back to the queue first
            raise failed[0]

    def run(self, backend: str | Backend | None = None) -> None:
        """Blocking: run the worker in a fresh event loop until it is told to stop. Logging gets consumerkit's
        defaults unless the program configured structlog itself (see ``configure_logging``)."""
        from consumerkit.observability.logging import ensure_logging  # observability builds on App

        ensure_logging()
        anyio.run(functools.partial(self.serve, backend))
        _exit_past_abandoned_threads()


async def _guarded(service: Service, supervisor: Supervisor, failed: list[Exception]) -> None:
    """A service that fails (a health port already taken) stops the worker at once, releasing what it holds,
    rather than leaving it to run unwatched or to die with messages in flight."""
    try:
        await service(supervisor)
    except Exception as error:
        failed.append(error)
        log.error("a service failed: stopping the worker", service=repr(service), error=str(error))
        supervisor.stop(immediate=True)


def _exit_past_abandoned_threads() -> None:
    """A sync handler that never checked for cancellation may still be running in the thread a shutdown
    abandoned; Python would wait for it at exit, past any platform's SIGKILL. Its message is already
    released, so leave without it (flushing what was written first)."""
    if abandoned_threads():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
