"""TagQueue / UntagQueue / ListQueueTags and AddPermission / RemovePermission (kept in the Policy attribute)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from consumerkit.engine import Engine, ManualClock
from consumerkit.engine.validation import NOT_XML_CHAR
from tests.engine.expect import fails, invalid

ACCOUNT = "111122223333"


async def statements(engine: Engine, url: str) -> list[dict[str, Any]]:
    policy = (await engine.get_queue_attributes(url, ["Policy"])).get("Policy")
    if policy is None:
        return []
    found = json.loads(policy)["Statement"]
    return found if isinstance(found, list) else [found]


# -- tags --------------------------------------------------------------------------------------------------


async def test_new_queue_has_no_tags(engine: Engine, queue: str) -> None:
    assert await engine.list_queue_tags(queue) == {}


async def test_tag_list_and_untag(engine: Engine, queue: str) -> None:
    await engine.tag_queue(queue, {"team": "payments", "env": "dev"})
    assert await engine.list_queue_tags(queue) == {"team": "payments", "env": "dev"}
    await engine.untag_queue(queue, ["env"])
    assert await engine.list_queue_tags(queue) == {"team": "payments"}


async def test_tagging_adds_to_existing_tags(engine: Engine, queue: str) -> None:
    await engine.tag_queue(queue, {"a": "1"})
    await engine.tag_queue(queue, {"b": "2"})
    assert await engine.list_queue_tags(queue) == {"a": "1", "b": "2"}


async def test_same_key_overwrites(engine: Engine, queue: str) -> None:
    await engine.tag_queue(queue, {"team": "payments"})
    await engine.tag_queue(queue, {"team": "billing"})
    assert await engine.list_queue_tags(queue) == {"team": "billing"}


async def test_tag_keys_are_case_sensitive(engine: Engine, queue: str) -> None:
    await engine.tag_queue(queue, {"Team": "a", "team": "b"})
    assert await engine.list_queue_tags(queue) == {"Team": "a", "team": "b"}


async def test_untag_unknown_key_is_harmless(engine: Engine, queue: str) -> None:
    await engine.tag_queue(queue, {"a": "1"})
    await engine.untag_queue(queue, ["nope"])
    assert await engine.list_queue_tags(queue) == {"a": "1"}


async def test_tags_at_create_queue(engine: Engine) -> None:
    url = await engine.create_queue("tagged", tags={"team": "payments", "cost-centre": "42"})
    assert await engine.list_queue_tags(url) == {"team": "payments", "cost-centre": "42"}


async def test_tags_are_per_queue(engine: Engine, queue: str) -> None:
    other = await engine.create_queue("other")
    await engine.tag_queue(queue, {"a": "1"})
    assert await engine.list_queue_tags(other) == {}


async def test_fifty_tags_are_allowed(engine: Engine, queue: str) -> None:
    tags = {f"k{i}": str(i) for i in range(50)}
    await engine.tag_queue(queue, tags)
    assert await engine.list_queue_tags(queue) == tags


async def test_more_than_fifty_tags_in_one_call_is_rejected(engine: Engine, queue: str) -> None:
    error = await fails(engine.tag_queue(queue, {f"k{i}": "v" for i in range(51)}))
    assert error.code == "InvalidParameterValue"
    assert error.status == 400
    assert "50" in error.message
    assert await engine.list_queue_tags(queue) == {}


async def test_tag_beyond_fifty_in_total_is_rejected(engine: Engine, queue: str) -> None:
    tags = {f"k{i}": "v" for i in range(50)}
    await engine.tag_queue(queue, tags)
    error = await fails(engine.tag_queue(queue, {"one-more": "v"}))
    assert "50" in error.message
    assert await engine.list_queue_tags(queue) == tags
    await engine.tag_queue(queue, {"k0": "overwritten"})  # overwriting does not add a tag
    assert (await engine.list_queue_tags(queue))["k0"] == "overwritten"


async def test_more_than_fifty_tags_at_create_is_rejected(engine: Engine) -> None:
    error = await fails(engine.create_queue("tagged", tags={f"k{i}": "v" for i in range(51)}))
    assert "50" in error.message
    assert (await engine.list_queues()).urls == []


@pytest.mark.parametrize(
    "tags",
    [
        {"team": 5},
        # JSON keys are strings: over the wire the key 5 arrives as the valid tag key "5"
        pytest.param({5: "team"}, marks=pytest.mark.in_process("JSON keys are strings: 5 arrives as '5'")),
        {"team": None},
    ],
    ids=["int-value", "int-key", "none"],
)
async def test_tags_that_are_not_strings_are_rejected(engine: Engine, queue: str, tags: dict[Any, Any]) -> None:
    """An invalid parameter, not a TypeError escaping the engine."""
    error = await fails(engine.tag_queue(queue, tags))
    assert error.code == "InvalidParameterValue"
    assert error.status == 400
    assert await engine.list_queue_tags(queue) == {}


async def test_tags_that_are_not_strings_are_rejected_at_create(engine: Engine) -> None:
    error = await fails(engine.create_queue("tagged", tags={"team": 5}))  # type: ignore[dict-item]
    assert error.code == "InvalidParameterValue"
    assert (await engine.list_queues()).urls == []


# Characters SQS does not accept: the query protocol's XML replies could not carry them back (botocore before
# 1.34.90 failed to parse ListQueueTags), and SQLite cannot store a lone surrogate.
NOT_TEXT = {"control character": "a\x01b", "NUL": "\x00", "lone surrogate": "a\ud83d", "U+FFFE": "\ufffe"}


@pytest.mark.parametrize("bad", NOT_TEXT.values(), ids=NOT_TEXT.keys())
async def test_tags_hold_only_the_characters_of_a_message_body(engine: Engine, queue: str, bad: str) -> None:
    for tags, param in (({bad: "v"}, "parameter Tags "), ({"k": bad}, "parameter Tags.k ")):
        error = await invalid(engine.tag_queue(queue, tags))
        assert param in error.message and "invalid character, U+" in error.message
        assert not NOT_XML_CHAR.search(error.message), "the error quotes the character it refuses"
        await invalid(engine.create_queue("tagged", tags=tags))
    assert await engine.list_queue_tags(queue) == {}
    assert (await engine.list_queues()).urls == [queue]


async def test_tags_may_hold_any_character_of_a_message_body(engine: Engine, queue: str) -> None:
    tags = {"tab\tand\nnewline\r": "é 😀 \ue000 \U0010fffd", "ключ": ""}
    await engine.tag_queue(queue, tags)
    assert await engine.list_queue_tags(queue) == tags


# -- permissions -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", NOT_TEXT.values(), ids=NOT_TEXT.keys())
async def test_a_label_holds_only_the_characters_of_a_message_body(engine: Engine, queue: str, bad: str) -> None:
    error = await invalid(engine.add_permission(queue, bad, [ACCOUNT], ["SendMessage"]))
    assert "parameter Label " in error.message and "invalid character, U+" in error.message
    assert await statements(engine, queue) == []


async def test_add_permission_adds_a_statement_to_the_policy(engine: Engine, queue: str) -> None:
    await engine.add_permission(queue, "AllowSend", [ACCOUNT], ["SendMessage", "ReceiveMessage"])
    [statement] = await statements(engine, queue)
    assert statement["Sid"] == "AllowSend"
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Action"]) == ["SQS:ReceiveMessage", "SQS:SendMessage"]
    assert ACCOUNT in json.dumps(statement["Principal"])
    assert statement["Resource"] == "arn:aws:sqs:us-east-1:000000000000:jobs"


async def test_policy_appears_in_all_attributes(engine: Engine, queue: str) -> None:
    assert "Policy" not in await engine.get_queue_attributes(queue)
    await engine.add_permission(queue, "AllowSend", [ACCOUNT], ["SendMessage"])
    assert "Policy" in await engine.get_queue_attributes(queue)


async def test_add_permission_updates_last_modified(engine: Engine, queue: str, clock: ManualClock) -> None:
    clock.advance(90)
    await engine.add_permission(queue, "AllowSend", [ACCOUNT], ["SendMessage"])
    attributes = await engine.get_queue_attributes(queue, ["LastModifiedTimestamp"])
    assert attributes == {"LastModifiedTimestamp": str(int(clock.now()))}


async def test_two_labels_make_two_statements(engine: Engine, queue: str) -> None:
    await engine.add_permission(queue, "one", [ACCOUNT], ["SendMessage"])
    await engine.add_permission(queue, "two", ["444455556666"], ["DeleteMessage"])
    assert [s["Sid"] for s in await statements(engine, queue)] == ["one", "two"]


async def test_seven_actions_are_allowed(engine: Engine, queue: str) -> None:
    actions = [
        "SendMessage",
        "ReceiveMessage",
        "DeleteMessage",
        "ChangeMessageVisibility",
        "GetQueueAttributes",
        "GetQueueUrl",
        "ListDeadLetterSourceQueues",
    ]
    await engine.add_permission(queue, "seven", [ACCOUNT], actions)
    [statement] = await statements(engine, queue)
    assert len(statement["Action"]) == 7


async def test_eight_actions_are_over_limit(engine: Engine, queue: str) -> None:
    actions = [f"Action{i}" for i in range(8)]
    error = await fails(engine.add_permission(queue, "eight", [ACCOUNT], actions))
    assert error.shape == "OverLimit"
    assert error.code == "OverLimit"
    assert error.status == 403
    assert error.message == "8 Actions were found, maximum allowed is 7."
    assert await statements(engine, queue) == []


async def test_duplicate_label_is_rejected(engine: Engine, queue: str) -> None:
    await engine.add_permission(queue, "dup", [ACCOUNT], ["SendMessage"])
    error = await fails(engine.add_permission(queue, "dup", [ACCOUNT], ["DeleteMessage"]))
    assert error.code == "InvalidParameterValue"
    assert "dup" in error.message
    [statement] = await statements(engine, queue)
    assert statement["Action"] == ["SQS:SendMessage"]


async def test_remove_permission_removes_only_its_statement(engine: Engine, queue: str) -> None:
    await engine.add_permission(queue, "one", [ACCOUNT], ["SendMessage"])
    await engine.add_permission(queue, "two", [ACCOUNT], ["DeleteMessage"])
    await engine.remove_permission(queue, "one")
    assert [s["Sid"] for s in await statements(engine, queue)] == ["two"]


async def test_removing_the_last_statement_removes_the_policy(engine: Engine, queue: str) -> None:
    await engine.add_permission(queue, "one", [ACCOUNT], ["SendMessage"])
    await engine.remove_permission(queue, "one")
    assert "Policy" not in await engine.get_queue_attributes(queue)


async def test_removing_unknown_label_is_rejected(engine: Engine, queue: str) -> None:
    await engine.add_permission(queue, "one", [ACCOUNT], ["SendMessage"])
    error = await fails(engine.remove_permission(queue, "nope"))
    assert error.code == "InvalidParameterValue"
    assert "nope" in error.message
    assert [s["Sid"] for s in await statements(engine, queue)] == ["one"]


async def test_removing_a_label_from_a_queue_without_policy_is_rejected(engine: Engine, queue: str) -> None:
    error = await fails(engine.remove_permission(queue, "nope"))
    assert error.code == "InvalidParameterValue"


async def test_label_can_be_reused_after_removal(engine: Engine, queue: str) -> None:
    await engine.add_permission(queue, "one", [ACCOUNT], ["SendMessage"])
    await engine.remove_permission(queue, "one")
    await engine.add_permission(queue, "one", [ACCOUNT], ["DeleteMessage"])
    [statement] = await statements(engine, queue)
    assert statement["Action"] == ["SQS:DeleteMessage"]


@pytest.mark.parametrize(
    ("accounts", "actions", "param"), [([], ["SendMessage"], "AWSAccountIds"), ([ACCOUNT], [], "Actions")]
)
async def test_add_permission_needs_accounts_and_actions(
    engine: Engine, queue: str, accounts: list[str], actions: list[str], param: str
) -> None:
    error = await fails(engine.add_permission(queue, "label", accounts, actions))
    assert error.code == "MissingParameter"
    assert param in error.message
