"""Runner: an app's real supervisor on an in-memory engine, driven until its queues are idle, in milliseconds.

Nothing is mocked: the handlers run in the supervisor's pools, messages are received, heartbeated, deleted,
retried and dead-lettered by the engine's SQS rules. What the runner adds is time travel. The engine and the
supervisor share one :class:`~consumerkit.clock.ManualClock`, and the runner moves it:

* while a handler runs, the clock keeps pace with real time, so a handler's own sleeps, threads and
  subprocesses take as long as they do, and its ``timeout`` and heartbeats fall when they would;
* while no handler runs and every task is parked, the clock jumps to the earliest pending deadline (a retry's
  back-off, a delayed message, a visibility timeout, a long poll's end), so a back-off of minutes takes
  microseconds, and nothing that was due in between is skipped.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from types import TracebackType
from typing import Self

import anyio
import anyio.abc

from consumerkit.app import App
from consumerkit.backends.base import MessageAttribute, OutgoingMessage, QueueMessage
from consumerkit.backends.local import LocalBackend
from consumerkit.clock import Clock, ManualClock
from consumerkit.engine import Engine
from consumerkit.errors import BackendError, ConfigError, ConsumerkitError, QueueNotFoundError, unwrap
from consumerkit.observability.logging import ensure_logging
from consumerkit.runtime.events import Outcome
from consumerkit.runtime.supervisor import Supervisor
from consumerkit.testing.result import Body, RunResult, encode_body
from consumerkit.testing.settle import wait_until_blocked

__all__ = ["NotIdleError", "Runner", "run_until_idle"]

AttributeValue = str | int | float | bytes | MessageAttribute
_Observer = Callable[[Outcome], None]
FLOW_SLICE = 0.005  # real seconds the runner waits, while a handler runs, before it moves the clock along
STOP_WITHIN = 10.0  # real seconds a stopping worker gets to drain and release before the runner gives up
DEFAULT_GROUP = "default"  # the FIFO message group of sends that name none


class NotIdleError(ConsumerkitError, AssertionError):
    """The app still had work after the run's timeout: a handler that never returns, or messages retried
    forever (a queue without a dead-letter queue). The message names what was still going on. An
    AssertionError too, so pytest reports it as the test's failure rather than as a crash."""


class Runner:
    """``async with Runner(app) as runner:`` — ``await runner.send("jobs", ...)``, then
    ``result = await runner.run_until_idle()``; send and run again as often as the test likes.

    On entry it opens an engine on ``url`` (its clock ``clock``, else a :class:`ManualClock` starting at the
    wall-clock time, so that messages an SQLite store already holds were sent in its past), or borrows
    ``engine`` (and its clock) without closing it; then it creates the app's queues exactly as the worker does
    at start-up, by starting it once: declared queues with their dead-letter queues and redrive policies, and
    every handler's queue. The app's ``create_queues`` setting does not apply: a test's engine starts empty.
    """

    def __init__(
        self, app: App, clock: Clock | None = None, url: str = "memory://", *, engine: Engine | None = None
    ) -> None:
        if engine is not None and clock is not None and engine.clock is not clock:
            raise ConfigError("Runner: clock must be the engine's own clock (or None) when an engine is given")
        self.app = app
        self.clock: Clock = clock or (engine.clock if engine is not None else ManualClock(time.time()))
        self.bodies: dict[str, str] = {}  # message id -> body, for every message sent or received
        self._url = url
        self._engine = engine
        self._owns_engine = engine is None
        self._backend: LocalBackend | None = None
        self._changed = anyio.Event()  # set (and replaced) as each message settles, while a run is on

    @property
    def engine(self) -> Engine:
        """The engine the app runs on (look at its queues directly: ``await runner.engine.queue_stats(...)``)."""
        if self._engine is None:
            raise RuntimeError("Runner: enter it first (async with Runner(app) as runner: ...)")
        return self._engine

    @property
    def backend(self) -> LocalBackend:
        """The engine as a backend, the one the worker uses."""
        if self._backend is None:
            raise RuntimeError("Runner: enter it first (async with Runner(app) as runner: ...)")
        return self._backend

    async def __aenter__(self) -> Self:
        ensure_logging()  # structlog's unconfigured default would print bodies in tracebacks' locals
        if self._engine is None:
            self._engine = Engine.open(self._url, self.clock)
            self._backend = _Recorder(self._engine, self.bodies, owns_engine=True)
        else:
            self._backend = _Recorder(self._engine, self.bodies)
        try:
            async with self._running(()):
                pass  # started means the queues exist
        except BaseException:
            await self._backend.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.backend.__aexit__(exc_type, exc, tb)
        self._backend = None
        if self._owns_engine:  # closed: entering again opens a fresh one
            self._engine = None

    # -- sending --------------------------------------------------------------------------------------------
    async def send(
        self,
        queue: str,
        *bodies: Body,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        delay: int | None = None,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> list[str]:
        """Send ``bodies`` (strings as they are, dicts and lists as JSON) to ``queue``; returns their ids.

        ``delay`` is SQS's DelaySeconds (0..900), ``attributes`` message attributes (str, int or float, bytes).
        On a FIFO queue, messages without a ``group_id`` share the group ``"default"``, and each gets a
        deduplication id of its own unless the queue deduplicates by content or one is given.
        """
        url = await self._queue_url(queue)
        fifo = queue.endswith(".fifo")
        unique = fifo and deduplication_id is None and not await self._content_dedup(url)
        encoded = [encode_body(body) for body in bodies]
        outgoing = [
            OutgoingMessage(
                body, str(n % 10), delay, _attributes(attributes), group_id or (DEFAULT_GROUP if fifo else None),
                uuid.uuid4().hex if unique else deduplication_id,
            )
            for n, body in enumerate(encoded)
        ]  # fmt: skip
        ids: list[str] = []
        for start in range(0, len(outgoing), 10):
            sent, failed = await self.backend.send_message_batch(url, outgoing[start : start + 10])
            if failed:
                body = encoded[start + int(failed[0].id)]
                raise BackendError(f"send to {queue!r} refused {body!r:.80}: {failed[0].code}: {failed[0].message}")
            ids += sent
        self.bodies.update(zip(ids, encoded, strict=True))
        return ids

    async def _queue_url(self, queue: str) -> str:
        try:
            return await self.backend.get_queue_url(queue)
        except QueueNotFoundError:
            known = sorted({*self.app.queues, *(spec.queue for spec in self.app.handlers)})
            raise QueueNotFoundError(f"send: queue {queue!r} does not exist; the app's queues are {known}") from None

    async def _content_dedup(self, url: str) -> bool:
        found = await self.backend.get_queue_attributes(url, ["ContentBasedDeduplication"])
        return found.get("ContentBasedDeduplication") == "true"

    # -- running --------------------------------------------------------------------------------------------
    # A budget, not a cancellation deadline (what ASYNC109 is about): running out of it stops the worker cleanly
    # and raises an error that says what was still going on, which an outer fail_after could not.
    async def run_until_idle(self, timeout: float = 10.0) -> RunResult:  # noqa: ASYNC109
        """Serve the app until it is idle, stop it cleanly, and return what happened to each message.

        Idle means: no handler is running or settling a message, and every queue a handler consumes holds
        nothing visible, in flight or delayed. Queues no handler consumes (dead-letter queues, a queue the
        handlers send results to) may hold messages: nothing would ever take them. Messages that fail are
        retried after their back-off and, past ``max_receives``, dead-lettered, all in simulated time.

        ``timeout`` is real seconds; if the app is still busy then, the worker is stopped (running jobs
        cancelled, their messages released) and :class:`NotIdleError` names what was still running.
        """
        if not timeout > 0:
            raise ConfigError(f"run_until_idle: timeout={timeout!r} must be more than 0 seconds")
        outcomes: list[Outcome] = []
        async with self._running([outcomes.append, self._note]) as supervisor:
            await self._drive(supervisor, timeout)
        return RunResult(tuple(outcomes), dict(self.bodies), self._dead_lettered(supervisor))

    def _note(self, outcome: Outcome) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    @asynccontextmanager
    async def _running(self, observers: Sequence[_Observer]) -> AsyncIterator[Supervisor]:
        """The app's supervisor, started on the runner's engine; stopped (at once, if the block failed) and
        drained when the block ends. A worker that fails (a service that cannot start) raises its own error."""
        try:
            async with anyio.create_task_group() as tg:
                with _settings_for_tests(self.app):
                    supervisor: Supervisor = await tg.start(self._serve, list(observers))
                failed = True
                try:
                    yield supervisor
                    failed = False
                finally:
                    supervisor.stop(immediate=failed)
                    await self._wait_stopped(supervisor)
        except BaseExceptionGroup as group:
            raise unwrap(group) from None

    async def _serve(self, observers: list[_Observer], *, task_status: anyio.abc.TaskStatus[Supervisor]) -> None:
        serve = functools.partial(self.app.serve, self.backend, clock=self.clock, handle_signals=False)
        await serve(observers=observers, task_status=task_status)

    async def _drive(self, supervisor: Supervisor, budget: float) -> None:
        deadline = anyio.current_time() + budget
        while not supervisor.stopped.is_set():
            await wait_until_blocked()
            busy = await self._busy(supervisor)
            if not busy:
                return
            if anyio.current_time() >= deadline:
                raise NotIdleError(f"the app was not idle after {budget} s:\n  " + "\n  ".join(busy))
            if supervisor.in_progress:
                await self._flow(FLOW_SLICE)
            else:
                await self._jump()

    async def _busy(self, supervisor: Supervisor) -> list[str]:
        """What keeps the app from being idle, one line each: jobs still held, queues with messages."""
        busy: list[str] = []
        for ctx in supervisor.contexts:
            for lease in ctx.leases.values():
                body = self.bodies.get(lease.message_id, "?")
                busy.append(
                    f"handler {ctx.spec.name!r} holds message {lease.message_id} ({body!r:.60}) of queue "
                    f"{ctx.spec.queue!r}, try {lease.receive_count}, for {self.clock.now() - lease.started_at:.1f} s"
                )
            counts = await self.backend.queue_counts(ctx.queue_url)
            if counts.visible or counts.in_flight or counts.delayed:
                line = f"queue {ctx.spec.queue!r}: {counts.visible} visible, {counts.in_flight} in flight, "
                line += f"{counts.delayed} delayed"
                if ctx.dead_letter_url is None and not ctx.leases:
                    line += " (retried forever? it has no dead-letter queue)"
                busy.append(line)
        return busy

    async def _flow(self, seconds: float) -> None:
        """Let real time pass (at most ``seconds``, less if a message settles), and the clock with it."""
        started = anyio.current_time()
        with anyio.move_on_after(seconds):
            await self._changed.wait()
        if isinstance(self.clock, ManualClock):
            self.clock.advance(anyio.current_time() - started)

    async def _jump(self) -> None:
        """Move the clock to the earliest pending deadline; with none (a clock not ours), let time flow."""
        clock = self.clock
        due = clock.next_deadline if isinstance(clock, ManualClock) else None
        if due is None or not isinstance(clock, ManualClock):
            await self._flow(FLOW_SLICE)
        else:
            clock.advance(max(0.0, due - clock.now()))

    async def _wait_stopped(self, supervisor: Supervisor) -> None:
        """Drive the clock through the drain: its deadlines, the releases' grace, the last acks."""
        with anyio.move_on_after(STOP_WITHIN):
            while not supervisor.stopped.is_set():
                await wait_until_blocked()
                if not supervisor.stopped.is_set():
                    await self._jump()
        if not supervisor.stopped.is_set():
            raise NotIdleError(f"the worker did not stop within {STOP_WITHIN} s of being told to")

    def _dead_lettered(self, supervisor: Supervisor) -> tuple[str, ...]:
        """The bodies now in the dead-letter queues of the app's queues, read without receiving them."""
        names = {spec.dead_letter for spec in self.app.queues.values() if spec.dead_letter is not None}
        names |= {
            ctx.dead_letter_url.rstrip("/").rsplit("/", 1)[-1] for ctx in supervisor.contexts if ctx.dead_letter_url
        }
        store = self.engine.store
        bodies: list[str] = []
        with store.transaction():
            for name in sorted(names):
                queue = store.get_queue(name)
                if queue is not None:
                    bodies += [record.body for record in store.scan(queue, 1_000_000)]
        return tuple(bodies)


def run_until_idle(
    app: App,
    messages: Mapping[str, Iterable[Body]] | None = None,
    timeout: float = 10.0,
    *,
    url: str = "memory://",
) -> RunResult:
    """The one-call form for scripts and docs: a fresh :class:`Runner`, ``messages`` sent (queue → bodies),
    one run until idle; blocking, in an event loop of its own."""

    async def run() -> RunResult:
        async with Runner(app, url=url) as runner:
            for queue, bodies in (messages or {}).items():
                await runner.send(queue, *bodies)
            return await runner.run_until_idle(timeout)

    return anyio.run(run)


class _Recorder(LocalBackend):
    """The engine as the worker's backend, noting each received message's body, so that a result can name
    messages the handlers sent themselves as well as those the test sent."""

    def __init__(self, engine: Engine, bodies: dict[str, str], *, owns_engine: bool = False) -> None:
        super().__init__(engine, owns_engine=owns_engine)
        self._bodies = bodies

    async def receive_messages(
        self, queue_url: str, *, max_messages: int, wait_seconds: int, visibility_timeout: int
    ) -> list[QueueMessage]:
        received = await super().receive_messages(
            queue_url, max_messages=max_messages, wait_seconds=wait_seconds, visibility_timeout=visibility_timeout
        )
        for message in received:
            self._bodies[message.message_id] = message.body
        return received


@contextmanager
def _settings_for_tests(app: App) -> Iterator[None]:
    """While the supervisor is built: create the queues whatever the app says (a test's engine starts empty),
    and stop without waiting out a receive's grace (a long poll on an idle queue holds nothing)."""
    saved = app.settings
    app.settings = saved.replace(create_queues=True, receive_grace=0.0)
    try:
        yield
    finally:
        app.settings = saved


def _name(queue_url: str) -> str:
    return queue_url.rstrip("/").rsplit("/", 1)[-1]


def _attributes(attributes: Mapping[str, AttributeValue] | None) -> dict[str, MessageAttribute] | None:
    if attributes is None:
        return None
    return {name: _attribute(name, value) for name, value in attributes.items()}


def _attribute(name: str, value: AttributeValue) -> MessageAttribute:
    if isinstance(value, MessageAttribute):
        return value
    if isinstance(value, bool):
        raise TypeError(f"attributes[{name!r}]: {value!r} is a bool; SQS has no boolean type, send 'true' or 1")
    if isinstance(value, str):
        return MessageAttribute("String", value)
    if isinstance(value, int | float):
        return MessageAttribute("Number", str(value))
    if isinstance(value, bytes):
        return MessageAttribute("Binary", binary_value=value)
    raise TypeError(f"attributes[{name!r}]: {value!r} is not a str, int, float or bytes")
