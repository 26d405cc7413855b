"""The in-process cases of ``bench/consume.py``: throughput on the memory engine, heartbeats, latency, profile.

Everything here runs in the benchmark's own process on the memory engine (``memory://``), one fresh backend
per timed run, so no run inherits another's queue.
"""

from __future__ import annotations

import cProfile
import functools
import os
import pstats
import random
import signal
import statistics as stats_mod
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from prometheus_client import CollectorRegistry

from consumerkit import App, Message
from consumerkit.backends import open_backend
from consumerkit.backends.base import Backend, OutgoingMessage, Receipt
from consumerkit.observability import install_metrics
from consumerkit.runtime.events import HandlerStatistics, Outcome
from consumerkit.runtime.supervisor import Supervisor

BODY = '{"video": "s3://bucket/input/clip-0001.mp4", "preset": "1080p"}'
QUEUE = "bench"
VISIBILITY = 120  # what the handler (and the hand loop) receive with
WAIT = 20  # the supervisor's default long poll; the hand loop asks the same
STALL = 15.0  # seconds without progress before a run is declared stuck
ROOT = Path(__file__).resolve().parent.parent


async def noop(message: Message) -> None:
    """The handler under test, for the supervisor and the hand loops alike (annotated ``Message``: no payload
    decoding; the hand loops pass it their raw message)."""


@dataclass
class Window:
    """One timed window: messages settled, wall and CPU seconds, requests the worker made."""

    messages: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    requests: int = 0
    left: int = 0  # messages still queued when the window closed (> 0: the queue never ran dry)
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.messages / self.wall if self.wall else 0.0


def machine_cpu() -> float:
    """CPU seconds every core of the machine has spent busy since boot (``/proc/stat``; 0 where there is none)."""
    try:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:9]]
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = values
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def requests_of(s: HandlerStatistics) -> int:
    """Every SQS call the supervisor made for this handler: receives, delete batches, visibility batches."""
    return sum(s.receive_requests.values()) + s.delete_batches + s.visibility_batches


async def prefill(backend: Backend, url: str, count: int) -> None:
    batch = [OutgoingMessage(BODY, str(i)) for i in range(10)]
    for _ in range(count // 10):
        _ids, failed = await backend.send_message_batch(url, batch)
        if failed:
            raise RuntimeError(f"prefill: send_message_batch refused {failed}")


def handler_app(func: Callable[..., Awaitable[None]], concurrency: int, **options: Any) -> App:
    app = App(drain_timeout=10.0)
    app.handler(QUEUE, concurrency=concurrency, name=getattr(func, "__name__", "handler"), **options)(func)
    return app


async def _sample(sup: Supervisor) -> tuple[float, float, HandlerStatistics]:
    return time.perf_counter(), time.process_time(), sup.statistics()[0]


async def wait_settled(sup: Supervisor, at_least: int, poll: float = 0.005) -> tuple[float, float, HandlerStatistics]:
    """Poll ``statistics()`` until ``at_least`` messages have succeeded; the sample taken at that moment.

    Polling (every 5 ms) rather than an observer keeps the per-message Outcome records out of the timed path;
    each sample carries its own count, so its coarseness does not bias the rate."""
    last_count, last_progress = -1, time.perf_counter()
    while True:
        sample = await _sample(sup)
        done = sample[2].outcomes["success"]
        if done >= at_least:
            return sample
        if done != last_count:
            last_count, last_progress = done, sample[0]
        elif sample[0] - last_progress > STALL:
            raise RuntimeError(f"supervisor stalled at {done} of {at_least} messages for {STALL:g} s: {sample[2]}")
        await anyio.sleep(poll)


# ------------------------------------------------------------------------------------ case 1: throughput


async def memory_hand_loop(total: int, lo: int, hi: int, tasks: bool = False) -> Window:
    """receive(10) → the no-op handler per message → delete_message_batch, one loop, on a fresh memory engine.

    With ``tasks``, each message's handler runs in a task of its own (an anyio task group per batch, awaited
    before the delete): the least a runtime that runs jobs concurrently must pay; for reference only."""
    async with open_backend("memory://") as backend:
        url = await backend.create_queue(QUEUE)
        await prefill(backend, url, total)
        done, requests = 0, 0
        start: tuple[float, float, int, int, float] | None = None
        while True:
            got = await backend.receive_messages(url, max_messages=10, wait_seconds=WAIT, visibility_timeout=VISIBILITY)
            if tasks:
                async with anyio.create_task_group() as tg:
                    for message in got:
                        tg.start_soon(noop, message)  # type: ignore[arg-type]
            else:
                for message in got:
                    await noop(message)  # type: ignore[arg-type]  # the raw message: a hand loop has no Message
            failed = await backend.delete_message_batch(
                url, [Receipt(str(i), m.receipt_handle) for i, m in enumerate(got)]
            )
            if failed:
                raise RuntimeError(f"hand loop: delete_message_batch refused {failed}")
            done += len(got)
            requests += 2
            if start is None and done >= lo:
                start = (time.perf_counter(), time.process_time(), done, requests, machine_cpu())
            if done >= hi:
                assert start is not None
                wall, cpu = time.perf_counter() - start[0], time.process_time() - start[1]
                background = max(0.0, machine_cpu() - start[4] - cpu)
                left = (await backend.queue_counts(url)).visible
                window = Window(done - start[2], wall, cpu, requests - start[3], left)
                window.extra["background_cpu"] = background
                return window


async def memory_supervisor(
    total: int,
    lo: int,
    hi: int,
    concurrency: int,
    hooks: tuple[Callable[[], None], Callable[[], None]] | None = None,
    metrics: bool = False,
) -> Window:
    """The supervisor with a no-op handler on a fresh memory engine holding ``total`` messages; the window runs
    from the ``lo``-th settled message to the ``hi``-th, so start-up and the drained tail are not timed (nor
    profiled: ``hooks`` are called as the window opens and closes). With ``metrics``, the app has
    ``install_metrics`` on a fresh registry (per-message histograms, the metered backend, the collector)."""
    app = handler_app(noop, concurrency)
    registry = install_metrics(app, CollectorRegistry()).registry if metrics else None
    async with open_backend("memory://") as backend:
        url = await backend.create_queue(QUEUE)
        await prefill(backend, url, total)
        async with anyio.create_task_group() as tg:
            sup: Supervisor = await tg.start(functools.partial(app.serve, backend, handle_signals=False))
            t0, c0, s0 = await wait_settled(sup, lo)
            m0 = machine_cpu()
            if hooks is not None:
                hooks[0]()
            t1, c1, s1 = await wait_settled(sup, hi)
            if hooks is not None:
                hooks[1]()
            m1 = machine_cpu()
            left = (await backend.queue_counts(url)).visible
            sup.stop()
        final = sup.statistics()[0]
        stranded = (await backend.queue_counts(url)).in_flight  # neither deleted nor released at stop
        window = Window(
            s1.outcomes["success"] - s0.outcomes["success"], t1 - t0, c1 - c0, requests_of(s1) - requests_of(s0), left
        )
        window.extra.update({f"outcome_{k}": v for k, v in final.outcomes.items() if k != "success"})
        window.extra["background_cpu"] = max(0.0, m1 - m0 - window.cpu)
        window.extra["left_in_flight"] = stranded
        if registry is not None:  # the metrics saw every message: the histogram counted each success
            observed = registry.get_sample_value(
                "consumerkit_message_processing_duration_seconds_count",
                {"queue": QUEUE, "handler": "noop", "outcome": "success"},
            )
            window.extra["metrics_missed"] = final.outcomes["success"] - (observed or 0)
        return window


# ------------------------------------------------------------------------------------ case 4: heartbeats


async def heartbeats(jobs: int, visibility: int, interval: float, intervals: int) -> dict[str, float]:
    """``jobs`` running jobs at once, each waiting on one event; ChangeMessageVisibilityBatch calls and CPU share
    over exactly ``intervals`` heartbeat intervals, measured from just after a tick to just after a later one."""
    release = anyio.Event()

    async def long_job(message: Message) -> None:
        await release.wait()

    app = handler_app(long_job, jobs, visibility_timeout=visibility, heartbeat_interval=interval)
    async with open_backend("memory://") as backend:
        url = await backend.create_queue(QUEUE)
        await prefill(backend, url, jobs)
        async with anyio.create_task_group() as tg:
            sup: Supervisor = await tg.start(functools.partial(app.serve, backend, handle_signals=False))
            deadline = time.perf_counter() + STALL
            while sup.statistics()[0].in_progress < jobs:
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"only {sup.statistics()[0]} jobs running after {STALL:g} s")
                await anyio.sleep(0.01)
            # Align on a tick: wait for a burst of visibility batches, then for it to end.
            before = sup.statistics()[0].visibility_batches
            while sup.statistics()[0].visibility_batches == before:
                if time.perf_counter() > deadline + 4 * interval:
                    raise RuntimeError(f"no heartbeat within {4 * interval:g} s: {sup.statistics()[0]}")
                await anyio.sleep(0.002)
            await anyio.sleep(interval / 2)
            s0, t0, c0 = sup.statistics()[0], time.perf_counter(), time.process_time()
            await anyio.sleep(intervals * interval)
            s1, t1, c1 = sup.statistics()[0], time.perf_counter(), time.process_time()
            release.set()
            await wait_settled(sup, jobs)
            sup.stop()
        final = sup.statistics()[0]
    batches = s1.visibility_batches - s0.visibility_batches
    return {
        "jobs": jobs,
        "visibility_s": visibility,
        "interval_s": interval,
        "intervals": intervals,
        "in_progress": s0.in_progress,
        "visibility_batches": batches,
        "batches_per_interval_per_10": batches / intervals / (jobs / 10),
        "extensions_ok": s1.extensions["ok"] - s0.extensions["ok"],
        "extension_errors": final.extensions["error"],
        "core_share": (c1 - c0) / (t1 - t0),
        "not_success": sum(final.outcomes.values()) - final.outcomes["success"],
    }


# ------------------------------------------------------------------------------------ case 5: latency


async def latency(samples: int, warmup: int, concurrency: int) -> dict[str, float]:
    """One message at a time to an idle, long-polling worker: perf_counter just before the send → the handler's
    first line. Each send waits for the previous message to be settled and then 2–6 ms more, so it always finds
    the poller parked."""
    started: list[float] = []
    arrived = anyio.Event()

    async def probe(message: Message) -> None:
        started.append(time.perf_counter())
        arrived.set()

    settled = anyio.Event()

    def on_outcome(outcome: Outcome) -> None:
        settled.set()

    app = handler_app(probe, concurrency)
    latencies: list[float] = []
    async with open_backend("memory://") as backend:
        url = await backend.create_queue(QUEUE)
        async with anyio.create_task_group() as tg:
            sup: Supervisor = await tg.start(
                functools.partial(app.serve, backend, handle_signals=False, observers=[on_outcome])
            )
            await anyio.sleep(0.2)  # let the pollers park in their long polls
            rng = random.Random(4)
            message = [OutgoingMessage(BODY, "0")]
            for i in range(warmup + samples):
                arrived, settled = anyio.Event(), anyio.Event()
                started.clear()
                sent = time.perf_counter()
                await backend.send_message_batch(url, message)
                with anyio.fail_after(5.0):
                    await arrived.wait()
                    await settled.wait()
                if i >= warmup:
                    latencies.append(started[0] - sent)
                await anyio.sleep(rng.uniform(0.002, 0.006))
            sup.stop()
    latencies.sort()
    ms = [x * 1000 for x in latencies]
    return {
        "samples": len(ms),
        "p50_ms": stats_mod.median(ms),
        "p90_ms": ms[int(0.90 * (len(ms) - 1))],
        "p99_ms": ms[int(0.99 * (len(ms) - 1))],
        "max_ms": ms[-1],
        "min_ms": ms[0],
    }


# ------------------------------------------------------------------------------------ profile of case 1


def profile(total: int, concurrency: int) -> tuple[list[tuple[str, float, float]], dict[str, float]]:
    """cProfile of the timed window of one supervisor run of case 1: every function (file:function, share of own
    time, share of cumulative time), by own time, and the own time summed per area (runtime, engine, anyio...)."""
    profiler = cProfile.Profile()
    hooks = (profiler.enable, profiler.disable)
    anyio.run(memory_supervisor, total, total // 10, total - total // 10, concurrency, hooks)
    st = pstats.Stats(profiler)
    entries = st.stats  # type: ignore[attr-defined]
    total_time = sum(v[2] for v in entries.values()) or 1.0
    rows = []
    areas: dict[str, float] = {}
    for (path, _line, func), (_cc, _nc, tt, ct, _callers) in entries.items():
        name = f"{_short(path)}:{func}"
        rows.append((name, tt / total_time, ct / total_time))
        area = _area(path)
        areas[area] = areas.get(area, 0.0) + tt / total_time
    rows.sort(key=lambda r: -r[1])
    return rows, dict(sorted(areas.items(), key=lambda kv: -kv[1]))


def _short(path: str) -> str:
    for marker in ("/site-packages/", str(ROOT) + "/"):
        if marker in path:
            return path.split(marker, 1)[1]
    if path.startswith("~") or path.startswith("<"):
        return "builtin"
    parts = Path(path).parts
    return "/".join(parts[-2:]) if len(parts) >= 2 else path


def _area(path: str) -> str:
    short = _short(path)
    if short.startswith("consumerkit/"):
        parts = short.split("/")
        return "/".join(parts[:2]) if parts[1] in ("runtime", "backends", "engine") else short
    if short.startswith("anyio/"):
        return "anyio"
    if short.startswith("bench/"):
        return "bench"
    if short == "builtin":
        return "builtins (C)"
    if short.startswith("asyncio/"):
        return "asyncio"
    return "other (stdlib)"


Profile = tuple[list[tuple[str, float, float]], dict[str, float]]


def profile_pyspy(total: int, concurrency: int, rate: int = 250) -> Profile:
    """The same window sampled by py-spy (attached to this process as the window opens, stopped by SIGINT as it
    closes): every function by share of samples where it is the leaf (own) or anywhere on the stack (cum)."""
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        raise FileNotFoundError(f"{spy} not found (.venv/bin/pip install py-spy)")
    with tempfile.TemporaryDirectory(prefix="consume-pyspy-") as tmp:
        out = Path(tmp) / "stacks.txt"
        procs: list[subprocess.Popen[bytes]] = []

        def start() -> None:
            argv = [str(spy), "record", "--pid", str(os.getpid()), "--rate", str(rate), "--full-filenames", "-f", "raw"]
            argv += ["-o", str(out)]
            procs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))

        def stop() -> None:
            os.kill(procs[0].pid, signal.SIGINT)

        anyio.run(memory_supervisor, total, total // 10, total - total // 10, concurrency, (start, stop))
        _, err = procs[0].communicate(timeout=30)
        if not out.exists():
            raise RuntimeError(f"py-spy wrote nothing (exit {procs[0].returncode}): {err.decode(errors='replace')}")
        return _collapsed(out.read_text())


def _collapsed(text: str) -> tuple[list[tuple[str, float, float]], dict[str, float]]:
    """Own and cumulative shares per function; the areas' own time; and, under ``"via "`` keys of the areas,
    each sample charged to its innermost runtime function and what that function was calling."""
    own: dict[str, int] = {}
    cum: dict[str, int] = {}
    areas: dict[str, float] = {}
    via: dict[str, int] = {}
    total = 0
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        total += count
        frames = [_frame(f) for f in stack.split(";") if f]
        if not frames:
            continue
        leaf = frames[-1]
        own[leaf[0]] = own.get(leaf[0], 0) + count
        areas[_area(leaf[1])] = areas.get(_area(leaf[1]), 0) + count
        for name in {name for name, _ in frames}:
            cum[name] = cum.get(name, 0) + count
        inner = [i for i, (_, path) in enumerate(frames) if "/consumerkit/runtime/" in path]
        if inner:
            i = inner[-1]
            below = frames[i + 1][0] if i + 1 < len(frames) else "(itself)"
            key = f"via {frames[i][0].removeprefix('consumerkit/runtime/')} → {below}"
            via[key] = via.get(key, 0) + count
    total = total or 1
    rows = sorted(((n, own.get(n, 0) / total, c / total) for n, c in cum.items()), key=lambda r: (-r[1], -r[2]))
    shares = {k: v / total for k, v in sorted(areas.items(), key=lambda kv: -kv[1])}
    shares.update({k: v / total for k, v in sorted(via.items(), key=lambda kv: -kv[1])})
    return rows, shares


def _frame(text: str) -> tuple[str, str]:
    """``func (path:line)`` → (``short/path:func``, path)."""
    func, _, where = text.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    return f"{_short(path)}:{func}", path
