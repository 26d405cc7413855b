"""RunResult answers in bodies: which messages succeeded, failed or were dead-lettered, and each one's tries."""

from __future__ import annotations

import pytest

from consumerkit import Outcome
from consumerkit.testing import RunResult
from consumerkit.testing.result import encode_body


def outcome(message_id: str, kind: str, count: int = 1, error: BaseException | None = None) -> Outcome:
    return Outcome("jobs", "work", message_id, kind, count, 0.0, None, error)


RESULT = RunResult(
    (
        outcome("m1", "success"),
        outcome("m2", "error", 1, ValueError("boom")),
        outcome("m3", "success"),
        outcome("m2", "error", 2, ValueError("boom")),
    ),
    {"m1": "a", "m2": '{"bad": true}', "m3": "a"},
    ('{"bad": true}',),
)


def test_a_messages_last_try_decides_where_it_counts() -> None:
    assert RESULT.succeeded == ["a", "a"]
    assert RESULT.failed == ['{"bad": true}']
    assert RESULT.counts() == {"success": 2, "error": 2}
    assert list(RESULT.last) == ["m1", "m2", "m3"]


def test_lookup_by_body_takes_what_was_sent() -> None:
    assert [o.receive_count for o in RESULT.outcomes_of({"bad": True})] == [1, 2]
    assert RESULT.outcome({"bad": True}).receive_count == 2
    assert RESULT.outcomes_of("never sent") == []


def test_lookup_errors_say_what_was_there() -> None:
    with pytest.raises(LookupError, match=r"no message with body 'zzz' was handled in this run; handled: \['a'"):
        RESULT.outcome("zzz")
    with pytest.raises(LookupError, match="2 messages have body 'a'; use outcomes_of"):
        RESULT.outcome("a")


def test_assert_all_succeeded_names_each_failure() -> None:
    with pytest.raises(AssertionError, match=r"1 of 3 messages did not succeed:\n  '\{\"bad\": true\}': error after 2"):
        RESULT.assert_all_succeeded()
    RunResult((outcome("m1", "success"),), {"m1": "a"}).assert_all_succeeded()


def test_a_message_the_runner_never_saw_is_named_by_its_id() -> None:
    assert RunResult((outcome("m9", "success"),)).succeeded == ["<message m9>"]


def test_repr_reads_as_a_summary() -> None:
    assert repr(RESULT) == (
        "RunResult(3 messages, 4 tries: error=2, success=2; succeeded=['a', 'a'], "
        """failed=['{"bad": true}'], dead_lettered=['{"bad": true}'])"""
    )
    assert repr(RunResult(())) == "RunResult(0 messages, 0 tries: none; succeeded=[], failed=[], dead_lettered=[])"


def test_bodies_are_strings_or_json() -> None:
    assert encode_body("as is") == "as is"
    assert encode_body({"b": 1, "a": [2]}) == '{"b": 1, "a": [2]}'
    with pytest.raises(TypeError, match="body: bytes are not a message body"):
        encode_body(b"x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="neither a string nor JSON-encodable"):
        encode_body({"when": object()})
