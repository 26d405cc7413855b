"""A real ``consumerkit serve`` process for tests: started on a free 127.0.0.1 port, stopped by its pid."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

READY_PREFIX = "listening on "


@dataclass(frozen=True)
class Served:
    url: str
    process: subprocess.Popen[str]

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


@contextmanager
def consumerkit_serve(*args: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """Run ``consumerkit serve --port 0 ARGS``; yield once it says where it listens; SIGTERM it after.

    The server chooses its own free port (port 0) and prints the address only once it listens, so there is no
    race on the port and nothing to poll. On exit it must stop cleanly: exit status 0.
    """
    command = [sys.executable, "-m", "consumerkit", "serve", "--port", "0", *args]
    # stderr to a file, not a pipe: nobody reads it while the server runs, and a full pipe would block the server
    errors = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed below, after the process has exited)
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=errors, text=True, env={**os.environ, **(env or {})}
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # blocks until the server listens, or exits
        if not line.startswith(READY_PREFIX):
            process.kill()
            process.wait(timeout=10)
            errors.seek(0)
            raise AssertionError(f"consumerkit serve did not start: {line!r} {errors.read()[-2000:]}")
        yield Served(line.removeprefix(READY_PREFIX).strip(), process)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError("consumerkit serve did not stop within 15 s of SIGTERM") from None
        finally:
            errors.close()
