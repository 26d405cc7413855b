"""The in-flight quota: SQS answers a standard short poll with OverLimit (403) once ≈120,000 messages are in
flight; a long poll, and any FIFO receive, just gets nothing. A small cap stands in for 120,000 here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

import anyio
import pytest

from consumerkit.engine import Engine, ManualClock, SendEntry, SqsError
from tests.engine.conftest import WIRE
from tests.engine.wire import served


@pytest.fixture
async def capped(store_kind: str, store_url: str, clock: ManualClock) -> AsyncIterator[Engine]:
    async with Engine.open(store_url, clock, max_in_flight=3) as sqs:
        if store_kind != WIRE:
            yield sqs
            return
        async with served(sqs) as wire:  # OverLimit must cross the wire as SQS sends it: 403
            yield cast(Engine, wire)


async def _fill(engine: Engine, url: str, count: int, group: str | None = None) -> None:
    entries = [
        SendEntry(f"m{i}", id=str(i), group_id=group, deduplication_id=group and f"{group}{i}") for i in range(count)
    ]
    result = await engine.send_message_batch(url, entries)
    assert not result.failed


async def test_default_quota_is_sqs_s_120000(engine: Engine) -> None:
    assert engine.max_in_flight == 120_000


async def test_standard_short_poll_over_the_limit_is_over_limit(capped: Engine, clock: ManualClock) -> None:
    url = await capped.create_queue("jobs")
    await _fill(capped, url, 5)
    assert len(await capped.receive_message(url, max_messages=3)) == 3
    clock.advance(1)  # the quota is checked at most once a second per queue
    with pytest.raises(SqsError) as info:
        await capped.receive_message(url)
    assert (info.value.shape, info.value.code, info.value.status) == ("OverLimit", "OverLimit", 403)
    assert "3 in-flight messages" in info.value.message


async def test_long_poll_over_the_limit_gets_nothing_without_error(capped: Engine, clock: ManualClock) -> None:
    url = await capped.create_queue("jobs")
    await _fill(capped, url, 5)
    await capped.receive_message(url, max_messages=3, visibility_timeout=600)
    clock.advance(1)
    async with anyio.create_task_group() as tg:
        got: list[object] = []

        async def poll() -> None:
            got.extend(await capped.receive_message(url, wait_time_seconds=5))

        tg.start_soon(poll)
        await anyio.wait_all_tasks_blocked()
        clock.advance(5)
    assert got == []


async def test_fifo_over_the_limit_gets_nothing_without_error(capped: Engine, clock: ManualClock) -> None:
    url = await capped.create_queue("jobs.fifo", {"FifoQueue": "true"})
    for group in ("a", "b", "c", "d"):
        await _fill(capped, url, 1, group)
    assert len(await capped.receive_message(url, max_messages=3)) == 3
    clock.advance(1)
    assert await capped.receive_message(url) == []


async def test_deleting_brings_the_queue_back_under_the_limit(capped: Engine, clock: ManualClock) -> None:
    url = await capped.create_queue("jobs")
    await _fill(capped, url, 5)
    received = await capped.receive_message(url, max_messages=3)
    clock.advance(1)
    with pytest.raises(SqsError):
        await capped.receive_message(url)
    await capped.delete_message(url, received[0].receipt_handle)
    clock.advance(1)
    assert len(await capped.receive_message(url)) == 1


async def test_quota_can_be_switched_off(store_url: str, clock: ManualClock) -> None:
    async with Engine.open(store_url, clock, max_in_flight=None) as sqs:
        url = await sqs.create_queue("jobs")
        await _fill(sqs, url, 5)
        await sqs.receive_message(url, max_messages=3)
        clock.advance(1)
        assert len(await sqs.receive_message(url, max_messages=2)) == 2
