"""RedrivePolicy and RedriveAllowPolicy validation, and ListDeadLetterSourceQueues."""

from __future__ import annotations

import json
from typing import Any

import pytest

from consumerkit.engine import Engine
from tests.engine.expect import fails

ARN = "arn:aws:sqs:us-east-1:000000000000:"


def redrive(target: str, count: object = 3) -> str:
    return json.dumps({"deadLetterTargetArn": ARN + target, "maxReceiveCount": count})


def allow(permission: str, *sources: str) -> str:
    policy: dict[str, object] = {"redrivePermission": permission}
    if sources:
        policy["sourceQueueArns"] = [ARN + s for s in sources]
    return json.dumps(policy)


async def redrive_policy(engine: Engine, url: str) -> dict[str, Any] | None:
    raw = (await engine.get_queue_attributes(url, ["RedrivePolicy"])).get("RedrivePolicy")
    return None if raw is None else json.loads(raw)


# -- RedrivePolicy -----------------------------------------------------------------------------------------


async def test_redrive_policy_is_stored_and_shown(engine: Engine) -> None:
    await engine.create_queue("dlq")
    url = await engine.create_queue("src", {"RedrivePolicy": redrive("dlq", 5)})
    assert await redrive_policy(engine, url) == {"deadLetterTargetArn": ARN + "dlq", "maxReceiveCount": 5}
    assert "RedrivePolicy" in await engine.get_queue_attributes(url)


async def test_max_receive_count_may_be_a_string(engine: Engine, queue: str) -> None:
    await engine.create_queue("dlq")
    await engine.set_queue_attributes(queue, {"RedrivePolicy": redrive("dlq", "4")})
    policy = await redrive_policy(engine, queue)
    assert policy is not None
    assert int(policy["maxReceiveCount"]) == 4


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[]",
        '"dlq"',
        json.dumps({"maxReceiveCount": 3}),
        json.dumps({"deadLetterTargetArn": "dlq", "maxReceiveCount": 3}),
        redrive("dlq", 0),
        redrive("dlq", 1001),
        redrive("dlq", -1),
        redrive("dlq", "many"),
    ],
    ids=["not-json", "list", "string", "no-arn", "not-an-arn", "count-0", "count-1001", "count-negative", "count-text"],
)
@pytest.mark.parametrize("op", ["set", "create"])
async def test_invalid_redrive_policy_is_rejected(engine: Engine, raw: str, op: str) -> None:
    await engine.create_queue("dlq")
    if op == "set":
        url = await engine.create_queue("src")
        error = await fails(engine.set_queue_attributes(url, {"RedrivePolicy": raw}))
    else:
        error = await fails(engine.create_queue("src", {"RedrivePolicy": raw}))
    assert error.code == "InvalidParameterValue"
    assert error.status == 400
    assert "RedrivePolicy" in error.message
    if op == "set":
        assert await redrive_policy(engine, url) is None
    else:
        assert [u.rsplit("/", 1)[-1] for u in (await engine.list_queues()).urls] == ["dlq"]


@pytest.mark.parametrize("count", [0, 1001])
async def test_max_receive_count_error_names_its_limits(engine: Engine, queue: str, count: int) -> None:
    await engine.create_queue("dlq")
    error = await fails(engine.set_queue_attributes(queue, {"RedrivePolicy": redrive("dlq", count)}))
    assert "maxReceiveCount" in error.message
    assert "1000" in error.message


@pytest.mark.parametrize("count", [1, 1000])
async def test_max_receive_count_bounds_are_accepted(engine: Engine, queue: str, count: int) -> None:
    await engine.create_queue("dlq")
    await engine.set_queue_attributes(queue, {"RedrivePolicy": redrive("dlq", count)})
    policy = await redrive_policy(engine, queue)
    assert policy is not None
    assert int(policy["maxReceiveCount"]) == count


async def test_dead_letter_queue_must_exist(engine: Engine, queue: str) -> None:
    error = await fails(engine.set_queue_attributes(queue, {"RedrivePolicy": redrive("missing")}))
    assert error.code == "InvalidParameterValue"
    assert "RedrivePolicy" in error.message
    assert await redrive_policy(engine, queue) is None


async def test_standard_source_cannot_use_fifo_dead_letter_queue(engine: Engine, queue: str) -> None:
    await engine.create_queue("dlq.fifo", {"FifoQueue": "true"})
    error = await fails(engine.set_queue_attributes(queue, {"RedrivePolicy": redrive("dlq.fifo")}))
    assert error.code == "InvalidParameterValue"
    assert "RedrivePolicy" in error.message


async def test_fifo_source_cannot_use_standard_dead_letter_queue(engine: Engine, fifo: str) -> None:
    await engine.create_queue("dlq")
    error = await fails(engine.set_queue_attributes(fifo, {"RedrivePolicy": redrive("dlq")}))
    assert error.code == "InvalidParameterValue"
    assert await redrive_policy(engine, fifo) is None


async def test_fifo_source_can_use_fifo_dead_letter_queue(engine: Engine, fifo: str) -> None:
    await engine.create_queue("dlq.fifo", {"FifoQueue": "true"})
    await engine.set_queue_attributes(fifo, {"RedrivePolicy": redrive("dlq.fifo")})
    policy = await redrive_policy(engine, fifo)
    assert policy is not None
    assert policy["deadLetterTargetArn"] == ARN + "dlq.fifo"


async def test_clearing_redrive_policy_with_empty_string_removes_it(engine: Engine) -> None:
    dlq = await engine.create_queue("dlq")
    url = await engine.create_queue("src", {"RedrivePolicy": redrive("dlq")})
    await engine.set_queue_attributes(url, {"RedrivePolicy": ""})
    assert "RedrivePolicy" not in await engine.get_queue_attributes(url)
    assert (await engine.list_dead_letter_source_queues(dlq)).urls == []


# -- RedriveAllowPolicy ------------------------------------------------------------------------------------


async def test_deny_all_refuses_every_source(engine: Engine) -> None:
    await engine.create_queue("dlq", {"RedriveAllowPolicy": allow("denyAll")})
    error = await fails(engine.create_queue("src", {"RedrivePolicy": redrive("dlq")}))
    assert error.code == "InvalidParameterValue"
    assert "RedrivePolicy" in error.message
    assert [u.rsplit("/", 1)[-1] for u in (await engine.list_queues()).urls] == ["dlq"]


async def test_by_queue_accepts_a_listed_source_and_refuses_others(engine: Engine) -> None:
    await engine.create_queue("dlq", {"RedriveAllowPolicy": allow("byQueue", "listed")})
    listed = await engine.create_queue("listed", {"RedrivePolicy": redrive("dlq")})
    assert await redrive_policy(engine, listed) is not None
    other = await engine.create_queue("other")
    error = await fails(engine.set_queue_attributes(other, {"RedrivePolicy": redrive("dlq")}))
    assert error.code == "InvalidParameterValue"
    assert await redrive_policy(engine, other) is None


async def test_allow_all_is_the_default(engine: Engine) -> None:
    await engine.create_queue("dlq", {"RedriveAllowPolicy": allow("allowAll")})
    url = await engine.create_queue("src", {"RedrivePolicy": redrive("dlq")})
    assert await redrive_policy(engine, url) is not None


async def test_redrive_allow_policy_is_shown(engine: Engine) -> None:
    url = await engine.create_queue("dlq", {"RedriveAllowPolicy": allow("byQueue", "a", "b")})
    raw = (await engine.get_queue_attributes(url))["RedriveAllowPolicy"]
    assert json.loads(raw) == {"redrivePermission": "byQueue", "sourceQueueArns": [ARN + "a", ARN + "b"]}


@pytest.mark.parametrize(
    "raw",
    [
        allow("allowAll", "a"),
        allow("denyAll", "a"),
        allow("byQueue", *(f"q{i}" for i in range(11))),
        json.dumps({"redrivePermission": "sometimes"}),
        "not json",
    ],
    ids=["arns-with-allowAll", "arns-with-denyAll", "11-arns", "bad-permission", "not-json"],
)
async def test_invalid_redrive_allow_policy_is_rejected(engine: Engine, queue: str, raw: str) -> None:
    error = await fails(engine.set_queue_attributes(queue, {"RedriveAllowPolicy": raw}))
    assert error.code == "InvalidParameterValue"
    assert "RedriveAllowPolicy" in error.message
    assert "RedriveAllowPolicy" not in await engine.get_queue_attributes(queue)


async def test_by_queue_with_ten_arns_is_accepted(engine: Engine, queue: str) -> None:
    await engine.set_queue_attributes(queue, {"RedriveAllowPolicy": allow("byQueue", *(f"q{i}" for i in range(10)))})
    raw = (await engine.get_queue_attributes(queue, ["RedriveAllowPolicy"]))["RedriveAllowPolicy"]
    assert len(json.loads(raw)["sourceQueueArns"]) == 10


# -- ListDeadLetterSourceQueues ----------------------------------------------------------------------------


async def test_lists_the_queues_whose_redrive_policy_targets_the_dlq(engine: Engine) -> None:
    dlq = await engine.create_queue("dlq")
    other_dlq = await engine.create_queue("other-dlq")
    sources = [await engine.create_queue(n, {"RedrivePolicy": redrive("dlq")}) for n in ("a", "b")]
    await engine.create_queue("c", {"RedrivePolicy": redrive("other-dlq")})
    await engine.create_queue("plain")
    page = await engine.list_dead_letter_source_queues(dlq)
    assert sorted(page.urls) == sorted(sources)
    assert page.next_token is None
    assert [u.rsplit("/", 1)[-1] for u in (await engine.list_dead_letter_source_queues(other_dlq)).urls] == ["c"]


async def test_queue_that_is_no_dlq_has_no_sources(engine: Engine, queue: str) -> None:
    assert (await engine.list_dead_letter_source_queues(queue)).urls == []


async def test_source_added_later_by_set_queue_attributes_is_listed(engine: Engine, queue: str) -> None:
    dlq = await engine.create_queue("dlq")
    await engine.set_queue_attributes(queue, {"RedrivePolicy": redrive("dlq")})
    assert (await engine.list_dead_letter_source_queues(dlq)).urls == [queue]


async def test_deleted_source_is_not_listed(engine: Engine, queue: str) -> None:
    dlq = await engine.create_queue("dlq")
    await engine.set_queue_attributes(queue, {"RedrivePolicy": redrive("dlq")})
    await engine.delete_queue(queue)
    assert (await engine.list_dead_letter_source_queues(dlq)).urls == []


async def test_dead_letter_source_paging_walks_every_source_once(engine: Engine) -> None:
    dlq = await engine.create_queue("dlq")
    sources = {await engine.create_queue(f"src-{i}", {"RedrivePolicy": redrive("dlq")}) for i in range(5)}
    await engine.create_queue("unrelated")
    seen: list[str] = []
    token: str | None = None
    for _ in range(10):
        page = await engine.list_dead_letter_source_queues(dlq, max_results=2, next_token=token)
        assert len(page.urls) <= 2
        seen += page.urls
        token = page.next_token
        if token is None:
            break
    assert sorted(seen) == sorted(sources)


async def test_dead_letter_sources_next_token_only_with_max_results(engine: Engine) -> None:
    dlq = await engine.create_queue("dlq")
    for i in range(3):
        await engine.create_queue(f"src-{i}", {"RedrivePolicy": redrive("dlq")})
    assert (await engine.list_dead_letter_source_queues(dlq)).next_token is None
    assert (await engine.list_dead_letter_source_queues(dlq, max_results=1)).next_token is not None


@pytest.mark.parametrize("max_results", [0, 1001])
async def test_dead_letter_sources_max_results_out_of_range(engine: Engine, queue: str, max_results: int) -> None:
    error = await fails(engine.list_dead_letter_source_queues(queue, max_results=max_results))
    assert error.code == "InvalidParameterValue"
    assert "MaxResults" in error.message


async def test_dead_letter_sources_of_unknown_queue(engine: Engine) -> None:
    error = await fails(engine.list_dead_letter_source_queues("http://localhost:9324/000000000000/nope"))
    assert error.shape == "QueueDoesNotExist"


async def test_a_queue_cannot_be_its_own_dead_letter_queue(engine: Engine) -> None:
    policy = json.dumps({"deadLetterTargetArn": ARN + "loop", "maxReceiveCount": 3})
    url = await engine.create_queue("loop")
    error = await fails(engine.set_queue_attributes(url, {"RedrivePolicy": policy}))
    assert error.code == "InvalidParameterValue" and "its own dead-letter queue" in error.message


@pytest.mark.parametrize("arn", ["arn:aws:sqs:eu-west-3:000000000000:dlq", "arn:aws:sqs:us-east-1:999999999999:dlq"])
async def test_a_dead_letter_queue_in_another_region_or_account_is_refused(engine: Engine, arn: str) -> None:
    """A DLQ must be in the source's account and region: a same-named local queue does not stand in for it."""
    await engine.create_queue("dlq")
    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 3})
    error = await fails(engine.create_queue("jobs", {"RedrivePolicy": policy}))
    assert error.code == "InvalidParameterValue" and "does not exist" in error.message
