"""Servers for the wire tests: one real ``consumerkit serve`` process per test module."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.engine.server.clients import client_env
from tests.engine.server.serving import Served, consumerkit_serve


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with consumerkit_serve("--backend", "memory://") as server:
        yield server
    assert server.process.returncode == 0, "consumerkit serve must exit 0 on SIGTERM"


@pytest.fixture(scope="module")
def aws_env() -> Iterator[None]:
    """In-process SDK clients see dummy credentials and none of a real AWS setup on this machine."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(("AWS_", "BOTO_")):
                patch.delenv(name)
        for name, value in client_env().items():
            if name.startswith("AWS_"):
                patch.setenv(name, value)
        yield


@dataclass(frozen=True)
class Socket:
    local_port: int
    remote_port: int
    tx_queue: int  # bytes sent but not yet acknowledged by the peer
    rx_queue: int  # bytes received but not yet read by the process


@pytest.fixture
def established() -> Callable[[int], tuple[list[Socket], list[Socket]]]:
    """Read the kernel's table of established IPv4 TCP connections (/proc/net/tcp) for a server port: returns
    (server ends, client ends). No psutil needed; Linux only, as the server tests are."""

    def read(port: int) -> tuple[list[Socket], list[Socket]]:
        server: list[Socket] = []
        client: list[Socket] = []
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, state, queues = fields[1], fields[2], fields[3], fields[4]
            if state != "01":  # TCP_ESTABLISHED
                continue
            tx, rx = (int(n, 16) for n in queues.split(":"))
            socket = Socket(int(local.split(":")[1], 16), int(remote.split(":")[1], 16), tx, rx)
            if socket.local_port == port:
                server.append(socket)
            elif socket.remote_port == port:
                client.append(socket)
        return server, client

    return read
