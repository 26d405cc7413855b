"""``consumerkit queue create|list|attributes|purge|delete`` on the local engine and over HTTP."""

from __future__ import annotations

import json

from tests.cli.conftest import Invoke, failed, ok


def attributes(ck: Invoke, name: str) -> dict[str, str]:
    return dict(json.loads(ok(ck("queue", "attributes", name, "--json"))))


def test_create_makes_the_dead_letter_queue_first_and_redrives_to_it(ck: Invoke, queue_name: str) -> None:
    dlq = f"{queue_name}-dlq"
    args = ("queue", "create", queue_name, "--dead-letter", dlq, "--max-receives", "3", "--visibility-timeout", "45")
    out = ok(ck(*args, "--retention", "3600", "--delay", "2", "--attribute", "ReceiveMessageWaitTimeSeconds=5"))
    assert out.splitlines()[0].startswith(f"dead-letter queue {dlq}: ")
    assert "dead-lettered after 3 receives" in out.splitlines()[1]
    got, dead = attributes(ck, queue_name), attributes(ck, dlq)
    assert json.loads(got["RedrivePolicy"]) == {"deadLetterTargetArn": dead["QueueArn"], "maxReceiveCount": 3}
    assert (got["VisibilityTimeout"], got["MessageRetentionPeriod"], got["DelaySeconds"]) == ("45", "3600", "2")
    assert got["ReceiveMessageWaitTimeSeconds"] == "5"
    assert dead["MessageRetentionPeriod"] == "1209600"  # the DLQ keeps its messages as long as SQS allows
    assert ok(ck(*args, "--retention", "3600", "--delay", "2", "--attribute", "ReceiveMessageWaitTimeSeconds=5"))
    refused = failed(ck(*args, "--retention", "7200"))  # same name, other attributes
    assert refused.startswith("CreateQueue: QueueAlreadyExists: ") and "MessageRetentionPeriod" in refused


def test_create_fifo_makes_a_fifo_dead_letter_queue(ck: Invoke, queue_name: str) -> None:
    ok(ck("queue", "create", f"{queue_name}.fifo", "--fifo", "--dead-letter", f"{queue_name}-dlq.fifo"))
    assert attributes(ck, f"{queue_name}-dlq.fifo")["FifoQueue"] == "true"
    assert attributes(ck, f"{queue_name}.fifo")["FifoQueue"] == "true"


def test_create_refuses_bad_input_naming_the_field_and_limit(ck: Invoke, queue_name: str) -> None:
    cases = {
        ("--retention", "5"): "'--retention': 5 is not in the range 60<=x<=1209600",
        ("--max-receives", "0"): "'--max-receives': 0 is not in the range 1<=x<=1000",
        ("--delay", "901"): "'--delay': 901 is not in the range 0<=x<=900",
        ("--fifo",): "a FIFO queue's name must end in .fifo",
        ("--dead-letter", f"{queue_name}.fifo"): "must be the same type (FIFO or not)",
        ("--attribute", "NoEquals"): "'NoEquals' is not Key=Value",
    }
    for extra, message in cases.items():
        result = ck("queue", "create", queue_name, *extra)
        assert result.exit_code == 2 and message in result.stderr, (extra, result.stderr)
    assert ok(ck("queue", "list", "--prefix", queue_name)) == f"no queues starting with {queue_name!r}\n"


def test_list_shows_counts_and_marks_dead_letter_queues(ck: Invoke, queue_name: str) -> None:
    ok(ck("queue", "create", queue_name, "--dead-letter", f"{queue_name}-dlq"))
    ok(ck("queue", "send", queue_name, "hello"))
    rows = {row["name"]: row for row in json.loads(ok(ck("queue", "list", "--prefix", queue_name, "--json")))}
    assert set(rows) == {queue_name, f"{queue_name}-dlq"}
    source, dlq = rows[queue_name], rows[f"{queue_name}-dlq"]
    assert (source["visible"], source["in_flight"], source["delayed"]) == (1, 0, 0)
    assert (source["is_dead_letter_queue"], dlq["is_dead_letter_queue"]) == (False, True)
    assert source["dead_letter_target"] == dlq["arn"]
    table = ok(ck("queue", "list", "--prefix", queue_name))
    assert f"→ {queue_name}-dlq" in table and "(is a DLQ)" in table
    assert ok(ck("queue", "list", "--prefix", f"{queue_name}-none")) == f"no queues starting with '{queue_name}-none'\n"


def test_attributes_are_shown_and_set(ck: Invoke, queue_name: str) -> None:
    ok(ck("queue", "create", queue_name))
    shown = ok(ck("queue", "attributes", queue_name, "--set", "VisibilityTimeout=120", "--set", "DelaySeconds=1"))
    assert any(line.split() == ["VisibilityTimeout", "120"] for line in shown.splitlines())
    assert attributes(ck, queue_name)["DelaySeconds"] == "1"
    assert "VisibilityTimeout" in failed(ck("queue", "attributes", queue_name, "--set", "VisibilityTimeout=99999"))


def test_purge_and_delete_ask_first_and_refuse_without_a_terminal(ck: Invoke, queue_name: str) -> None:
    ok(ck("queue", "create", queue_name))
    ok(ck("queue", "send", queue_name, "one"))
    for command in ("purge", "delete"):
        assert "no terminal to confirm on, so pass --yes" in failed(ck("queue", command, queue_name))
        # the auto variable click would read for --yes is ignored: a confirmation is given on purpose
        refused = ck("queue", command, queue_name, env={f"CONSUMERKIT_QUEUE_{command.upper()}_YES": "1"})
        assert refused.exit_code == 1
    assert attributes(ck, queue_name)["ApproximateNumberOfMessages"] == "1"
    assert ok(ck("queue", "purge", queue_name, "--yes")) == f"purged {queue_name}\n"
    assert attributes(ck, queue_name)["ApproximateNumberOfMessages"] == "0"
    assert ok(ck("queue", "delete", queue_name, "--yes")) == f"deleted {queue_name}\n"
    assert failed(ck("queue", "attributes", queue_name)) == f"queue {queue_name!r} does not exist"


def test_a_missing_queue_is_one_line_for_every_command(ck: Invoke, queue_name: str) -> None:
    for args in (("attributes",), ("send", "--", "x"), ("peek",), ("purge", "--yes"), ("delete", "--yes")):
        command, *rest = args
        assert failed(ck("queue", command, queue_name, *rest)) == f"queue {queue_name!r} does not exist", args
