"""A message's life on every backend: deleted on success, retried on failure, dead-lettered when poison.

Each test runs on the engine in memory, on SQLite, and through SqsBackend to a real ``consumerkit serve``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import anyio
import pytest

from consumerkit import App, FixedBackoff, Message, Reject
from consumerkit.backends import Backend
from tests.runtime.harness import WAIT, running, send, settle, url_of


async def receive_one(backend: Backend, url: str) -> list[str]:
    """Long-poll a queue as a second consumer would; returns the bodies (it waits for the first message)."""
    with anyio.fail_after(WAIT):
        got = await backend.receive_messages(url, max_messages=10, wait_seconds=20, visibility_timeout=30)
    return [m.body for m in got]


async def test_success_deletes_the_message(backend: Backend, queue_name: str) -> None:
    app = App()
    handled: list[str] = []

    @app.handler(queue_name)
    async def work(message: Message) -> None:
        handled.append(message.body)

    async with running(app, backend) as (supervisor, outcomes):
        url = url_of(supervisor, queue_name)
        await send(backend, url, "a", "b", "c")
        await outcomes.wait(3)
    assert sorted(handled) == ["a", "b", "c"]
    assert outcomes.kinds() == ["success"] * 3
    counts = await backend.queue_counts(url)
    assert (counts.visible, counts.in_flight, counts.delayed) == (0, 0, 0)


async def test_a_failure_is_retried_with_its_receive_count(backend: Backend, queue_name: str) -> None:
    app = App()
    counts: list[int] = []

    @app.handler(queue_name, retry=FixedBackoff(0))
    async def flaky(message: Message) -> None:
        counts.append(message.receive_count)
        if message.receive_count < 3:
            raise RuntimeError("not yet")

    async with running(app, backend) as (supervisor, outcomes):
        await send(backend, url_of(supervisor, queue_name), "job")
        await outcomes.wait(3)
    assert counts == [1, 2, 3]
    assert outcomes.kinds() == ["error", "error", "success"]
    assert [o.receive_count for o in outcomes.items] == [1, 2, 3]
    assert isinstance(outcomes.items[0].error, RuntimeError)


async def test_poison_goes_to_the_dead_letter_queue_after_max_receives(backend: Backend, queue_name: str) -> None:
    app = App()
    app.queue(queue_name, dead_letter=f"{queue_name}-dlq", max_receives=2)

    @app.handler(queue_name, retry=FixedBackoff(0))
    async def always_fails(message: Message) -> None:
        raise ValueError("poison")

    async with running(app, backend) as (supervisor, outcomes):
        await send(backend, url_of(supervisor, queue_name), "poison")
        await outcomes.wait(2)
        dlq = await backend.get_queue_url(f"{queue_name}-dlq")
        assert await receive_one(backend, dlq) == ["poison"]  # SQS moved it on the third receive
    assert outcomes.kinds() == ["error", "error"]


async def test_reject_sends_straight_to_the_dead_letter_queue(backend: Backend, queue_name: str) -> None:
    app = App()
    app.queue(queue_name, dead_letter=f"{queue_name}-dlq", max_receives=5)

    @app.handler(queue_name)
    async def rejects(message: Message) -> None:
        raise Reject("this video cannot be encoded")

    async with running(app, backend) as (supervisor, outcomes):
        url = url_of(supervisor, queue_name)
        await send(backend, url, "unencodable")
        await outcomes.wait(1)
        dlq = await backend.get_queue_url(f"{queue_name}-dlq")
        assert await receive_one(backend, dlq) == ["unencodable"]
    assert outcomes.kinds() == ["rejected"]
    counts = await backend.queue_counts(url)
    assert (counts.visible, counts.in_flight) == (0, 0)


async def test_reject_without_a_dead_letter_queue_is_retried(backend: Backend, queue_name: str) -> None:
    app = App()
    tries: list[int] = []

    @app.handler(queue_name, retry=FixedBackoff(0))
    async def rejects(message: Message) -> None:
        tries.append(message.receive_count)
        if message.receive_count == 1:
            raise Reject("no DLQ to go to")

    async with running(app, backend) as (supervisor, outcomes):
        await send(backend, url_of(supervisor, queue_name), "kept")
        await outcomes.wait(2)
    assert outcomes.kinds() == ["error", "success"]  # never dropped
    assert tries == [1, 2]


@dataclass
class Encode:
    source: str
    preset: str = "720p"


async def test_a_typed_payload_is_decoded_and_a_malformed_one_dead_lettered(backend: Backend, queue_name: str) -> None:
    app = App()
    app.queue(queue_name, dead_letter=f"{queue_name}-dlq", max_receives=1)
    jobs: list[Encode] = []

    @app.handler(queue_name, retry=FixedBackoff(0))
    async def encode(job: Encode, message: Message) -> None:
        assert message.body.startswith("{")
        jobs.append(job)

    async with running(app, backend) as (supervisor, outcomes):
        await send(backend, url_of(supervisor, queue_name), json.dumps({"source": "a.mov"}), "{not json", '{"x": 1}')
        await outcomes.wait(3)
        dlq = await backend.get_queue_url(f"{queue_name}-dlq")
        dead: list[str] = []
        while len(dead) < 2:
            dead += await receive_one(backend, dlq)
    assert jobs == [Encode("a.mov")]
    assert sorted(outcomes.kinds()) == ["error", "error", "success"]
    assert sorted(dead) == ['{"x": 1}', "{not json"]


async def test_a_batch_handler_retries_only_what_it_reports_failed(backend: Backend, queue_name: str) -> None:
    app = App()
    batches: list[list[str]] = []

    @app.handler(queue_name, batch=True, retry=FixedBackoff(0), concurrency=1)
    async def many(messages: list[Message]) -> list[Message]:
        batches.append([m.body for m in messages])
        return [m for m in messages if m.body == "bad" and m.receive_count == 1]

    async with running(app, backend) as (supervisor, outcomes):
        await send(backend, url_of(supervisor, queue_name), "a", "bad", "c")
        await outcomes.wait(4)
    assert sorted(o.outcome for o in outcomes.items) == ["error", "success", "success", "success"]
    assert [b for b in batches if "bad" in b][-1:] != []
    assert sum(len(b) for b in batches) == 4  # "bad" twice, the others once


async def test_several_handlers_and_queues_in_one_process(backend: Backend, queue_name: str) -> None:
    app = App()
    seen: dict[str, list[str]] = {"first": [], "second": []}

    @app.handler(f"{queue_name}-1")
    async def first(message: Message) -> None:
        seen["first"].append(message.body)

    @app.handler(f"{queue_name}-2")
    def second(message: Message) -> None:  # a sync handler, in a worker thread
        seen["second"].append(message.body)

    async with running(app, backend) as (supervisor, outcomes):
        await send(backend, url_of(supervisor, f"{queue_name}-1"), "one")
        await send(backend, url_of(supervisor, f"{queue_name}-2"), "two")
        await outcomes.wait(2)
    assert seen == {"first": ["one"], "second": ["two"]}
    assert {o.handler for o in outcomes.items} == {"first", "second"}


async def test_stop_ends_the_pending_long_polls_at_once(backend: Backend, queue_name: str) -> None:
    app = App()

    @app.handler(queue_name, wait_seconds=20)
    async def idle(message: Message) -> None:
        raise AssertionError("nothing was sent")

    async with running(app, backend) as (supervisor, _):
        await settle()  # the pollers are parked in their long polls
        with anyio.fail_after(10):  # a long poll left to run would take 20 s
            supervisor.stop()
            await supervisor.wait_stopped()
    assert supervisor.statistics()[0].receive_requests["messages"] == 0


@pytest.mark.parametrize("drain_timeout", [0.0])
async def test_shutdown_releases_unfinished_jobs(backend: Backend, queue_name: str, drain_timeout: float) -> None:
    app = App(drain_timeout=drain_timeout)
    started = anyio.Event()

    @app.handler(queue_name, visibility_timeout=600)
    async def endless(message: Message) -> None:
        started.set()
        await anyio.sleep_forever()

    async with running(app, backend) as (supervisor, outcomes):
        url = url_of(supervisor, queue_name)
        await send(backend, url, "long encode")
        with anyio.fail_after(WAIT):
            await started.wait()
    assert outcomes.kinds() == ["released"]
    # released with visibility 0: another worker gets it now, not in 600 s
    assert await receive_one(backend, url) == ["long encode"]
