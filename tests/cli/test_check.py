"""``consumerkit check``: exit 0 when a worker's /livez answers 200, else 1 with one line saying why."""

from __future__ import annotations

import subprocess
import sys

import anyio
from click.testing import CliRunner, Result

from consumerkit import App, Message
from consumerkit.backends import LocalBackend
from consumerkit.cli.check import check_command
from consumerkit.clock import ManualClock
from consumerkit.engine import Engine
from consumerkit.observability import http_service
from tests.fixtures.backends import free_port
from tests.runtime.harness import WAIT, running


async def check(*args: str, env: dict[str, str] | None = None) -> Result:
    """The command in a thread: the worker's event loop must go on to answer it."""
    return await anyio.to_thread.run_sync(lambda: CliRunner().invoke(check_command, list(args), env=env))


async def test_a_live_worker_passes_and_a_stopped_one_fails(queue_name: str) -> None:
    clock = ManualClock()
    app = App()

    @app.handler(queue_name)
    async def encode(message: Message) -> None:
        pass

    listening = anyio.Event()
    service = http_service(port=0, on_listening=lambda url: listening.set())
    async with Engine.open("memory://", clock) as engine, anyio.create_task_group() as tg:
        async with running(app, LocalBackend(engine), clock=clock) as (supervisor, _):
            tg.start_soon(service, supervisor)  # apart from the app, so that it outlives the supervisor
            with anyio.fail_after(WAIT):
                await listening.wait()
            passed = await check("--url", f"{service.url}/livez")
            by_env = await check(env={"CONSUMERKIT_HTTP_PORT": str(service.port)})
        failed = await check("--port", str(service.port), "--timeout", "5")
        tg.cancel_scope.cancel()
    assert (passed.exit_code, passed.stdout) == (0, f"ok: {service.url}/livez: live\n")
    assert by_env.exit_code == 0 and f"127.0.0.1:{service.port}/livez" in by_env.stdout
    assert failed.exit_code == 1
    assert failed.stderr == f"consumerkit check: {service.url}/livez: 503: not live: stopped\n"


def test_nothing_listening_fails_with_one_line() -> None:
    port = free_port()
    result = CliRunner().invoke(check_command, ["--port", str(port), "--timeout", "2"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"consumerkit check: http://127.0.0.1:{port}/livez: no answer (")
    assert result.stderr.count("\n") == 1


def test_as_a_process_it_exits_1_for_a_health_check() -> None:
    """What Docker's HEALTHCHECK runs: a real process and its exit status (0 healthy, 1 unhealthy)."""
    code = "from consumerkit.cli.check import check_command; check_command(prog_name='consumerkit check')"
    url = f"http://127.0.0.1:{free_port()}/livez"
    done = subprocess.run([sys.executable, "-c", code, "--url", url], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.startswith(f"consumerkit check: {url}: no answer (") and done.stdout == ""


async def test_the_workers_host_setting_is_read_and_any_address_means_loopback(queue_name: str) -> None:
    """One CONSUMERKIT_HTTP_HOST in the image serves the worker and its health check alike."""
    for host, asked in (("127.0.0.2", "127.0.0.2"), ("0.0.0.0", "127.0.0.1")):
        clock, app, listening = ManualClock(), App(), anyio.Event()

        @app.handler(queue_name)
        async def encode(message: Message) -> None:
            pass

        service = http_service(host=host, port=0, on_listening=lambda url, ready=listening: ready.set())
        app.add_service(service)
        async with Engine.open("memory://", clock) as engine, running(app, LocalBackend(engine), clock=clock):
            with anyio.fail_after(WAIT):
                await listening.wait()
            result = await check(env={"CONSUMERKIT_HTTP_HOST": host, "CONSUMERKIT_HTTP_PORT": str(service.port)})
        assert result.exit_code == 0, result.output
        assert f"http://{asked}:{service.port}/livez" in result.stdout
