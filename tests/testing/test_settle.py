"""wait_until_blocked returns only once every other task is parked, however many loop rounds that takes."""

from __future__ import annotations

import anyio
import anyio.lowlevel

from consumerkit.testing.settle import wait_until_blocked


async def test_returns_once_the_other_tasks_are_parked() -> None:
    steps: list[int] = []
    parked = anyio.Event()

    async def busy() -> None:
        for n in range(500):  # many rounds of the loop without ever blocking
            steps.append(n)
            await anyio.lowlevel.checkpoint()
        await parked.wait()

    async with anyio.create_task_group() as tg:
        tg.start_soon(busy)
        await wait_until_blocked()
        assert len(steps) == 500
        parked.set()


async def test_a_task_woken_meanwhile_runs_before_it_returns() -> None:
    woken = anyio.Event()
    done: list[str] = []

    async def waiter() -> None:
        await woken.wait()
        done.append("ran")

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter)
        await wait_until_blocked()
        woken.set()
        await wait_until_blocked()
        assert done == ["ran"]
