"""``consumerkit dlq redrive``: by move task where the backend has them, else receive → send → delete; an
interrupted redrive loses nothing."""

from __future__ import annotations

import json

import anyio
import pytest
from click.testing import CliRunner, Result

from consumerkit.backends import AdminBackend, open_backend
from consumerkit.cli.main import main
from tests.cli.conftest import Invoke, failed, interrupted, ok
from tests.fixtures.backends import remote_env


def bodies(ck: Invoke, name: str) -> list[str]:
    lines = ok(ck("queue", "peek", name, "--json", "--max", "100", "--wait", "0")).splitlines()
    return sorted(json.loads(line)["body"] for line in lines)


def dead_letter(ck: Invoke, name: str, *messages: str) -> str:
    """Queue ``name`` with a DLQ after one receive, and ``messages`` sent and dead-lettered; returns the DLQ."""
    fifo = name.endswith(".fifo")
    dlq = name.replace(".fifo", "-dlq.fifo") if fifo else f"{name}-dlq"
    extra = ("--attribute", "ContentBasedDeduplication=true") if fifo else ()
    ok(ck("queue", "create", name, "--dead-letter", dlq, "--max-receives", "1", *extra))
    group = ("--group-id", "g1") if fifo else ()
    ok(ck("queue", "send", name, "-", *group, input="".join(f"{m}\n" for m in messages)))
    ok(ck("queue", "peek", name, "--max", "100", "--wait", "0"))  # each message's one receive
    assert ok(ck("queue", "peek", name, "--wait", "0")) == f"no visible messages in {name}\n"  # the next: DLQ
    assert bodies(ck, dlq) == sorted(messages)
    return dlq


def test_a_move_task_returns_dead_letters_to_their_source(ck: Invoke, queue_name: str) -> None:
    dlq = dead_letter(ck, queue_name, "a", "b", "c")
    out = ok(ck("dlq", "redrive", dlq))
    assert out == f"moved 3 of 3 messages from {dlq} to {queue_name} (move task)\n"
    assert (bodies(ck, queue_name), bodies(ck, dlq)) == (["a", "b", "c"], [])


def test_a_dlq_of_one_queue_returns_a_copy_sent_to_it_too(ck: Invoke, queue_name: str) -> None:
    """A Reject sends its copy to the DLQ, so SQS knows no source for it; the DLQ's one source queue is named."""
    dlq = dead_letter(ck, queue_name, "redriven")
    ok(ck("queue", "send", dlq, "rejected"))
    out = ok(ck("dlq", "redrive", dlq))
    assert out == f"moved 2 of 2 messages from {dlq} to {queue_name} (move task)\n"
    assert (bodies(ck, queue_name), bodies(ck, dlq)) == (["redriven", "rejected"], [])


def test_a_dlq_of_several_queues_sends_each_back_and_asks_for_to_for_a_copy(ck: Invoke, queue_name: str) -> None:
    dlq = dead_letter(ck, queue_name, "first")
    second = f"{queue_name}-2"
    ok(ck("queue", "create", second, "--dead-letter", dlq, "--max-receives", "1"))
    ok(ck("queue", "send", second, "second"))
    ok(ck("queue", "peek", second, "--wait", "0"))
    ok(ck("queue", "peek", second, "--wait", "0"))  # dead-letters it
    assert ok(ck("dlq", "redrive", dlq)) == f"moved 2 of 2 messages from {dlq} to their source queues (move task)\n"
    assert (bodies(ck, queue_name), bodies(ck, second)) == (["first"], ["second"])

    ok(ck("queue", "send", dlq, "rejected"))
    message = failed(ck("dlq", "redrive", dlq))
    assert message.startswith("move task failed after 0 of 1 messages: ") and message.endswith(
        "; messages with no source queue to go back to (a Reject's copy, say) need --to QUEUE"
    )
    assert bodies(ck, dlq) == ["rejected"]  # handed back, not lost
    assert (
        ok(ck("dlq", "redrive", dlq, "--to", second)) == f"moved 1 of 1 messages from {dlq} to {second} (move task)\n"
    )


def test_a_rate_limited_move_task_to_another_queue(ck: Invoke, queue_name: str) -> None:
    dlq = dead_letter(ck, queue_name, "a", "b")
    other = f"{queue_name}-other"
    ok(ck("queue", "create", other))
    out = ok(ck("dlq", "redrive", dlq, "--to", other, "--rate", "50"))
    assert out == f"moved 2 of 2 messages from {dlq} to {other} (move task)\n"
    assert (bodies(ck, other), bodies(ck, queue_name)) == (["a", "b"], [])


def test_a_manual_redrive_goes_to_the_only_source(ck: Invoke, queue_name: str) -> None:
    dlq = dead_letter(ck, queue_name, *"abcdefghijkl")  # two batches
    out = ok(ck("dlq", "redrive", dlq, "--manual", "--rate", "500"))
    assert out == f"moved 12 of 12 messages from {dlq} to {queue_name} (receive, send, delete)\n"
    assert (bodies(ck, queue_name), bodies(ck, dlq)) == (list("abcdefghijkl"), [])


def test_a_manual_fifo_redrive_keeps_groups(ck: Invoke, queue_name: str) -> None:
    fifo = f"{queue_name}.fifo"
    dlq = dead_letter(ck, fifo, "a", "b")
    ok(ck("dlq", "redrive", dlq, "--manual"))
    lines = ok(ck("queue", "peek", fifo, "--json")).splitlines()
    assert [(m["body"], m["attributes"]["MessageGroupId"]) for m in map(json.loads, lines)] == [
        ("a", "g1"),
        ("b", "g1"),
    ]


def test_a_manual_redrive_needs_to_when_the_source_is_not_one_queue(ck: Invoke, queue_name: str) -> None:
    dlq = dead_letter(ck, queue_name)
    second = f"{queue_name}-2"
    ok(ck("queue", "create", second, "--dead-letter", dlq))
    message = failed(ck("dlq", "redrive", dlq, "--manual"))
    assert message == f"{dlq} is the dead-letter queue of 2 queues ({queue_name}, {second}); say which with --to QUEUE"
    plain = f"{queue_name}-plain"
    ok(ck("queue", "create", plain))
    assert failed(ck("dlq", "redrive", plain, "--manual")).startswith(f"no queue names {plain} as its dead-letter")
    assert "must be configured as a Dead Letter Queue" in failed(ck("dlq", "redrive", plain))  # SQS says so too


def test_without_move_tasks_the_redrive_is_manual_and_says_so(
    moto_url: str, monkeypatch: pytest.MonkeyPatch, queue_name: str
) -> None:
    remote_env(monkeypatch)

    def ck(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(main, [*args], input=input, env={"CONSUMERKIT_BACKEND": moto_url})

    dlq = dead_letter(ck, queue_name, "a", "b")
    result = ck("dlq", "redrive", dlq)
    assert result.exit_code == 0, result.output
    assert result.stderr == "this backend has no message move tasks: moving by receive, send, delete\n"
    assert result.stdout == f"moved 2 of 2 messages from {dlq} to {queue_name} (receive, send, delete)\n"
    assert bodies(ck, queue_name) == ["a", "b"]


def counted(url: str, *names: str) -> int:
    """Every message of these queues, visible or in flight, read from the SQLite file or the server another
    process writes to."""

    async def count() -> int:
        async with open_backend(url) as backend:
            assert isinstance(backend, AdminBackend)
            total = 0
            for name in names:
                counts = await backend.queue_counts(await backend.get_queue_url(name))
                total += counts.visible + counts.in_flight
            return total

    return anyio.run(count)


def interrupted_redrive(url: str, queue_name: str, *options: str) -> tuple[str, int, str]:
    """Twenty dead letters of ``queue_name`` on the backend ``url``, a ``dlq redrive`` of them with
    ``options`` in a process of its own, and a Ctrl-C once it has moved some: the DLQ, the count the command
    says it moved, and its one line on stderr, once it has exited 130 with nothing on stdout."""

    def ck(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(main, [*args], input=input, env={"CONSUMERKIT_BACKEND": url})

    dlq = dead_letter(ck, queue_name, *(f"m{i}" for i in range(20)))
    # the options slow it down: seconds to go when the first arrive
    err = interrupted(url, lambda: counted(url, queue_name) > 0, "dlq", "redrive", dlq, *options)
    assert err.startswith("error: interrupted: moved "), err
    return dlq, int(err.split()[3]), err


def test_an_interrupted_manual_redrive_loses_nothing(cli_url: str, queue_name: str) -> None:
    url = cli_url  # a SQLite file, or a real `consumerkit serve` over HTTP
    # two a second: the first batch arrives at once, the rest would take 9 s
    dlq, moved, err = interrupted_redrive(url, queue_name, "--manual", "--rate", "2")
    assert err.endswith(f" of 20 messages from {dlq} to {queue_name} (receive, send, delete); the rest stay in {dlq}\n")
    assert 2 <= moved < 20
    assert counted(url, queue_name) == moved
    assert counted(url, queue_name, dlq) >= 20  # in the DLQ, in the source, or (at worst) in both


def test_ctrl_c_cancels_a_move_task_and_loses_nothing(cli_url: str, queue_name: str) -> None:
    url = cli_url  # a SQLite file, or a real `consumerkit serve` over HTTP
    # one a second: the first a second after the start, the rest would take 19 s more
    dlq, moved, err = interrupted_redrive(url, queue_name, "--rate", "1")
    assert err.endswith(f" of 20 messages from {dlq} to {queue_name} (move task, cancelled); the rest stay in {dlq}\n")
    assert 1 <= moved < 20
    assert counted(url, queue_name) == moved  # cancelled, so it moves no more
    assert counted(url, queue_name, dlq) == 20  # a move task moves each message atomically


def test_a_manual_redrive_of_large_messages_sends_batches_within_the_request_limit(ck: Invoke, queue_name: str) -> None:
    """Six 200 KB bodies pass SendMessageBatch's 1 MiB: they go as two requests, each deleted once accepted."""
    large = [letter * 200_000 for letter in "abcdef"]
    dlq = dead_letter(ck, queue_name, *large)
    out = ok(ck("dlq", "redrive", dlq, "--manual"))
    assert out == f"moved 6 of 6 messages from {dlq} to {queue_name} (receive, send, delete)\n"
    assert (bodies(ck, queue_name), bodies(ck, dlq)) == (large, [])
