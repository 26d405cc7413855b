"""Wire throughput of ``consumerkit serve`` against moto and a canned server, and its idle long-poll cost (issue 3).

Run: ``python bench/wire.py [--quick]``. Prints a table, then as its last line one JSON object with the same
figures. Each server is a subprocess on a free 127.0.0.1 port, stopped by its pid at the end, error or not:

- ``memory``: ``consumerkit serve --backend memory://``               (a)
- ``sqlite``: ``consumerkit serve --backend sqlite:///<tmpdir>/q.db``  (b)
- ``moto``:   ``moto_server -H 127.0.0.1 -p PORT``                     (c)
- ``canned``: ``bench/canned_server.py``, valid answers at once: the client's own ceiling (d)

One aiobotocore client and the same loop for all four: ``--workers`` concurrent workers, each repeating
send_message_batch(10) → receive_message(MaxNumberOfMessages=10) → delete_message_batch(what it got), timed
for ``--duration`` seconds after ``--warmup`` seconds of the same. Messages/s counts messages fully cycled
(sent, received and deleted); requests/s every API call. With two or more cores the client is pinned to one and
the servers to another, so each side has a core of its own (``--no-pin`` to turn that off).

Idle long polls: against a fresh (a) and (b), ``--polls`` concurrent ReceiveMessage(WaitTimeSeconds=20) on an
empty queue; once the server holds one socket for each, its CPU time (``/proc/<pid>/stat``) over ``--idle-window``
seconds, as a share of one core. The polls must stay open throughout, and a message sent afterwards must wake
exactly one of them.

Targets: (a) ≥ 20× (c) and (a) ≥ 60 % of (d) in messages/s; 1,000 idle long polls under 2 % of a core.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

ROOT = Path(__file__).resolve().parent.parent
BODY = '{"video": "s3://bucket/input/clip-0001.mp4", "preset": "1080p"}'
LISTENING = re.compile(rb"listening on (https?://\S+)")
TICKS = os.sysconf("SC_CLK_TCK")
SERVERS = ("canned", "memory", "sqlite", "moto")
IDLE_SERVERS = ("memory", "sqlite")
TARGET_OVER_MOTO = 20.0
TARGET_OF_CANNED = 0.6
TARGET_IDLE_SHARE = 0.02
_PER_SERVER = (
    "msgs_per_s",
    "msgs_per_s_min",
    "msgs_per_s_max",
    "reqs_per_s",
    "server_core_share",
    "client_core_share",
    "server_us_per_req",
    "client_us_per_req",
)


# ----------------------------------------------------------------------------------------------- servers


@dataclass
class Server:
    name: str
    url: str
    proc: subprocess.Popen[bytes]
    stderr_path: Path
    exit_code: int | None = field(default=None)
    killed: bool = field(default=False)

    @property
    def pid(self) -> int:
        return self.proc.pid


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _tail(path: Path, limit: int = 2_000) -> str:
    try:
        return path.read_bytes()[-limit:].decode(errors="replace").strip()
    except OSError:
        return ""


def _read_listening_line(proc: subprocess.Popen[bytes], wait: float) -> str:
    """The URL from the server's first stdout line, ``listening on URL``, within ``wait`` seconds."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + wait
    line = b""
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while b"\n" not in line:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no 'listening on' line on stdout within {wait:g} s (is it flushed?)")
            if not sel.select(left):
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                raise RuntimeError(f"server exited (code {proc.wait()}) before printing 'listening on'")
            line += chunk
    first = line.split(b"\n", 1)[0]
    match = LISTENING.match(first.strip())
    if match is None:
        raise RuntimeError(f"first stdout line is not 'listening on URL': {first!r}")
    return match.group(1).decode()


def _wait_answering(url: str, proc: subprocess.Popen[bytes], wait: float) -> None:
    """Poll ``url`` until it answers any HTTP response (for servers without a ready line, i.e. moto)."""
    deadline = time.monotonic() + wait
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited (code {proc.returncode}) before answering")
        try:
            with urllib.request.urlopen(url + "/", timeout=1.0):
                return
        except urllib.error.HTTPError:
            return  # an error status is still an answer
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {wait:g} s") from None
            time.sleep(0.1)


def _drain(stream: IO[bytes]) -> None:
    """Read a server's stdout to its end, so a chatty server never blocks on a full pipe."""
    with contextlib.suppress(OSError, ValueError):
        while stream.read(65536):
            pass


def _stop(server_proc: subprocess.Popen[bytes]) -> tuple[int, bool]:
    """SIGTERM by pid, then SIGKILL if it has not exited within 10 s; its exit code and whether it was killed."""
    if server_proc.poll() is not None:
        return server_proc.returncode, False
    os.kill(server_proc.pid, signal.SIGTERM)
    try:
        return server_proc.wait(10), False
    except subprocess.TimeoutExpired:
        os.kill(server_proc.pid, signal.SIGKILL)
        return server_proc.wait(), True


@contextlib.contextmanager
def running(
    name: str, argv: list[str], workdir: Path, cpus: set[int] | None, port: int | None = None, wait: float = 30.0
) -> Iterator[Server]:
    """Start a server subprocess and yield it once ready; always stop it by its pid on the way out.

    Ready means its first stdout line ``listening on URL`` or, with ``port`` given (moto), answering HTTP there.
    """
    stderr_path = workdir / f"{name}-{uuid.uuid4().hex[:8]}.stderr"
    with stderr_path.open("wb") as stderr:
        proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr)
    server: Server | None = None
    try:
        if cpus:
            os.sched_setaffinity(proc.pid, cpus)  # before it starts any thread, so all of them inherit it
        if port is None:
            url = _read_listening_line(proc, wait)
        else:
            url = f"http://127.0.0.1:{port}"
            _wait_answering(url, proc, wait)
        assert proc.stdout is not None
        threading.Thread(target=_drain, args=(proc.stdout,), daemon=True).start()
        server = Server(name, url, proc, stderr_path)
        yield server
    except Exception as exc:
        tail = _tail(stderr_path)
        if tail and server is None:
            exc.add_note(f"{name} stderr:\n{tail}")
        raise
    finally:
        code, killed = _stop(proc)
        if server is not None:
            server.exit_code, server.killed = code, killed


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads included."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime: fields 14 and 15 of the whole line


def _socket_count(pid: int) -> int:
    """Sockets a process holds open (accepted connections among them)."""
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            count += os.readlink(fd).startswith("socket:")
    return count


# ----------------------------------------------------------------------------------------------- client


def _client_config(connections: int, read_timeout: float = 60.0) -> AioConfig:
    return AioConfig(
        max_pool_connections=connections,
        read_timeout=read_timeout,
        connect_timeout=10,
        retries={"mode": "standard", "total_max_attempts": 1},  # an error must show, not be retried away
    )


def _client(url: str, config: AioConfig) -> Any:
    return get_session().create_client(
        "sqs",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=config,
    )


@dataclass
class Tally:
    """One server's timed windows, summed over the rounds."""

    wall: float = 0.0
    messages: int = 0
    requests: int = 0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    machine_cpu: float = 0.0
    rates: list[float] = field(default_factory=list)


def _machine_cpu_seconds() -> float:
    """CPU time every core of the machine has spent busy since boot (``/proc/stat``)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values
    return (user + nice + system + irq + softirq + steal) / TICKS


def _snapshot(pid: int, counts: dict[str, int]) -> tuple[float, float, float, float, int, int]:
    return (
        time.perf_counter(),
        time.process_time(),
        _cpu_seconds(pid),
        _machine_cpu_seconds(),
        counts["messages"],
        counts["requests"],
    )


async def _window(
    sqs: Any, queue: str, pid: int, workers: int, warmup: float, duration: float, wait: int, tally: Tally
) -> None:
    """``workers`` concurrent send(10) → receive(10) → delete(10) loops: ``warmup`` s untimed, then ``duration`` s
    timed into ``tally``; the loops then finish their cycle, so no message is left in flight."""
    entries = [{"Id": str(i), "MessageBody": BODY} for i in range(10)]
    counts = {"messages": 0, "requests": 0}
    stop = asyncio.Event()

    async def worker() -> None:
        while not stop.is_set():
            sent = await sqs.send_message_batch(QueueUrl=queue, Entries=entries)
            if sent.get("Failed"):
                raise RuntimeError(f"send_message_batch failed entries: {sent['Failed']}")
            got = await sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=wait)
            counts["requests"] += 2
            messages = got.get("Messages", ())
            if messages:
                await delete_received(sqs, queue, messages, counts)

    async with asyncio.TaskGroup() as tg:
        for _ in range(workers):
            tg.create_task(worker())
        await asyncio.sleep(warmup)
        start = _snapshot(pid, counts)
        await asyncio.sleep(duration)
        end = _snapshot(pid, counts)
        stop.set()
    wall = end[0] - start[0]
    tally.wall += wall
    tally.client_cpu += end[1] - start[1]
    tally.server_cpu += end[2] - start[2]
    tally.machine_cpu += end[3] - start[3]
    tally.messages += end[4] - start[4]
    tally.requests += end[5] - start[5]
    tally.rates.append((end[4] - start[4]) / wall)


async def throughput(servers: list[Server], args: argparse.Namespace, errors: dict[str, str]) -> dict[str, Tally]:
    """The same loop against every server, in ``args.rounds`` interleaved rounds, so that a change in the
    machine's background load during the run weighs on all of them alike."""
    tallies: dict[str, Tally] = {}
    async with contextlib.AsyncExitStack() as stack:
        live: dict[str, tuple[Server, Any, str]] = {}
        for server in servers:
            try:
                sqs = await stack.enter_async_context(_client(server.url, _client_config(args.workers + 4)))
                queue = (await sqs.create_queue(QueueName=f"wire-{uuid.uuid4().hex[:8]}"))["QueueUrl"]
            except Exception as exc:
                errors[server.name] = _describe(exc)
                continue
            live[server.name] = (server, sqs, queue)
            tallies[server.name] = Tally()
        for round_ in range(args.rounds):
            warmup = args.warmup if round_ == 0 else min(args.warmup, 0.3)
            for name, (server, sqs, queue) in list(live.items()):
                try:
                    await _window(
                        sqs,
                        queue,
                        server.pid,
                        args.workers,
                        warmup,
                        args.duration / args.rounds,
                        args.wait,
                        tallies[name],
                    )
                except Exception as exc:
                    errors[name] = _describe(exc)
                    del live[name], tallies[name]
    return tallies


async def idle_long_polls(url: str, pid: int, polls: int, settle: float, window: float, wait: int) -> dict[str, float]:
    """Server CPU share while ``polls`` long polls wait on an empty queue, and checks that they really wait."""
    baseline = _socket_count(pid)  # a fresh server: its listening socket(s), no connection yet
    async with _client(url, _client_config(polls + 16, read_timeout=wait + 30)) as sqs:
        queue = (await sqs.create_queue(QueueName=f"idle-{uuid.uuid4().hex[:8]}"))["QueueUrl"]

        async def poll() -> int:
            got = await sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1, WaitTimeSeconds=wait)
            return len(got.get("Messages", ()))

        opened = time.perf_counter()
        tasks = [asyncio.create_task(poll()) for _ in range(polls)]
        try:
            held = 0
            while time.perf_counter() - opened < 15.0:  # the server must accept every connection by then
                held = _socket_count(pid) - baseline
                if held >= polls or any(t.done() for t in tasks):
                    break
                await asyncio.sleep(0.1)
            accepted = time.perf_counter() - opened
            await asyncio.sleep(settle)  # let the last requests arrive and park
            cpu0, t0 = _cpu_seconds(pid), time.perf_counter()
            await asyncio.sleep(window)
            cpu1, t1 = _cpu_seconds(pid), time.perf_counter()
            held_after = _socket_count(pid) - baseline
            early = sum(t.done() for t in tasks)
            failed = sum(1 for t in tasks if t.done() and t.exception() is not None)
            if t1 - opened > wait - 1:
                raise RuntimeError(f"opening + settle + window took {t1 - opened:.1f} s, not within WaitTimeSeconds")
            # A message sent now must wake exactly one poll, at once.
            sent = time.perf_counter()
            await sqs.send_message(QueueUrl=queue, MessageBody=BODY)
            await asyncio.wait(tasks, timeout=5.0, return_when=asyncio.FIRST_COMPLETED)
            woke_after = time.perf_counter() - sent
            await asyncio.sleep(0.5)
            done = [t for t in tasks if t.done()]
            delivered = sum(t.result() for t in done if t.exception() is None)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "idle_core_share": (cpu1 - cpu0) / (t1 - t0),
        "idle_polls_held": held_after,
        "idle_polls_held_at_start": held,
        "idle_polls_accept_s": accepted,
        "idle_polls_returned_early": early,
        "idle_polls_failed": failed,
        "idle_wake_ms": woke_after * 1000,
        "idle_wake_returned": len(done) - early,
        "idle_wake_delivered": delivered,
    }


# ----------------------------------------------------------------------------------------------- the run


def _argv(name: str, tmp: Path, port: int | None) -> list[str]:
    python = sys.executable
    if name == "memory":
        return [python, "-m", "consumerkit", "serve", "--backend", "memory://", "--host", "127.0.0.1", "--port", "0"]
    if name == "sqlite":
        backend = f"sqlite:///{tmp}/q-{uuid.uuid4().hex[:8]}.db"
        return [python, "-m", "consumerkit", "serve", "--backend", backend, "--host", "127.0.0.1", "--port", "0"]
    if name == "moto":
        moto = Path(python).with_name("moto_server")
        if not moto.exists():
            raise FileNotFoundError(f"{moto} not found (pip install 'moto[server]')")
        return [str(moto), "-H", "127.0.0.1", "-p", str(port)]
    return [python, str(ROOT / "bench" / "canned_server.py"), "--host", "127.0.0.1", "--port", "0"]


def _cpu_split(pin: bool) -> tuple[set[int] | None, set[int] | None]:
    """One core for the client, another for the servers, when there are two."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if not pin or len(cpus) < 2:
        return None, None
    return {cpus[0]}, {cpus[1]}


def _raise_fd_limit() -> None:
    """1,000 polls need 1,000 sockets on each side; servers inherit the raised limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def _describe(exc: BaseException) -> str:
    """One line per error, the ones inside a task group's ExceptionGroup included, with any notes."""
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in exc.exceptions)
    return f"{type(exc).__name__}: {exc}" + "".join(f"\n  {n}" for n in getattr(exc, "__notes__", ()))


def _sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through every ``running`` block, which stops its server


def run(args: argparse.Namespace) -> tuple[dict[str, float], dict[str, str]]:
    _raise_fd_limit()
    client_cpus, server_cpus = _cpu_split(not args.no_pin)
    if client_cpus:
        os.sched_setaffinity(0, client_cpus)
    figures: dict[str, float] = {"workers": args.workers, "timed_s_per_server": args.duration, "rounds": args.rounds}
    errors: dict[str, str] = {}
    notes: dict[str, str] = {}

    def note_stop(server: Server) -> None:
        graceful = (0, -signal.SIGTERM) if server.name == "moto" else (0,)  # moto has no SIGTERM handler
        if server.killed or server.exit_code not in graceful:
            notes[server.name] = f"exit code {server.exit_code}{' after SIGKILL' if server.killed else ''} on SIGTERM"

    with tempfile.TemporaryDirectory(prefix="wire-bench-") as tmpdir:
        tmp = Path(tmpdir)
        started: list[Server] = []
        with contextlib.ExitStack() as stack:
            for name in args.servers:
                port = _free_port() if name == "moto" else None
                try:
                    started.append(stack.enter_context(running(name, _argv(name, tmp, port), tmp, server_cpus, port)))
                except Exception as exc:
                    errors[name] = _describe(exc)
            tallies = asyncio.run(throughput(started, args, errors))
        for server in started:
            note_stop(server)
        machine = wall = 0.0
        for name, t in tallies.items():
            figures[f"{name}_msgs_per_s"] = t.messages / t.wall
            figures[f"{name}_msgs_per_s_min"] = min(t.rates)
            figures[f"{name}_msgs_per_s_max"] = max(t.rates)
            figures[f"{name}_reqs_per_s"] = t.requests / t.wall
            figures[f"{name}_server_core_share"] = t.server_cpu / t.wall
            figures[f"{name}_client_core_share"] = t.client_cpu / t.wall
            figures[f"{name}_server_us_per_req"] = t.server_cpu / max(t.requests, 1) * 1e6
            figures[f"{name}_client_us_per_req"] = t.client_cpu / max(t.requests, 1) * 1e6
            machine += t.machine_cpu - t.client_cpu - t.server_cpu
            wall += t.wall
        if wall:
            figures["background_core_share"] = max(0.0, machine / wall)  # everything else on the machine meanwhile
        if args.polls:
            figures["idle_long_polls"] = args.polls
            figures["idle_window_s"] = args.idle_window
        for name in IDLE_SERVERS if args.polls else ():
            if name not in args.servers:
                continue
            try:
                with running(name, _argv(name, tmp, None), tmp, server_cpus) as server:
                    result = asyncio.run(idle_long_polls(server.url, server.pid, args.polls, 1.0, args.idle_window, 20))
                note_stop(server)
                figures.update({f"{name}_{k}": v for k, v in result.items()})
            except Exception as exc:
                errors[f"{name} idle"] = _describe(exc)
    for a, b in (("memory", "moto"), ("memory", "canned"), ("sqlite", "canned"), ("sqlite", "moto")):
        if f"{a}_msgs_per_s" in figures and f"{b}_msgs_per_s" in figures:
            figures[f"{a}_over_{b}"] = figures[f"{a}_msgs_per_s"] / figures[f"{b}_msgs_per_s"]
    if client_cpus and server_cpus:
        notes["pinning"] = f"client on CPU {min(client_cpus)}, servers on CPU {min(server_cpus)}"
    if figures.get("background_core_share", 0.0) > 0.1:
        notes["background"] = (
            f"other processes used {figures['background_core_share']:.0%} of a core during the timed windows; "
            "the figures are noisier than usual"
        )
    errors.update({f"note: {k}": v for k, v in notes.items()})
    return figures, errors


def _targets(polls: int) -> dict[str, tuple[str, float]]:
    targets = {"memory_over_moto": (">=", TARGET_OVER_MOTO), "memory_over_canned": (">=", TARGET_OF_CANNED)}
    for name in IDLE_SERVERS:
        targets[f"{name}_idle_core_share"] = ("<=", TARGET_IDLE_SHARE)
        targets[f"{name}_idle_polls_held"] = (">=", polls)
        targets[f"{name}_idle_polls_returned_early"] = ("<=", 0)
        targets[f"{name}_idle_polls_failed"] = ("<=", 0)
        targets[f"{name}_idle_wake_delivered"] = (">=", 1)
        targets[f"{name}_idle_wake_returned"] = ("<=", 1)
    return targets


def report(figures: dict[str, float], errors: dict[str, str], polls: int) -> None:
    rows = [
        ("server", "msg/s", "rounds' range", "req/s", "server core", "client core", "server µs/req", "client µs/req")
    ]
    for name in SERVERS:
        if f"{name}_msgs_per_s" in figures:
            f = {k.removeprefix(f"{name}_"): v for k, v in figures.items() if k.startswith(f"{name}_")}
            rows.append(
                (
                    name,
                    f"{f['msgs_per_s']:,.0f}",
                    f"{f['msgs_per_s_min']:,.0f}–{f['msgs_per_s_max']:,.0f}",
                    f"{f['reqs_per_s']:,.0f}",
                    f"{f['server_core_share']:.0%}",
                    f"{f['client_core_share']:.0%}",
                    f"{f['server_us_per_req']:,.0f}",
                    f"{f['client_us_per_req']:,.0f}",
                )
            )
    for row in rows:
        print(f"{row[0]:8} {row[1]:>9} {row[2]:>15} {row[3]:>8} {row[4]:>12} {row[5]:>12} {row[6]:>14} {row[7]:>14}")
    print()
    targets = _targets(polls)
    shown = {f"{name}_{k}" for name in SERVERS for k in _PER_SERVER}
    print(f"{'figure':40} {'value':>12} {'target':>10}  ok")
    misses = []
    for key, value in figures.items():
        if key in shown:
            continue
        op, limit = targets.get(key, ("", 0.0))
        ok = "" if not op else ("yes" if (value >= limit if op == ">=" else value <= limit) else "NO")
        if ok == "NO":
            misses.append(key)
        print(f"{key:40} {value:12.4g} {f'{op} {limit:g}' if op else '':>10}  {ok}")
    missing = [k for k in ("memory_over_moto", "memory_over_canned") if k not in figures]
    missing += [f"{n}_idle_core_share" for n in IDLE_SERVERS if polls and f"{n}_idle_core_share" not in figures]
    for key in missing:
        print(f"{key:40} {'—':>12} {'':>10}  NO (not measured)")
    for key, message in errors.items():
        print(f"{key}: {message}", file=sys.stderr if not key.startswith("note:") else sys.stdout)
    print(f"targets: {'all met' if not misses + missing else 'MISSED ' + ', '.join(misses + missing)}")
    print(json.dumps({k: round(v, 4) for k, v in figures.items()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timings (3 s per server, 5 s idle window)")
    parser.add_argument("--workers", type=int, default=8, help="concurrent send/receive/delete loops (default 8)")
    parser.add_argument("--warmup", type=float, default=None, help="seconds of untimed cycles (default 1.5; quick 1)")
    parser.add_argument("--duration", type=float, default=None, help="timed seconds per server (default 8; quick 3)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds per server (default 4; quick 2)")
    parser.add_argument("--wait", type=int, default=0, choices=(0, 1), help="WaitTimeSeconds of the receives")
    parser.add_argument("--polls", type=int, default=1000, help="idle long polls; 0 to skip (default 1000)")
    parser.add_argument("--idle-window", type=float, default=None, help="idle CPU window, s (default 8; quick 5)")
    parser.add_argument("--servers", default=",".join(SERVERS), help=f"comma-separated subset of {','.join(SERVERS)}")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the client and servers to separate cores")
    args = parser.parse_args()
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 1.5)
    args.duration = args.duration if args.duration is not None else (3.0 if args.quick else 8.0)
    args.rounds = max(1, args.rounds if args.rounds is not None else (2 if args.quick else 4))
    args.idle_window = args.idle_window if args.idle_window is not None else (5.0 if args.quick else 8.0)
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = set(args.servers) - set(SERVERS)
    if unknown:
        parser.error(f"unknown servers: {', '.join(sorted(unknown))}")
    signal.signal(signal.SIGTERM, _sigterm)
    figures, errors = run(args)
    report(figures, errors, args.polls)


async def delete_received(sqs: Any, queue: str, messages: Sequence[dict[str, Any]], counts: dict[str, int]) -> None:
    """One DeleteMessageBatch for what a receive returned; counts the request and the messages deleted."""
    deleted = await sqs.delete_message_batch(
        QueueUrl=queue,
        Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
    )
    if deleted.get("Failed"):
        raise RuntimeError(f"delete_message_batch failed entries: {deleted['Failed']}")
    counts["requests"] += 1
    counts["messages"] += len(deleted.get("Successful", ()))


if __name__ == "__main__":
    main()
