"""Running an app under test: the supervisor in a task group, its outcomes collected, waits on events only."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import anyio.lowlevel

from consumerkit import App, Outcome, Supervisor, TransientBackendError
from consumerkit.backends import Backend, EntryFailure, OutgoingMessage, QueueMessage, Receipt, VisibilityChange
from consumerkit.clock import Clock, ManualClock
from consumerkit.testing.settle import wait_until_blocked

WAIT = 20.0  # the most any test waits for an event before it fails


@dataclass
class Outcomes:
    """An observer that keeps every outcome and lets a test wait for the n-th."""

    items: list[Outcome] = field(default_factory=list)
    _changed: anyio.Event = field(default_factory=anyio.Event)

    def __call__(self, outcome: Outcome) -> None:
        self.items.append(outcome)
        self._changed.set()
        self._changed = anyio.Event()

    async def wait(self, count: int, within: float = WAIT) -> list[Outcome]:
        with anyio.fail_after(within):
            while len(self.items) < count:
                await self._changed.wait()
        return self.items

    def kinds(self) -> list[str]:
        return [o.outcome for o in self.items]


class Gate:
    """Handlers wait on it; the test opens it, and can wait until n handlers have started."""

    def __init__(self) -> None:
        self.open = anyio.Event()
        self.started = 0
        self._changed = anyio.Event()

    async def enter(self) -> None:
        self.started += 1
        self._changed.set()
        self._changed = anyio.Event()
        await self.open.wait()

    async def wait_started(self, count: int, within: float = WAIT) -> None:
        with anyio.fail_after(within):
            while self.started < count:
                await self._changed.wait()


@asynccontextmanager
async def running(
    app: App,
    backend: Backend,
    *,
    clock: Clock | None = None,
    observers: Sequence[Callable[[Outcome], None]] = (),
    receive_grace: float = 0.0,
) -> AsyncIterator[tuple[Supervisor, Outcomes]]:
    """Run ``app`` on ``backend`` until the block ends, then stop it and wait for the drain to finish.

    ``receive_grace`` is 0 here unless a test is about it: the stop of every test would otherwise wait for it.
    """
    app.settings = app.settings.replace(receive_grace=receive_grace)
    outcomes = Outcomes()
    async with anyio.create_task_group() as tg:
        supervisor: Supervisor = await tg.start(_serve, app, backend, clock, [outcomes, *observers])
        try:
            yield supervisor, outcomes
        finally:
            supervisor.stop()
            with anyio.fail_after(WAIT):
                await supervisor.wait_stopped()


async def _serve(
    app: App,
    backend: Backend,
    clock: Clock | None,
    observers: list[Callable[[Outcome], None]],
    *,
    task_status: anyio.abc.TaskStatus[Supervisor],
) -> None:
    await app.serve(backend, clock=clock, observers=observers, handle_signals=False, task_status=task_status)


async def send(backend: Backend, queue_url: str, *bodies: str) -> None:
    for start in range(0, len(bodies), 10):
        chunk = bodies[start : start + 10]
        _, failed = await backend.send_message_batch(
            queue_url, [OutgoingMessage(body, str(n)) for n, body in enumerate(chunk)]
        )
        assert not failed, failed


def url_of(supervisor: Supervisor, queue: str) -> str:
    return next(ctx.queue_url for ctx in supervisor.contexts if ctx.spec.queue == queue)


async def advance(clock: ManualClock, seconds: float, step: float = 1.0) -> None:
    """Move time forward in steps, letting the worker act at each, as real time would."""
    moved = 0.0
    while moved < seconds:
        clock.advance(min(step, seconds - moved))
        moved += step
        await settle()


async def settle() -> None:
    """Return once every other task is blocked (on the clock, an event, a socket): whatever the last step made
    due has been done. The testing kit's own wait, which only yields, so a test can take thousands of steps."""
    await wait_until_blocked()


class Flaky:
    """Any backend behind a link that fails the next ``failures[operation]`` calls (transiently); every other
    call passes straight through. Fault injection around a real backend, not a mock of SQS."""

    def __init__(self, inner: Backend, **failures: int) -> None:
        self.inner = inner
        self.failures = {"receive": 0, "delete": 0, "visibility": 0, **failures}

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def _trip(self, operation: str) -> None:
        if self.failures[operation]:
            self.failures[operation] -= 1
            raise TransientBackendError(f"{operation}: connection reset by peer")

    async def receive_messages(self, queue_url: str, **options: int) -> list[QueueMessage]:
        self._trip("receive")
        return await self.inner.receive_messages(queue_url, **options)

    async def delete_message_batch(self, queue_url: str, receipts: Sequence[Receipt]) -> list[EntryFailure]:
        self._trip("delete")
        return await self.inner.delete_message_batch(queue_url, receipts)

    async def change_visibility_batch(self, queue_url: str, changes: Sequence[VisibilityChange]) -> list[EntryFailure]:
        self._trip("visibility")
        return await self.inner.change_visibility_batch(queue_url, changes)
