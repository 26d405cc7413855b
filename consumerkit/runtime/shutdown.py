"""Signals → drain: the first SIGTERM or SIGINT starts the graceful drain, a second one releases at once.

Platforms send SIGTERM and wait a budget (30 s by default on ECS and Kubernetes, 10 s for ``docker stop``)
before SIGKILL; the drain timeout is chosen to fit inside it with time left to release what could not finish.
"""

from __future__ import annotations

import signal

import anyio
import structlog

from consumerkit.runtime.supervisor import Supervisor

__all__ = ["watch_signals"]

log = structlog.get_logger("consumerkit.shutdown")


async def watch_signals(supervisor: Supervisor) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        count = 0
        async for signum in signals:
            count += 1
            name = signal.Signals(signum).name
            if count == 1:
                log.info("signal received: draining", signal=name)
                supervisor.stop()
            else:
                log.warning("second signal: releasing running jobs now", signal=name)
                supervisor.stop(immediate=True)
