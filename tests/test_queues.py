"""Declared queues: the attributes CreateQueue gets, and the mistakes refused before any call."""

from __future__ import annotations

import json

import pytest

from consumerkit import ConfigError, QueueSpec


def test_a_queue_with_its_dead_letter_queue() -> None:
    spec = QueueSpec("videos", dead_letter="videos-dlq", max_receives=4, visibility_timeout=300)
    attributes = spec.attributes("arn:aws:sqs:us-east-1:000000000000:videos-dlq")
    assert attributes["VisibilityTimeout"] == "300"
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:videos-dlq",
        "maxReceiveCount": 4,
    }
    assert spec.dead_letter_attributes() == {"MessageRetentionPeriod": "1209600"}


def test_fifo_queues_and_their_dlqs_are_fifo() -> None:
    spec = QueueSpec("jobs.fifo", dead_letter="jobs-dlq.fifo")
    assert spec.attributes(None) == {"FifoQueue": "true"}
    assert spec.dead_letter_attributes()["FifoQueue"] == "true"


@pytest.mark.parametrize(
    ("kwargs", "wording"),
    [
        ({"name": "q", "max_receives": 0}, "max_receives=0 is out of range: 1..1000"),
        ({"name": "q", "dead_letter": "q"}, "dead_letter cannot be the queue itself"),
        ({"name": "q.fifo", "dead_letter": "dlq"}, "must be the same type"),
        ({"name": "q", "visibility_timeout": 43_201}, "visibility_timeout=43201 is out of range"),
    ],
)
def test_mistakes(kwargs: dict[str, object], wording: str) -> None:
    with pytest.raises(ConfigError, match=wording):
        QueueSpec(**kwargs)  # type: ignore[arg-type]
