"""``consumerkit queue send`` and ``queue peek`` on the local engine and over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from consumerkit.cli.main import main
from consumerkit.engine.model import MAX_BATCH_BYTES
from tests.cli.conftest import Invoke, failed, interrupted, ok
from tests.cli.test_dlq import counted


def peek(ck: Invoke, name: str, *extra: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in ok(ck("queue", "peek", name, "--json", *extra)).splitlines()]


def test_send_takes_an_argument_a_file_or_stdin_lines(ck: Invoke, queue_name: str, tmp_path: Path) -> None:
    ok(ck("queue", "create", queue_name))
    assert ok(ck("queue", "send", queue_name, "from an argument")) == f"sent 1 message to {queue_name}\n"
    lines = tmp_path / "jobs.jsonl"
    lines.write_text("".join(f'{{"job": {i}}}\n' for i in range(12)) + "\n\r\n")  # blank lines are skipped
    assert ok(ck("queue", "send", queue_name, "--file", str(lines))) == f"sent 12 messages to {queue_name}\n"
    stdin = "".join(f"line {i}\n" for i in range(23))  # three batches
    assert ok(ck("queue", "send", queue_name, "-", input=stdin)) == f"sent 23 messages to {queue_name}\n"
    peeked = peek(ck, queue_name, "--max", "100")  # several batches, each hidden until the peek is done
    bodies = {m["body"] for m in peeked}
    assert len(peeked) == 36 and {m["receive_count"] for m in peeked} == {1}  # each received once
    assert {m["receive_count"] for m in peek(ck, queue_name, "--max", "100")} == {2}  # visible again after it
    assert bodies == {"from an argument", *(f'{{"job": {i}}}' for i in range(12)), *(f"line {i}" for i in range(23))}


def test_send_with_delay_and_fifo_options(ck: Invoke, queue_name: str) -> None:
    fifo = f"{queue_name}.fifo"
    ok(ck("queue", "create", fifo))
    needs_group = ck("queue", "send", fifo, "x")
    assert needs_group.exit_code == 2 and "--group-id" in needs_group.stderr
    ok(ck("queue", "send", fifo, "first", "--group-id", "g", "--dedup-id", "d1"))
    ok(ck("queue", "send", fifo, "again", "--group-id", "g", "--dedup-id", "d1"))  # deduplicated by SQS
    (message,) = peek(ck, fifo)
    attributes = message["attributes"]
    assert isinstance(attributes, dict)
    assert (message["body"], attributes["MessageGroupId"], attributes["MessageDeduplicationId"]) == ("first", "g", "d1")
    assert "--dedup-id names one message" in failed(
        ck("queue", "send", fifo, "-", "--group-id", "g", "--dedup-id", "d2", input="a\nb\n")
    )
    ok(ck("queue", "create", queue_name))
    ok(ck("queue", "send", queue_name, "later", "--delay", "600"))
    counts = json.loads(ok(ck("queue", "list", "--prefix", queue_name, "--json")))
    assert [(row["name"], row["delayed"]) for row in counts if row["name"] == queue_name] == [(queue_name, 1)]


def test_refused_lines_are_reported_and_the_command_fails(ck: Invoke, queue_name: str) -> None:
    ok(ck("queue", "create", queue_name))
    result = ck("queue", "send", queue_name, "-", input="fine\nbad \x01 char\nalso fine\n")
    assert result.exit_code == 1
    assert result.stdout == f"sent 2 messages to {queue_name}\n"
    refusal, summary = result.stderr.splitlines()
    assert refusal.startswith("not sent: line 2: InvalidMessageContents: ")
    assert summary == "error: 1 of 3 messages not sent"


def test_send_wants_exactly_one_source(ck: Invoke, queue_name: str, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x\n")
    for args in ((), ("body", "--file", str(tmp_path / "f"))):
        result = ck("queue", "send", queue_name, *args)
        assert result.exit_code == 2 and "give BODY (or - for stdin lines) or --file PATH" in result.stderr
    empty = ck("queue", "send", queue_name, " ")
    assert empty.exit_code == 2 and "SQS refuses an empty message" in empty.stderr


def test_peek_leaves_messages_on_the_queue_but_counts_a_receive(ck: Invoke, queue_name: str) -> None:
    ok(ck("queue", "create", queue_name))
    long_body = "x" * 200
    ok(ck("queue", "send", queue_name, "-", input=f"short\n{long_body}\n"))
    first = {m["body"]: m for m in peek(ck, queue_name)}
    second = {m["body"]: m for m in peek(ck, queue_name)}
    assert set(first) == set(second) == {"short", long_body}
    assert (first["short"]["receive_count"], second["short"]["receive_count"]) == (1, 2)
    table = ok(ck("queue", "peek", queue_name))
    assert "short" in table and long_body not in table and "x" * 79 + "…" in table
    assert long_body in ok(ck("queue", "peek", queue_name, "--full")).replace("\n", "").replace("│", "").replace(
        " ", ""
    )
    assert len(peek(ck, queue_name, "--max", "1")) == 1


def test_peek_can_dead_letter_a_message_as_its_help_says(ck: Invoke, queue_name: str) -> None:
    assert "moves it to the dead-letter queue" in " ".join(ok(ck("queue", "peek", "--help")).split())
    ok(ck("queue", "create", queue_name, "--dead-letter", f"{queue_name}-dlq", "--max-receives", "1"))
    ok(ck("queue", "send", queue_name, "fragile"))
    assert [m["body"] for m in peek(ck, queue_name)] == ["fragile"]  # receive 1 of 1
    assert ok(ck("queue", "peek", queue_name)) == f"no visible messages in {queue_name}\n"  # dead-lettered instead
    assert [m["body"] for m in peek(ck, f"{queue_name}-dlq")] == ["fragile"]


def test_a_send_cut_short_says_how_many_went_and_the_line_to_resume_from(ck: Invoke, queue_name: str) -> None:
    ok(ck("queue", "create", queue_name))
    too_long = "x" * (MAX_BATCH_BYTES + 1)  # alone in its batch, and still over SendMessageBatch's limit
    result = ck("queue", "send", queue_name, "-", input=f"a\n\nb\n{too_long}\nnever sent\n")
    assert result.stdout == ""
    message = failed(result)
    assert message.startswith("sent 2; stopped at line 4: SendMessageBatch: "), message  # blank lines count
    assert "BatchRequestTooLong" in message and "xxx" not in message
    assert sorted(m["body"] for m in peek(ck, queue_name)) == ["a", "b"]


def test_ctrl_c_stops_a_long_send_with_its_count(cli_url: str, queue_name: str, tmp_path: Path) -> None:
    """Even on the local engine, which never waits on anything: the count said is what reached the queue."""
    ok(CliRunner().invoke(main, ["queue", "create", queue_name, "--backend", cli_url]))
    lines = tmp_path / "many.txt"
    lines.write_text("m\n" * 500_000)  # far more than a test waits for
    err = interrupted(
        cli_url, lambda: counted(cli_url, queue_name) > 0, "queue", "send", queue_name, "--file", str(lines)
    )
    sent = int(err.removeprefix("error: interrupted: sent ").split(";")[0])
    line = f"error: interrupted: sent {sent}; stopped at line {sent + 1}"
    in_flight = " (the batch from that line may have reached the queue too)"  # stopped while a batch went
    assert err in (f"{line}\n", f"{line}{in_flight}\n")
    on_queue = counted(cli_url, queue_name)
    assert sent <= on_queue <= sent + (10 if in_flight in err else 0)
    assert on_queue < 500_000  # it stopped there, not at the end of the file
