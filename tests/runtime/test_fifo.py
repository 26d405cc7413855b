"""FIFO queues: one message group's messages run one after another, different groups side by side.

The messages are sent before the worker starts, so that its first receive returns several messages of each
group: the case where running them in separate slots would break the group's order.
"""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import pytest

from consumerkit import App, FixedBackoff, Message, Outcome
from consumerkit.backends import LocalBackend, OutgoingMessage, QueueMessage
from consumerkit.clock import ManualClock
from consumerkit.engine import Engine
from tests.runtime.harness import WAIT, Gate, advance, running, settle

INTERLEAVED = ["a1", "b1", "a2", "b2", "a3", "b3"]  # group = first letter; sent in this order


async def make_queue(
    local: LocalBackend, name: str, bodies: Sequence[str], *, fifo: bool = True
) -> tuple[str, dict[str, str]]:
    """Create the queue and send ``bodies``, each in the group named by its first letter; returns the queue's
    url and each body by message id."""
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else None
    url = await local.create_queue(name, attributes)
    entries = [OutgoingMessage(body, str(n), group_id=body[0]) for n, body in enumerate(bodies)]
    ids, failed = await local.send_message_batch(url, entries)
    assert not failed, failed
    return url, dict(zip(ids, bodies, strict=True))


def by_body(items: Sequence[Outcome], bodies: dict[str, str]) -> dict[str, list[str]]:
    """Each message's outcomes, in the order they came."""
    found: dict[str, list[str]] = {}
    for item in items:
        found.setdefault(bodies[item.message_id], []).append(item.outcome)
    return found


class Trace:
    """Records each call's start and end, and how many run at once, overall and per group."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.running: dict[str, int] = {}
        self.most = 0
        self.most_per_group = 0

    def start(self, message: Message) -> None:
        self.events.append(("start", message.body))
        group = message.group_id or ""
        self.running[group] = self.running.get(group, 0) + 1
        self.most = max(self.most, sum(self.running.values()))
        self.most_per_group = max(self.most_per_group, self.running[group])

    def end(self, message: Message) -> None:
        self.events.append(("end", message.body))
        self.running[message.group_id or ""] -= 1

    def of(self, group: str) -> list[tuple[str, str]]:
        return [event for event in self.events if event[1].startswith(group)]


def traced(queue: str) -> tuple[App, Gate, Trace]:
    """An app whose handler (ten slots) records its calls and waits at the gate."""
    app = App()
    gate, trace = Gate(), Trace()

    @app.handler(queue, concurrency=10)
    async def apply(message: Message) -> None:
        trace.start(message)
        await gate.enter()
        trace.end(message)

    return app, gate, trace


def one_after_another(*bodies: str) -> list[tuple[str, str]]:
    return [event for body in bodies for event in (("start", body), ("end", body))]


class Asking(LocalBackend):
    """The real engine, with a note of how many messages each receive asked for."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.asked: list[int] = []

    async def receive_messages(self, queue_url: str, *, max_messages: int, **options: int) -> list[QueueMessage]:
        self.asked.append(max_messages)
        return await super().receive_messages(queue_url, max_messages=max_messages, **options)


async def test_a_group_runs_in_order_while_groups_run_side_by_side(
    engine: Engine, clock: ManualClock, queue_name: str
) -> None:
    local = Asking(engine)
    name = f"{queue_name}.fifo"
    url, _ = await make_queue(local, name, INTERLEAVED)
    app, gate, trace = traced(name)

    async with running(app, local, clock=clock) as (supervisor, outcomes):
        await gate.wait_started(2)
        await settle()
        # one receive took all six: two groups, so two slots are held (the next receive asks for the other
        # eight) and two messages are handled now
        assert sorted(body for _, body in trace.events) == ["a1", "b1"]
        assert local.asked[:2] == [10, 8]
        assert supervisor.statistics()[0].in_progress == 2
        assert (await engine.queue_stats(url)).in_flight == 6
        gate.open.set()
        await outcomes.wait(6)
    assert outcomes.kinds() == ["success"] * 6
    assert trace.of("a") == one_after_another("a1", "a2", "a3")
    assert trace.of("b") == one_after_another("b1", "b2", "b3")
    assert (trace.most, trace.most_per_group) == (2, 1)


async def test_a_standard_queue_still_runs_every_message_at_once(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    await make_queue(local, queue_name, ["a1", "a2", "a3"], fifo=False)  # one group id: a fair queue's
    app, gate, trace = traced(queue_name)

    async with running(app, local, clock=clock) as (supervisor, outcomes):
        await gate.wait_started(3)
        assert supervisor.statistics()[0].in_progress == 3
        gate.open.set()
        await outcomes.wait(3)
    assert trace.most_per_group == 3


@pytest.mark.parametrize("failure", ["raises", "releases"])
async def test_a_failure_releases_the_rest_of_its_group_which_comes_back_in_order(
    local: LocalBackend, engine: Engine, clock: ManualClock, queue_name: str, failure: str
) -> None:
    name = f"{queue_name}.fifo"
    url, bodies = await make_queue(local, name, INTERLEAVED)
    app = App()
    calls: list[tuple[str, int]] = []

    @app.handler(name, concurrency=10, retry=FixedBackoff(30))
    async def apply(message: Message) -> None:
        calls.append((message.body, message.receive_count))
        if message.body == "a2" and message.receive_count == 1:
            if failure == "raises":
                raise RuntimeError("a2 fails once")
            await message.release(delay=30)

    async with running(app, local, clock=clock) as (_supervisor, outcomes):
        await outcomes.wait(6)
        failed = "error" if failure == "raises" else "released"
        assert by_body(outcomes.items, bodies) == {
            "a1": ["success"], "a2": [failed], "a3": ["released"], "b1": ["success"], "b2": ["success"],
            "b3": ["success"],
        }  # fmt: skip
        assert [body for body, _ in calls if body[0] == "a"] == ["a1", "a2"]  # a3 was not started
        await advance(clock, 25)
        stats = await engine.queue_stats(url)
        assert (stats.visible, stats.in_flight) == (1, 1)  # a3 visible, but held behind a2's back-off
        assert len(calls) == 5
        await advance(clock, 10)
        await outcomes.wait(8)
    assert [call for call in calls if call[0][0] == "a"] == [("a1", 1), ("a2", 1), ("a2", 2), ("a3", 2)]
    assert [body for body, _ in calls if body[0] == "b"] == ["b1", "b2", "b3"]
    assert by_body(outcomes.items, bodies)["a3"] == ["released", "success"]
    stats = await engine.queue_stats(url)
    assert (stats.visible, stats.in_flight) == (0, 0)


@pytest.mark.parametrize("first", ["finishes", "outlasts the drain"])
async def test_a_stop_releases_the_rest_of_a_group_unstarted(
    local: LocalBackend, engine: Engine, clock: ManualClock, queue_name: str, first: str
) -> None:
    name = f"{queue_name}.fifo"
    url, bodies = await make_queue(local, name, ["a1", "a2", "a3"])
    app, gate, trace = traced(name)
    app.settings = app.settings.replace(drain_timeout=60)

    async with running(app, local, clock=clock) as (supervisor, outcomes):
        await gate.wait_started(1)
        supervisor.stop()
        await settle()
        if first == "finishes":
            gate.open.set()  # within the drain
        else:
            clock.advance(60)  # the drain deadline cancels it
        with anyio.fail_after(WAIT):
            await supervisor.wait_stopped()
    assert [body for _, body in trace.events] == (["a1", "a1"] if first == "finishes" else ["a1"])
    a1 = "success" if first == "finishes" else "released"
    assert by_body(outcomes.items, bodies) == {"a1": [a1], "a2": ["released"], "a3": ["released"]}
    stats = await engine.queue_stats(url)
    assert (stats.visible, stats.in_flight) == (3 if a1 == "released" else 2, 0)  # given back, not timed out


async def test_messages_waiting_their_turn_stay_invisible_while_a_long_one_runs(
    local: LocalBackend, engine: Engine, clock: ManualClock, queue_name: str
) -> None:
    name = f"{queue_name}.fifo"
    url, _bodies = await make_queue(local, name, ["a1", "a2"])
    app = App()
    gate = Gate()
    counts: list[int] = []

    @app.handler(name, concurrency=10, visibility_timeout=30)  # heartbeat every 15 s
    async def apply(message: Message) -> None:
        counts.append(message.receive_count)
        if message.body == "a1":
            await gate.enter()

    async with running(app, local, clock=clock) as (_supervisor, outcomes):
        await gate.wait_started(1)
        for _ in range(3600 // 5):  # an hour, five seconds at a time
            clock.advance(5)
            await settle()
            stats = await engine.queue_stats(url)
            assert (stats.visible, stats.in_flight) == (0, 2), f"visible again after {clock.now()}"
        gate.open.set()
        await outcomes.wait(2)
    assert outcomes.kinds() == ["success", "success"]
    assert counts == [1, 1]  # a2 was never delivered again


async def test_a_waiting_message_gets_its_whole_max_duration_from_its_own_start(
    local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    name = f"{queue_name}.fifo"
    await make_queue(local, name, ["a1", "a2"])
    app = App()
    first, second = Gate(), Gate()

    @app.handler(name, visibility_timeout=30, max_duration=100, cap_warning=20)
    async def apply(message: Message) -> None:
        await (first if message.body == "a1" else second).enter()

    async with running(app, local, clock=clock) as (supervisor, outcomes):
        await first.wait_started(1)
        await advance(clock, 90)
        first.open.set()
        await second.wait_started(1)
        await advance(clock, 90)  # 180 s after the receive, 90 s into a2's own run
        assert outcomes.kinds() == ["success"]
        second.open.set()
        await outcomes.wait(2)
    assert outcomes.kinds() == ["success", "success"]
    assert supervisor.statistics()[0].cap_reached == 0


async def test_a_batch_handler_s_failure_holds_back_the_rest_of_its_group(
    local: LocalBackend, engine: Engine, clock: ManualClock, queue_name: str
) -> None:
    name = f"{queue_name}.fifo"
    url, bodies = await make_queue(local, name, INTERLEAVED)
    app = App()
    batches: list[list[str]] = []

    @app.handler(name, batch=True, batch_size=10, retry=FixedBackoff(30))
    async def apply(messages: list[Message]) -> list[Message]:
        batches.append([m.body for m in messages])
        return [m for m in messages if m.body == "a1" and m.receive_count == 1]

    async with running(app, local, clock=clock) as (_supervisor, outcomes):
        await outcomes.wait(6)
        assert by_body(outcomes.items, bodies) == {
            "a1": ["error"], "b1": ["success"], "a2": ["released"], "b2": ["success"], "a3": ["released"],
            "b3": ["success"],
        }  # fmt: skip
        await advance(clock, 35)
        await outcomes.wait(9)
    assert batches == [INTERLEAVED, ["a1", "a2", "a3"]]
    assert {body: kinds[-1] for body, kinds in by_body(outcomes.items, bodies).items()} == dict.fromkeys(
        INTERLEAVED, "success"
    )
    assert (await engine.queue_stats(url)).visible == 0


async def test_a_batch_handler_s_own_release_holds_back_the_rest_of_its_group(
    local: LocalBackend, engine: Engine, clock: ManualClock, queue_name: str
) -> None:
    """Message.release in a batch handler is a message that did not succeed: the ones behind it in its group
    must not be deleted ahead of it."""
    name = f"{queue_name}.fifo"
    url, bodies = await make_queue(local, name, ["a1", "a2", "a3"])
    app = App()
    batches: list[list[str]] = []

    @app.handler(name, batch=True, batch_size=10)
    async def apply(messages: list[Message]) -> None:
        batches.append([m.body for m in messages])
        for message in messages:
            if message.body == "a1" and message.receive_count == 1:
                await message.release(30)

    async with running(app, local, clock=clock) as (_supervisor, outcomes):
        await outcomes.wait(3)
        assert by_body(outcomes.items, bodies) == {"a1": ["released"], "a2": ["released"], "a3": ["released"]}
        await advance(clock, 35)
        await outcomes.wait(6)
    assert batches == [["a1", "a2", "a3"], ["a1", "a2", "a3"]]
    assert (await engine.queue_stats(url)).visible == 0
