"""The over-HTTP case of ``bench/consume.py``: the supervisor on SqsBackend against a hand-written aiobotocore
loop, both consuming from one ``consumerkit serve --backend memory://`` subprocess on the other core.

The server is started and stopped with ``bench/wire.py``'s helpers (a free port, its ``listening on`` line,
SIGTERM by pid on the way out). Before each timed run the queue is topped up, untimed, so it never runs dry.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping, Sequence
from typing import Any

import anyio
import wire
from _consume_local import BODY, QUEUE, STALL, VISIBILITY, WAIT, Window, handler_app, noop

from consumerkit.backends import open_backend
from consumerkit.backends.base import Backend, EntryFailure, QueueMessage, Receipt, VisibilityChange
from consumerkit.runtime.supervisor import Supervisor


class CountingBackend:
    """Wraps a backend and counts the SQS calls that reach it, by operation (a check on ``statistics()``)."""

    def __init__(self, inner: Backend) -> None:
        self._inner = inner
        self.calls: dict[str, int] = {"receive": 0, "delete": 0, "visibility": 0}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @property
    def creates_queues(self) -> bool:
        return self._inner.creates_queues

    async def receive_messages(
        self, queue_url: str, *, max_messages: int, wait_seconds: int, visibility_timeout: int
    ) -> list[QueueMessage]:
        self.calls["receive"] += 1
        return await self._inner.receive_messages(
            queue_url, max_messages=max_messages, wait_seconds=wait_seconds, visibility_timeout=visibility_timeout
        )

    async def delete_message_batch(self, queue_url: str, receipts: Sequence[Receipt]) -> list[EntryFailure]:
        self.calls["delete"] += 1
        return await self._inner.delete_message_batch(queue_url, receipts)

    async def change_visibility_batch(self, queue_url: str, changes: Sequence[VisibilityChange]) -> list[EntryFailure]:
        self.calls["visibility"] += 1
        return await self._inner.change_visibility_batch(queue_url, changes)

    @property
    def total(self) -> int:
        return sum(self.calls.values())


async def _visible(sqs: Any, queue: str) -> int:
    got = await sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])
    return int(got["Attributes"]["ApproximateNumberOfMessages"])


async def _in_flight(sqs: Any, queue: str) -> int:
    got = await sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
    return int(got["Attributes"]["ApproximateNumberOfMessagesNotVisible"])


async def top_up(sqs: Any, queue: str, want: int, senders: int = 16) -> int:
    """Send batches of 10 (untimed) until at least ``want`` messages are visible; how many there are then."""
    have = await _visible(sqs, queue)
    missing = max(0, want - have)
    batches = (missing + 9) // 10
    entries = [{"Id": str(i), "MessageBody": BODY} for i in range(10)]
    todo = iter(range(batches))

    async def sender() -> None:
        for _ in todo:
            sent = await sqs.send_message_batch(QueueUrl=queue, Entries=entries)
            if sent.get("Failed"):
                raise RuntimeError(f"top-up: send_message_batch failed entries {sent['Failed']}")

    async with anyio.create_task_group() as tg:
        for _ in range(senders):
            tg.start_soon(sender)
    return have + batches * 10


def _cpu(pid: int) -> tuple[float, float, float, float]:
    """Wall clock, this process's CPU, the server's CPU, and the whole machine's busy CPU (seconds)."""
    return time.perf_counter(), time.process_time(), wire._cpu_seconds(pid), wire._machine_cpu_seconds()


def _background(window: Window, machine: float) -> None:
    """CPU seconds that neither this process nor the server spent, meanwhile: everything else on the machine."""
    window.extra["background_cpu"] = max(0.0, machine - window.cpu - window.extra["server_cpu"])


async def hand_loop(sqs: Any, queue: str, pid: int, workers: int, warmup: float, duration: float) -> Window:
    """``workers`` concurrent loops of receive(10) → no-op per message → delete_message_batch, asking for the
    same attributes the SqsBackend asks for; ``warmup`` s untimed, then ``duration`` s timed."""
    counts = {"messages": 0, "requests": 0}
    stop = anyio.Event()

    async def worker() -> None:
        while not stop.is_set():
            got = await sqs.receive_message(
                QueueUrl=queue,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=WAIT,
                VisibilityTimeout=VISIBILITY,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            counts["requests"] += 1
            messages = got.get("Messages", ())
            for message in messages:
                await noop(message)
            if messages:
                await wire.delete_received(sqs, queue, messages, counts)

    async with anyio.create_task_group() as tg:
        for _ in range(workers):
            tg.start_soon(worker)
        await anyio.sleep(warmup)
        t0, c0, s0, x0 = _cpu(pid)
        m0, r0 = counts["messages"], counts["requests"]
        await anyio.sleep(duration)
        t1, c1, s1, x1 = _cpu(pid)
        m1, r1 = counts["messages"], counts["requests"]
        stop.set()
    window = Window(m1 - m0, t1 - t0, c1 - c0, r1 - r0, await _visible(sqs, queue))
    window.extra["server_cpu"] = s1 - s0
    _background(window, x1 - x0)
    return window


async def supervisor_run(
    url: str, sqs: Any, queue: str, pid: int, concurrency: int, warmup: float, duration: float
) -> Window:
    """The supervisor (no-op handler, ``concurrency`` slots) on its own SqsBackend, as ``App.serve`` would open
    it, behind a counting proxy; ``warmup`` s untimed, then ``duration`` s timed, then a graceful stop."""
    app = handler_app(noop, concurrency)
    in_flight_before = await _in_flight(sqs, queue)
    async with open_backend(url, max_connections=max(10, concurrency + 4)) as backend:
        counted = CountingBackend(backend)
        async with anyio.create_task_group() as tg:
            sup: Supervisor = await tg.start(functools.partial(app.serve, counted, handle_signals=False))
            await anyio.sleep(warmup)
            (t0, c0, srv0, x0), s0, q0 = _cpu(pid), sup.statistics()[0], counted.total
            await anyio.sleep(duration)
            (t1, c1, srv1, x1), s1, q1 = _cpu(pid), sup.statistics()[0], counted.total
            sup.stop()
            with anyio.fail_after(STALL):
                await sup.wait_stopped()
        final = sup.statistics()[0]
    done = s1.outcomes["success"] - s0.outcomes["success"]
    window = Window(done, t1 - t0, c1 - c0, q1 - q0, await _visible(sqs, queue))
    window.extra["server_cpu"] = srv1 - srv0
    _background(window, x1 - x0)
    stat_requests = sum(s1.receive_requests.values()) + s1.delete_batches + s1.visibility_batches
    stat_requests -= sum(s0.receive_requests.values()) + s0.delete_batches + s0.visibility_batches
    window.extra["stat_requests"] = stat_requests
    window.extra.update({f"outcome_{k}": v for k, v in final.outcomes.items() if k != "success"})
    window.extra["receive_errors"] = final.receive_requests["error"]
    # Received by the server but neither deleted nor released once the supervisor has stopped: invisible for the
    # rest of their visibility timeout (e.g. a receive cancelled at stop after the server had answered).
    window.extra["left_in_flight"] = await _in_flight(sqs, queue) - in_flight_before
    return window


async def compare(
    workers: Sequence[int], concurrencies: Sequence[int], rounds: int, warmup: float, duration: float,
    server_cpus: set[int] | None, tmp: Any,
) -> tuple[dict[str, list[Window]], Mapping[str, float]]:  # fmt: skip
    """Interleaved rounds of every hand loop and every supervisor against one server; the windows per variant."""
    windows: dict[str, list[Window]] = {f"hand_w{w}": [] for w in workers}
    windows.update({f"sup_c{c}": [] for c in concurrencies})
    info: dict[str, float] = {}
    with wire.running("memory", wire._argv("memory", tmp, None), tmp, server_cpus) as server:
        async with wire._client(server.url, wire._client_config(max(workers) + 20)) as sqs:
            queue = (await sqs.create_queue(QueueName=QUEUE))["QueueUrl"]  # a fresh server: the supervisor's name
            expected = 8_000.0  # msg/s, a generous first guess; then the best rate seen so far
            for round_ in range(rounds):
                order = list(windows)
                order = order[round_ % len(order) :] + order[: round_ % len(order)]
                for variant in order:
                    backlog = int(expected * (warmup + duration + 1.0) * 1.5)
                    info["backlog_max"] = max(info.get("backlog_max", 0), await top_up(sqs, queue, backlog))
                    if variant.startswith("hand_w"):
                        window = await hand_loop(sqs, queue, server.pid, int(variant[6:]), warmup, duration)
                    else:
                        concurrency = int(variant[5:])
                        window = await supervisor_run(server.url, sqs, queue, server.pid, concurrency, warmup, duration)
                    windows[variant].append(window)
                    expected = max(expected, window.rate)
    return windows, info
