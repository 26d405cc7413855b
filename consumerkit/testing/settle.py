"""Waiting until a worker has done everything it can do without time passing.

The runner moves a manual clock only once every other task is parked (on the clock, an event, a thread, a
socket): moving it earlier would jump past work that was already due. anyio's ``wait_all_tasks_blocked`` says
the same thing, but on asyncio it sleeps a tenth of a second between looks, and a run with many retries takes
hundreds of steps; this one only yields to the loop. It reads asyncio's own tasks, so the runner needs asyncio
(pytest-asyncio, or anyio's plugin on its asyncio backend).
"""

from __future__ import annotations

import asyncio

from consumerkit.errors import ConfigError

__all__ = ["wait_until_blocked"]

# Rounds of the event loop in a row with every task parked before we believe it. A task that has just ended
# wakes whoever awaits it through a callback scheduled for the loop's next round, so one look can fall between.
QUIET_ROUNDS = 3
MAX_ROUNDS = 100_000


async def wait_until_blocked() -> None:
    """Return once every other task of the event loop waits on something not yet done."""
    try:
        me = asyncio.current_task()
    except RuntimeError:
        raise ConfigError("consumerkit.testing's runner needs asyncio; this test runs on another event loop") from None
    quiet = 0
    for _ in range(MAX_ROUNDS):
        await asyncio.sleep(0)
        busy = any(task is not me and not _parked(task) for task in asyncio.all_tasks())
        quiet = 0 if busy else quiet + 1
        if quiet == QUIET_ROUNDS:
            return
    raise RuntimeError(f"the worker's tasks were still busy after {MAX_ROUNDS} rounds of the event loop")


def _parked(task: asyncio.Task[object]) -> bool:
    # the future a task awaits is asyncio's own (private) field; anyio reads it the same way
    waiting_on = getattr(task, "_fut_waiter", None)
    return waiting_on is not None and not waiting_on.done()
