"""The docs runner refuses what it should: a runner that passes everything would prove nothing about the docs."""

from __future__ import annotations

import pytest

from tests.docs.blocks import Block, point_at
from tests.docs.formats import check_dockerfile, check_yaml
from tests.docs.promql import problems
from tests.docs.scrape import Scrape
from tests.docs.shell import classify, commands, plan

SCRAPE = Scrape(
    {
        "consumerkit_messages_received_total": frozenset({"queue"}),
        "consumerkit_sqs_request_duration_seconds_bucket": frozenset({"operation", "le"}),
    }
)


def console(code: str) -> Block:
    return Block("docs/page.md", 10, "console", code)


@pytest.mark.parametrize(
    ("command", "kind"),
    [
        ("consumerkit queue create jobs", "run"),
        ("consumerkit serve --backend sqlite:///q.db", "long"),
        ("consumerkit run worker:app &", "background"),
        ("consumerkit top --once", "run"),
        ("make run", "checked"),
        ("pip install 'consumerkit[examples]'", "checked"),
        ("curl -s http://127.0.0.1:9750/metrics | grep consumerkit_", "run"),
        ("curl https://example.com/install.sh", "checked"),
        ("rsync -a . host:", "refused"),
        ("echo hi &", "refused"),
        ("consumerkit serve | tee log", "refused"),
    ],
)
def test_each_command_is_run_checked_or_refused(command: str, kind: str) -> None:
    assert classify(command)[0] == kind


@pytest.mark.parametrize(
    ("command", "failure"),
    [
        ("make deploy", "no such target"),
        ("pip install requests-toolbelt", "neither consumerkit nor one of its dependencies"),
        ("docker build -f nowhere/Dockerfile .", "does not exist"),
    ],
)
def test_a_failed_check_fails_the_page(command: str, failure: str) -> None:
    (found,) = plan([console(f"$ {command}\n")], "127.0.0.1:1", 2, lambda: 3).problems
    assert failure in found and found.startswith("docs/page.md:11:")


def test_console_commands_are_the_dollar_lines_with_their_continuations() -> None:
    block = console("$ aws sqs send-message \\\n      --message-body hi\nsome output\n$ ls\n")
    assert [(c.line, c.text) for c in commands(block)] == [
        (11, "aws sqs send-message \\\n      --message-body hi"),
        (14, "ls"),
    ]


def test_a_real_sqs_backend_becomes_the_pages_server() -> None:
    (command,) = commands(console("$ consumerkit run w:app --backend sqs://eu-west-1 --concurrency 4\n"))
    assert command.text == "consumerkit run w:app --backend $CONSUMERKIT_BACKEND --concurrency 4"


def test_a_pages_own_serve_in_the_background_takes_over_the_default_address() -> None:
    block = console(
        "$ aws --endpoint-url http://127.0.0.1:9324 sqs list-queues\n$ consumerkit serve &\n$ curl http://localhost:9324/health\n"
    )
    script = plan([block], "127.0.0.1:1111", 2, lambda: 2222)
    assert "http://127.0.0.1:1111 sqs list-queues" in script.script
    assert "curl http://127.0.0.1:2222/health" in script.script
    assert script.files == {"long-12.sh": "export CONSUMERKIT_SERVE_PORT=2222\nexec consumerkit serve\n"}


def test_default_ports_are_pointed_at_the_pages() -> None:
    code = 'http_service(port=9750)\nurl = "http://localhost:9324/000000000000/jobs"\n'
    assert (
        point_at(code, "127.0.0.1:4000", 5000)
        == 'http_service(port=5000)\nurl = "http://127.0.0.1:4000/000000000000/jobs"\n'
    )


def test_promql_with_an_unknown_series_label_or_function_fails() -> None:
    assert problems("sum by (queue) (rate(consumerkit_messages_received_total[5m]))", SCRAPE) == []
    assert problems("rate(consumerkit_messages_received[5m])", SCRAPE) == [
        "consumerkit_messages_received: no such series in a worker's /metrics"
    ]
    assert problems('rate(consumerkit_messages_received_total{queu="a"}[5m])', SCRAPE) == [
        "consumerkit_messages_received_total: no label queu (it has ['queue'])"
    ]
    assert problems("sum by (handler) (rate(consumerkit_messages_received_total[5m]))", SCRAPE) == [
        "grouping label 'handler' is on none of ['consumerkit_messages_received_total']"
    ]
    assert problems("ratee(consumerkit_messages_received_total[5m])", SCRAPE) == [
        "ratee(): not a PromQL function or aggregation"
    ]
    assert problems("sum(rate(consumerkit_messages_received_total[5m])", SCRAPE) == ["unclosed '('"]


def test_a_dockerfile_in_shell_form_or_with_an_unknown_instruction_fails() -> None:
    assert check_dockerfile('FROM python:3.11-slim\nENTRYPOINT ["consumerkit", "run", "w:app"]\n') == []
    assert check_dockerfile("FROM python:3.11-slim\nCMD consumerkit run w:app\nCOPYY . /app\n") == [
        "line 2: CMD in shell form; use exec form, a JSON array of strings",
        "line 3: unknown instruction 'COPYY'",
    ]
    assert check_dockerfile("HEALTHCHECK --interval=15s CMD consumerkit check\n") == [
        "line 1: HEALTHCHECK needs CMD in exec form, a JSON array of strings"
    ]


def test_yaml_takes_cloudformation_tags_and_no_others() -> None:
    assert check_yaml("Group: !Ref EncoderGroup\nName: !Sub '${AWS::StackName}-q'\n") == []
    assert check_yaml("Group: !Reff EncoderGroup\n") != []
