"""The supervisor: one task group that runs an app's handlers against a backend, and stops them well.

Per handler: pollers (receive for free slots), jobs (one task each, in the handler's pool), a heartbeat and an
acker. One timer task serves every handler. The life cycle, top-down:

* **start**: resolve (or create) each queue and its dead-letter queue, then start every handler's tasks;
* **run**: receive → job → heartbeat while it runs → delete | retry | reject | release;
* **stop** (:meth:`Supervisor.stop`, e.g. on SIGTERM): stop receiving at once (pending long polls are
  cancelled), keep heartbeating, let running jobs finish until ``drain_timeout``; then cancel what is left and
  release its messages (visibility 0, batched), flush pending acks, return. ``stop(immediate=True)`` (a second
  signal) skips the wait.

Transient backend errors never end it: receives, heartbeats and acks retry with back-off.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.abc
import structlog
from anyio.streams.memory import MemoryObjectReceiveStream

from consumerkit.backends.base import Backend
from consumerkit.clock import Clock, SystemClock, sleep_until
from consumerkit.errors import BackendError, ConfigError, QueueNotFoundError, TransientBackendError
from consumerkit.handlers import HandlerSpec
from consumerkit.queues import QueueSpec
from consumerkit.runtime.context import HandlerContext
from consumerkit.runtime.distribution import check_buckets
from consumerkit.runtime.events import HandlerStatistics, Observer, ReceiptObserver
from consumerkit.runtime.jobs import run_group, run_job
from consumerkit.runtime.leases import Lease
from consumerkit.runtime.poller import Poller, poller_count
from consumerkit.runtime.sampler import Sampler
from consumerkit.runtime.timers import Timers

__all__ = ["Supervisor", "SupervisorSettings"]

# After cancelling, how long the cancelled jobs (a subprocess's 2 s grace included), the releases and the last
# acks may take: drain_timeout (25 s) + this stays inside the 30 s ECS and Kubernetes give before SIGKILL.
FINAL_GRACE = 3.0
LIVENESS_SLACK = 10.0  # seconds a loop may be late before liveness fails
log = structlog.get_logger("consumerkit.supervisor")


@dataclass(frozen=True, slots=True)
class SupervisorSettings:
    drain_timeout: float = 25.0  # fits the 30 s SIGTERM budget of ECS and Kubernetes, with room to release
    create_queues: bool | None = None  # None: whatever the backend does by default (local yes, SQS no)
    receive_grace: float = 0.5  # at a stop, how long a receive already out may still return (see poller.py)
    sample_interval: float | None = 30.0  # how often each queue's counters are read (None: never)
    # Upper bounds (s) of the processing-duration and queue-wait histograms each handler's statistics keep;
    # None keeps none (install_metrics sets them). Recorded where a message settles: the cheapest place.
    histogram_buckets: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.drain_timeout <= 172_800:
            raise ConfigError(f"drain_timeout={self.drain_timeout!r} is out of range: 0..172800 seconds")
        if not 0 <= self.receive_grace <= 20:
            raise ConfigError(f"receive_grace={self.receive_grace!r} is out of range: 0..20 seconds")
        if self.sample_interval is not None and not 1 <= self.sample_interval <= 3600:
            raise ConfigError(f"sample_interval={self.sample_interval!r} is out of range: 1..3600 seconds, or None")
        if self.histogram_buckets is not None:
            object.__setattr__(self, "histogram_buckets", check_buckets(self.histogram_buckets))

    def replace(self, **changes: Any) -> SupervisorSettings:
        return dataclasses.replace(self, **changes)


class Supervisor:
    def __init__(
        self,
        backend: Backend,
        handlers: Sequence[HandlerSpec],
        queues: Sequence[QueueSpec] = (),
        *,
        settings: SupervisorSettings | None = None,
        clock: Clock | None = None,
        observers: Sequence[Observer] = (),
        receipt_observers: Sequence[ReceiptObserver] = (),
    ) -> None:
        check_handlers(handlers)
        self.backend = backend
        self.handlers = tuple(handlers)
        self.queues = {q.name: q for q in queues}
        self.settings = settings or SupervisorSettings()
        self.clock = clock or SystemClock()
        self.observers = tuple(observers)
        self.receipt_observers = tuple(receipt_observers)
        self.timers = Timers(self.clock)
        self.contexts: list[HandlerContext] = []
        self.started = anyio.Event()
        self.stopped = anyio.Event()
        self.draining = False
        self.sampler: Sampler | None = None
        self.alive_at = self.clock.now()
        self._stop = anyio.Event()
        self._immediate = anyio.Event()
        self._pollers: list[Poller] = []

    def stop(self, *, immediate: bool = False) -> None:
        """Begin the graceful drain; ``immediate`` cancels running jobs now instead of waiting for them."""
        self._stop.set()
        if immediate:
            self._immediate.set()

    async def wait_stopped(self) -> None:
        await self.stopped.wait()

    @property
    def in_progress(self) -> int:
        """Messages being handled right now, over every handler (what scale-in protection watches)."""
        return sum(ctx.stats.in_progress for ctx in self.contexts)

    @property
    def ready(self) -> bool:
        """Started and not draining: what a readiness probe reports."""
        return self.started.is_set() and not self.draining and not self.stopped.is_set()

    def live(self) -> bool:
        """Whether the supervisor's loop and every heartbeat loop have ticked lately. A queue service that
        cannot be reached does not make it false: restarting a fleet would not bring the service back."""
        if self.stopped.is_set():
            return False
        now = self.clock.now()
        if now - self.alive_at > LIVENESS_SLACK:
            return False
        # a handler that has finished its part of a drain no longer heartbeats, and need not
        return all(
            now - ctx.heartbeat.last_tick <= 3 * ctx.spec.interval + LIVENESS_SLACK
            for ctx in self.contexts
            if not ctx.finished
        )

    def statistics(self) -> list[HandlerStatistics]:
        return [ctx.stats.snapshot() for ctx in self.contexts]

    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        try:
            await self._run(task_status)
        finally:
            self.stopped.set()

    async def _run(self, task_status: anyio.abc.TaskStatus[None]) -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(self.timers.run)
            tg.start_soon(self._tick)  # live from the start, while the queues are still being resolved
            with anyio.CancelScope() as setup:
                tg.start_soon(self._cancel_on_stop, setup)
                self.contexts = await self._prepare()
            if setup.cancelled_caught:
                tg.cancel_scope.cancel()
                task_status.started()
                return
            finished = [anyio.Event() for _ in self.contexts]
            for ctx, done in zip(self.contexts, finished, strict=True):
                tg.start_soon(self._serve, ctx, done)
            if self.settings.sample_interval is not None:
                self.sampler = Sampler(self.backend, self._sampled_queues(), self.clock, self.settings.sample_interval)
                tg.start_soon(self.sampler.run)
            self.started.set()
            task_status.started()
            log.info("worker started", handlers=[spec.name for spec in self.handlers])
            await self._stop.wait()
            await self._drain(finished)
            tg.cancel_scope.cancel()
        log.info("worker stopped")

    async def _tick(self) -> None:
        """The supervisor's own pulse, for liveness: a blocked event loop stops it."""
        while True:
            self.alive_at = self.clock.now()
            await sleep_until(self.clock, self.alive_at + 1.0)

    def _sampled_queues(self) -> dict[str, str]:
        queues: dict[str, str] = {}
        for ctx in self.contexts:
            queues[ctx.spec.queue] = ctx.queue_url
            if ctx.dead_letter_url is not None:
                queues.setdefault(ctx.dead_letter_url.rstrip("/").rsplit("/", 1)[-1], ctx.dead_letter_url)
        return queues

    async def _cancel_on_stop(self, scope: anyio.CancelScope) -> None:
        await self._stop.wait()
        scope.cancel()

    # -- start ----------------------------------------------------------------------------------------------
    async def _prepare(self) -> list[HandlerContext]:
        """Create or update the declared queues, then resolve each handler's queue and DLQ. Transient errors
        are retried until they pass or the supervisor is stopped."""
        delay = 1.0
        while True:
            try:
                if self._creates():
                    for declared in self.queues.values():
                        await self._ensure(declared)
                return [await self._context(spec) for spec in self.handlers]
            except TransientBackendError as error:
                log.warning("queue service unreachable at start-up; retrying", error=str(error), retry_in=delay)
                await sleep_until(self.clock, self.clock.now() + delay)
                delay = min(delay * 2, 30.0)

    async def _context(self, spec: HandlerSpec) -> HandlerContext:
        try:
            url = await self.backend.get_queue_url(spec.queue)
        except QueueNotFoundError:
            if not self._creates():
                raise ConfigError(
                    f"queue {spec.queue!r} does not exist; create it, or declare it with app.queue({spec.queue!r}, "
                    "...) and start with create_queues=True"
                ) from None
            # an undeclared FIFO queue still has to be created as one
            url = await self.backend.create_queue(
                spec.queue, {"FifoQueue": "true"} if spec.queue.endswith(".fifo") else None
            )
        dlq = await self._dead_letter_url(url)
        return HandlerContext(
            spec, url, self.backend, self.clock, self.timers, self.observers, dlq, self.receipt_observers,
            self.settings.histogram_buckets,
        )  # fmt: skip

    def _creates(self) -> bool:
        wanted = self.settings.create_queues
        return self.backend.creates_queues if wanted is None else wanted

    async def _ensure(self, declared: QueueSpec) -> str:
        """The declaration is the truth: a queue is created with its attributes, or brought up to them (a
        changed max_receives takes effect on the next start instead of failing with QueueAlreadyExists)."""
        arn = None
        if declared.dead_letter is not None:
            dlq_url = await self._create_or_update(declared.dead_letter, declared.dead_letter_attributes())
            arn = (await self.backend.get_queue_attributes(dlq_url, ["QueueArn"]))["QueueArn"]
        return await self._create_or_update(declared.name, declared.attributes(arn))

    async def _create_or_update(self, name: str, attributes: dict[str, str]) -> str:
        try:
            url = await self.backend.get_queue_url(name)
        except QueueNotFoundError:
            return await self.backend.create_queue(name, attributes)
        changeable = {k: v for k, v in attributes.items() if k != "FifoQueue"}  # SQS: the type is fixed
        if changeable:
            await self.backend.set_queue_attributes(url, changeable)
        return url

    async def _dead_letter_url(self, url: str) -> str | None:
        """The DLQ named by the queue's RedrivePolicy, for Reject; None if it has none we can reach."""
        policy = (await self.backend.get_queue_attributes(url, ["RedrivePolicy"])).get("RedrivePolicy")
        if not policy:
            return None
        try:
            name = str(json.loads(policy)["deadLetterTargetArn"]).rsplit(":", 1)[-1]
            return await self.backend.get_queue_url(name)
        except TransientBackendError:
            raise  # start-up retries it; giving up here would turn every Reject into a retry for the whole run
        except (ValueError, KeyError, BackendError) as error:
            log.warning("dead-letter queue not reachable; Reject will retry instead", queue=url, error=str(error))
            return None

    # -- run ------------------------------------------------------------------------------------------------
    async def _serve(self, ctx: HandlerContext, done: anyio.Event) -> None:
        try:
            async with anyio.create_task_group() as service:
                service.start_soon(ctx.heartbeat.run)
                service.start_soon(ctx.acker.run)
                # Long-lived workers, one per slot, rather than a task per message: a job costs a stream hand-over
                # instead of a task's start, which is most of the runtime's cost per message.
                send, receive = anyio.create_memory_object_stream[list[Lease]](ctx.spec.concurrency)
                async with anyio.create_task_group() as workers:
                    for _ in range(ctx.spec.concurrency):
                        workers.start_soon(_work, ctx, receive)
                    with send:
                        pollers = [Poller(ctx, send) for _ in range(poller_count(ctx.spec.concurrency, ctx.spec.batch))]
                        self._pollers += pollers
                        async with anyio.create_task_group() as polling:
                            if ctx.receiving:
                                for poller in pollers:
                                    polling.start_soon(poller.run)
                    # the stream is closed: each worker ends once it has no job left
                await ctx.acker.wait_idle()
                service.cancel_scope.cancel()
        finally:
            ctx.finished = True
            done.set()

    # -- stop -----------------------------------------------------------------------------------------------
    async def _drain(self, finished: list[anyio.Event]) -> None:
        self.draining = True
        for ctx in self.contexts:
            ctx.receiving = False
        for poller in self._pollers:
            poller.stop(self.settings.receive_grace)
        running = sum(len(ctx.leases) for ctx in self.contexts)
        log.info("draining: receiving stopped", running=running, drain_timeout=self.settings.drain_timeout)
        all_done = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(_set_when_all, finished, all_done)
            deadline = self.clock.now() + self.settings.drain_timeout
            tg.start_soon(_set_when, self._immediate, all_done)
            await self.clock.wait(all_done, deadline)
            if not all(event.is_set() for event in finished):
                left = sum(len(ctx.leases) for ctx in self.contexts)
                log.warning("drain deadline reached: cancelling running jobs and releasing them", running=left)
                for poller in self._pollers:
                    poller.stop(0)  # no receive may take back what is about to be released
                for ctx in self.contexts:
                    for lease in list(ctx.leases.values()):
                        lease.cancel("shutdown")
                    for job in list(ctx.running.values()):  # a job may outlive its message (Message.release)
                        for lease in job:
                            lease.cancel("shutdown")
                with anyio.move_on_after(FINAL_GRACE):
                    for event in finished:
                        await event.wait()
            tg.cancel_scope.cancel()


async def _work(ctx: HandlerContext, jobs: MemoryObjectReceiveStream[list[Lease]]) -> None:
    """One slot's worker: each job it is handed took one slot, given back when the job ends."""
    run = run_group if ctx.fifo and not ctx.spec.batch else run_job
    async for leases in jobs:
        try:
            await run(ctx, leases)
        finally:
            ctx.slots.give(1)


async def _set_when_all(events: list[anyio.Event], target: anyio.Event) -> None:
    for event in events:
        await event.wait()
    target.set()


async def _set_when(source: anyio.Event, target: anyio.Event) -> None:
    await source.wait()
    target.set()


def check_handlers(handlers: Sequence[HandlerSpec]) -> None:
    """Validated again at start: a registry can be filled by hand, not only by the decorator."""
    if not handlers:
        raise ConfigError("the app has no handlers: register one with @app.handler(queue)")
    seen: dict[str, str] = {}
    for spec in handlers:
        if not isinstance(spec, HandlerSpec):
            raise ConfigError(f"handlers: {spec!r} is not a HandlerSpec")
        if spec.queue in seen:
            raise ConfigError(
                f"queue {spec.queue!r} has two handlers, {seen[spec.queue]!r} and {spec.name!r}: one per queue"
            )
        seen[spec.queue] = spec.name
