"""Transient backend failures (resets, throttling, 5xx) never stop the worker, lose a message or delete one
unprocessed: receives, heartbeats and acks retry with back-off."""

from __future__ import annotations

from collections.abc import Sequence

from consumerkit import App, BackendError, Message
from consumerkit.backends import EntryFailure, LocalBackend, Receipt
from consumerkit.clock import ManualClock
from consumerkit.engine import Engine
from tests.runtime.harness import Flaky, Gate, running, send, settle, url_of


async def test_failed_receives_and_deletes_are_retried(engine: Engine, clock: ManualClock, queue_name: str) -> None:
    backend = Flaky(LocalBackend(engine))
    app = App()
    handled: list[str] = []

    @app.handler(queue_name, concurrency=1)
    async def encode(message: Message) -> None:
        handled.append(message.body)

    async with running(app, backend, clock=clock) as (supervisor, outcomes):
        url = url_of(supervisor, queue_name)
        backend.failures.update(receive=3, delete=2)
        await send(backend, url, "survives")
        for _ in range(20):  # back-off: 1 + 2 + 4 s for the receives, 0.5 + 1 s for the delete
            clock.advance(1)
            await settle()
        await outcomes.wait(1)
    assert handled == ["survives"]
    assert outcomes.kinds() == ["success"]
    assert supervisor.statistics()[0].receive_requests["error"] == 3
    stats = await engine.queue_stats(url)
    assert (stats.visible, stats.in_flight) == (0, 0)


async def test_a_failed_heartbeat_is_retried_before_the_message_shows_again(
    engine: Engine, clock: ManualClock, queue_name: str
) -> None:
    backend = Flaky(LocalBackend(engine))
    app = App()
    gate = Gate()

    @app.handler(queue_name, visibility_timeout=60)
    async def encode(message: Message) -> None:
        await gate.enter()

    async with running(app, backend, clock=clock) as (supervisor, outcomes):
        url = url_of(supervisor, queue_name)
        await send(backend, url, "long")
        await gate.wait_started(1)
        backend.failures["visibility"] = 2
        for _ in range(120):  # ten minutes
            clock.advance(5)
            await settle()
            assert (await engine.queue_stats(url)).visible == 0
        gate.open.set()
        await outcomes.wait(1)
    extensions = supervisor.statistics()[0].extensions
    assert extensions["error"] == 2 and extensions["ok"] >= 9
    assert outcomes.kinds() == ["success"]


class Refusing(LocalBackend):
    """The real engine, except that every delete is refused for good (as AccessDenied would be)."""

    async def delete_message_batch(self, queue_url: str, receipts: Sequence[Receipt]) -> list[EntryFailure]:
        raise BackendError("DeleteMessageBatch: AccessDenied: not authorised")


async def test_a_refused_delete_is_given_up_not_retried_forever(
    engine: Engine, clock: ManualClock, queue_name: str
) -> None:
    backend = Refusing(engine)
    app = App()

    @app.handler(queue_name, visibility_timeout=30)
    async def work(message: Message) -> None:
        pass

    async with running(app, backend, clock=clock) as (supervisor, outcomes):
        url = url_of(supervisor, queue_name)
        await send(backend, url, "done, but cannot be deleted")
        await outcomes.wait(1)
        assert not supervisor.contexts[0].leases  # nothing held, nothing heartbeated
        clock.advance(29)
        await settle()
    stats = supervisor.statistics()[0]
    assert (stats.delete_batches, stats.visibility_batches) == (1, 0)  # one try, then given up; never extended
