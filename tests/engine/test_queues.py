"""CreateQueue, GetQueueUrl, ListQueues and DeleteQueue: names, idempotency, URLs, paging and the 60 s rules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from consumerkit.engine import Engine, ManualClock
from tests.engine.expect import fails

BASE = "http://localhost:9324/000000000000"


async def count(engine: Engine, url: str) -> int:
    return int((await engine.get_queue_attributes(url, ["ApproximateNumberOfMessages"]))["ApproximateNumberOfMessages"])


# -- CreateQueue -------------------------------------------------------------------------------------------


async def test_create_queue_returns_url_with_account_and_name(engine: Engine) -> None:
    assert await engine.create_queue("orders") == f"{BASE}/orders"
    assert await engine.create_queue("orders.fifo", {"FifoQueue": "true"}) == f"{BASE}/orders.fifo"


async def test_create_is_idempotent_with_same_attributes(engine: Engine) -> None:
    first = await engine.create_queue("orders", {"VisibilityTimeout": "60", "DelaySeconds": "5"})
    again = await engine.create_queue("orders", {"VisibilityTimeout": "60", "DelaySeconds": "5"})
    assert again == first
    assert (await engine.list_queues()).urls == [first]


async def test_create_again_without_attributes_returns_same_url(engine: Engine) -> None:
    first = await engine.create_queue("orders")
    assert await engine.create_queue("orders") == first


async def test_create_again_naming_a_default_value_explicitly_is_identical(engine: Engine) -> None:
    first = await engine.create_queue("orders")
    assert await engine.create_queue("orders", {"VisibilityTimeout": "30"}) == first


async def test_create_fifo_is_idempotent(engine: Engine) -> None:
    wanted = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    first = await engine.create_queue("orders.fifo", wanted)
    assert await engine.create_queue("orders.fifo", wanted) == first


@pytest.mark.parametrize(
    ("name", "first", "second"),
    [
        ("DelaySeconds", "5", "10"),
        ("VisibilityTimeout", "30", "31"),
        ("MessageRetentionPeriod", "60", "120"),
        ("MaximumMessageSize", "1024", "2048"),
        ("ReceiveMessageWaitTimeSeconds", "0", "20"),
    ],
)
async def test_create_same_name_different_attribute_is_queue_name_exists(
    engine: Engine, name: str, first: str, second: str
) -> None:
    url = await engine.create_queue("orders", {name: first})
    error = await fails(engine.create_queue("orders", {name: second}))
    assert error.shape == "QueueNameExists"
    assert error.code == "QueueAlreadyExists"
    assert error.status == 400
    assert error.message == f"A queue already exists with the same name and a different value for attribute {name}"
    assert await engine.get_queue_attributes(url, [name]) == {name: first}


async def test_create_fifo_same_name_different_fifo_attribute_is_queue_name_exists(engine: Engine) -> None:
    await engine.create_queue("orders.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"})
    error = await fails(engine.create_queue("orders.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "false"}))
    assert error.shape == "QueueNameExists"
    assert "ContentBasedDeduplication" in error.message


async def test_queue_names_are_case_sensitive(engine: Engine) -> None:
    upper = await engine.create_queue("Orders", {"DelaySeconds": "1"})
    lower = await engine.create_queue("orders", {"DelaySeconds": "2"})
    assert upper != lower
    assert sorted((await engine.list_queues()).urls) == sorted([upper, lower])
    assert await engine.get_queue_attributes(upper, ["DelaySeconds"]) == {"DelaySeconds": "1"}
    assert await engine.get_queue_attributes(lower, ["DelaySeconds"]) == {"DelaySeconds": "2"}


@pytest.mark.parametrize("name", ["a", "Z", "0", "A-z_09", "x" * 80])
async def test_valid_standard_queue_names(engine: Engine, name: str) -> None:
    assert await engine.create_queue(name) == f"{BASE}/{name}"


@pytest.mark.parametrize(
    "name",
    ["x" * 81, "has space", "dot.name", "slash/name", "colon:name", "ünicode", "star*"],
    ids=["81-chars", "space", "dot", "slash", "colon", "non-ascii", "star"],
)
async def test_invalid_standard_queue_names_are_rejected(engine: Engine, name: str) -> None:
    error = await fails(engine.create_queue(name))
    assert error.code == "InvalidParameterValue"
    assert error.status == 400
    assert "80" in error.message
    assert (await engine.list_queues()).urls == []


@pytest.mark.parametrize("name", ["a.fifo", "x" * 75 + ".fifo", "A-z_09.fifo"])
async def test_valid_fifo_queue_names(engine: Engine, name: str) -> None:
    """The .fifo suffix counts toward the 80 characters."""
    assert await engine.create_queue(name, {"FifoQueue": "true"}) == f"{BASE}/{name}"


@pytest.mark.parametrize(
    "name",
    ["x" * 76 + ".fifo", "nosuffix", ".fifo", "dot.name.fifo", "orders.FIFO", "orders-fifo"],
    ids=["81-chars", "no-suffix", "suffix-only", "inner-dot", "upper-suffix", "dash-suffix"],
)
async def test_invalid_fifo_queue_names_are_rejected(engine: Engine, name: str) -> None:
    error = await fails(engine.create_queue(name, {"FifoQueue": "true"}))
    assert error.code == "InvalidParameterValue"
    assert ".fifo" in error.message
    assert "80" in error.message
    assert (await engine.list_queues()).urls == []


async def test_standard_queue_cannot_be_named_fifo(engine: Engine) -> None:
    error = await fails(engine.create_queue("orders.fifo"))
    assert error.code == "InvalidParameterValue"
    assert ".fifo" in error.message
    assert (await engine.list_queues()).urls == []


async def test_recreate_within_60_seconds_of_delete_is_queue_deleted_recently(
    engine: Engine, clock: ManualClock
) -> None:
    url = await engine.create_queue("orders")
    await engine.delete_queue(url)
    clock.advance(59)
    error = await fails(engine.create_queue("orders"))
    assert error.shape == "QueueDeletedRecently"
    assert error.code == "AWS.SimpleQueueService.QueueDeletedRecently"
    assert error.status == 400
    assert "60 seconds" in error.message
    clock.advance(1)
    assert await engine.create_queue("orders") == url


async def test_recreated_queue_starts_empty_with_its_new_attributes(engine: Engine, clock: ManualClock) -> None:
    url = await engine.create_queue("orders", {"VisibilityTimeout": "60"})
    await engine.send_message(url, "old")
    await engine.tag_queue(url, {"team": "a"})
    await engine.delete_queue(url)
    clock.advance(60)
    assert await engine.create_queue("orders") == url
    attributes = await engine.get_queue_attributes(url)
    assert attributes["VisibilityTimeout"] == "30"
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert await engine.receive_message(url) == []
    assert await engine.list_queue_tags(url) == {}


async def test_delete_cooldown_applies_only_to_the_deleted_name(engine: Engine) -> None:
    await engine.delete_queue(await engine.create_queue("orders"))
    assert await engine.create_queue("orders2") == f"{BASE}/orders2"


# -- GetQueueUrl and URL resolution ------------------------------------------------------------------------


async def test_get_queue_url_returns_the_created_url(engine: Engine, queue: str) -> None:
    assert await engine.get_queue_url("jobs") == queue


async def test_get_queue_url_of_unknown_queue_is_queue_does_not_exist(engine: Engine) -> None:
    error = await fails(engine.get_queue_url("nope"))
    assert error.shape == "QueueDoesNotExist"
    assert error.code == "AWS.SimpleQueueService.NonExistentQueue"
    assert error.status == 400
    assert error.message == "The specified queue does not exist."


async def test_get_queue_url_for_another_account_is_queue_does_not_exist(engine: Engine, queue: str) -> None:
    assert await engine.get_queue_url("jobs", "000000000000") == queue
    assert (await fails(engine.get_queue_url("jobs", "111122223333"))).shape == "QueueDoesNotExist"


async def test_url_with_another_host_resolves_by_name(engine: Engine, queue: str) -> None:
    other = "http://sqs.eu-west-1.localhost.localstack.cloud:4566/000000000000/jobs"
    await engine.send_message(other, "hello")
    assert await count(engine, queue) == 1
    assert await count(engine, "https://127.0.0.1:9999/000000000000/jobs") == 1


QueueOp = Callable[[Engine, str], Awaitable[Any]]
OPS: dict[str, QueueOp] = {
    "GetQueueUrl": lambda e, url: e.get_queue_url("jobs"),
    "GetQueueAttributes": lambda e, url: e.get_queue_attributes(url),
    "SetQueueAttributes": lambda e, url: e.set_queue_attributes(url, {"DelaySeconds": "1"}),
    "SendMessage": lambda e, url: e.send_message(url, "x"),
    "ReceiveMessage": lambda e, url: e.receive_message(url),
    "PurgeQueue": lambda e, url: e.purge_queue(url),
    "DeleteQueue": lambda e, url: e.delete_queue(url),
    "TagQueue": lambda e, url: e.tag_queue(url, {"k": "v"}),
    "UntagQueue": lambda e, url: e.untag_queue(url, ["k"]),
    "ListQueueTags": lambda e, url: e.list_queue_tags(url),
    "AddPermission": lambda e, url: e.add_permission(url, "label", ["111122223333"], ["SendMessage"]),
    "ListDeadLetterSourceQueues": lambda e, url: e.list_dead_letter_source_queues(url),
}


@pytest.mark.parametrize("op", list(OPS.values()), ids=list(OPS))
async def test_operations_on_a_deleted_queue_are_queue_does_not_exist(engine: Engine, queue: str, op: QueueOp) -> None:
    await engine.delete_queue(queue)
    error = await fails(op(engine, queue))
    assert error.shape == "QueueDoesNotExist"
    assert error.code == "AWS.SimpleQueueService.NonExistentQueue"
    assert error.status == 400


# Names no queue can have. Each reached the store before, and SQLite cannot encode a lone surrogate at all.
NOT_QUEUE_NAMES = {
    "lone surrogate": "jobs\ud83d",
    "only a surrogate": "\udc00",
    "control character": "jobs\x01",
    "U+FFFE": "jobs\ufffe",
    "81 characters": "a" * 81,
}


@pytest.mark.parametrize("name", NOT_QUEUE_NAMES.values(), ids=NOT_QUEUE_NAMES.keys())
async def test_a_name_no_queue_can_have_is_queue_does_not_exist(engine: Engine, queue: str, name: str) -> None:
    """Whatever a queue URL ends in, a name that is not a valid queue name names no queue (QueueDoesNotExist),
    rather than an internal error from a store that cannot look it up."""
    error = await fails(engine.get_queue_url(name))
    assert error.shape == "QueueDoesNotExist"
    for op_name, op in OPS.items():
        if op_name != "GetQueueUrl":
            error = await fails(op(engine, f"{BASE}/{name}"))
            assert (error.shape, error.status) == ("QueueDoesNotExist", 400), op_name
    assert await count(engine, queue) == 0


async def test_deleted_queue_is_not_listed(engine: Engine, queue: str) -> None:
    other = await engine.create_queue("other")
    await engine.delete_queue(queue)
    assert (await engine.list_queues()).urls == [other]


# -- ListQueues --------------------------------------------------------------------------------------------


async def test_list_queues_empty(engine: Engine) -> None:
    page = await engine.list_queues()
    assert page.urls == []
    assert page.next_token is None


async def test_list_queues_returns_every_queue(engine: Engine) -> None:
    urls = [await engine.create_queue(n) for n in ("b", "a", "c")]
    urls.append(await engine.create_queue("d.fifo", {"FifoQueue": "true"}))
    assert sorted((await engine.list_queues()).urls) == sorted(urls)


async def test_list_queues_filters_by_prefix(engine: Engine) -> None:
    alpha = [await engine.create_queue(n) for n in ("alpha-1", "alpha-2")]
    await engine.create_queue("beta")
    await engine.create_queue("xalpha")
    assert sorted((await engine.list_queues("alpha")).urls) == sorted(alpha)
    assert (await engine.list_queues("Alpha")).urls == []  # case-sensitive
    assert (await engine.list_queues("gamma")).urls == []


@pytest.mark.parametrize("max_results", [0, -1, 1001])
async def test_list_queues_max_results_out_of_range_is_rejected(engine: Engine, max_results: int) -> None:
    error = await fails(engine.list_queues(max_results=max_results))
    assert error.code == "InvalidParameterValue"
    assert error.status == 400
    assert "MaxResults" in error.message
    assert "1000" in error.message


@pytest.mark.parametrize("max_results", [1, 1000])
async def test_list_queues_max_results_bounds_are_accepted(engine: Engine, max_results: int) -> None:
    url = await engine.create_queue("only")
    assert (await engine.list_queues(max_results=max_results)).urls == [url]


async def test_list_queues_gives_next_token_only_when_max_results_is_set(engine: Engine) -> None:
    for name in ("a", "b", "c"):
        await engine.create_queue(name)
    unpaged = await engine.list_queues()
    assert len(unpaged.urls) == 3
    assert unpaged.next_token is None
    paged = await engine.list_queues(max_results=2)
    assert len(paged.urls) == 2
    assert paged.next_token is not None


async def test_list_queues_paging_walks_every_queue_exactly_once(engine: Engine) -> None:
    created = {await engine.create_queue(f"q{i}") for i in range(7)}
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        page = await engine.list_queues(max_results=3, next_token=token)
        assert len(page.urls) <= 3
        seen += page.urls
        pages += 1
        token = page.next_token
        if token is None:
            break
        assert pages < 10, "paging does not terminate"
    assert sorted(seen) == sorted(created)
    assert pages == 3


async def test_list_queues_paging_with_prefix(engine: Engine) -> None:
    wanted = {await engine.create_queue(f"keep-{i}") for i in range(5)}
    for i in range(5):
        await engine.create_queue(f"skip-{i}")
    seen: list[str] = []
    token: str | None = None
    for _ in range(10):
        page = await engine.list_queues("keep", max_results=2, next_token=token)
        seen += page.urls
        token = page.next_token
        if token is None:
            break
    assert sorted(seen) == sorted(wanted)
