"""``python -m examples.fanout``: SNS-wrapped orders, S3 events direct and through SNS, each decoded by its typed
handler, and the two bodies that do not decode dead-lettered; on either store of the embedded engine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_the_fanout_example(store: str) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "examples.fanout", "--store", store, "--timeout", "30"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert "order A-1: 1 x intro.mov for acme (topic arn:aws:sns:eu-west-1:123456789012:orders)" in lines
    assert "order A-2: 3 x outro.mov for ? (topic arn:aws:sns:eu-west-1:123456789012:orders)" in lines
    assert "s3 test event from bucket media-inbox: skipped" in lines
    assert "s3 ObjectCreated:Put: media-inbox/raw/summer holiday.mov (734003200 bytes)" in lines  # '+' decoded
    assert "s3 ObjectCreated:Put: media-inbox/raw/café crème+1.mp4 (52428800 bytes)" in lines  # '%2B', UTF-8
    assert "via sns 'Amazon S3 Notification': ObjectCreated:Put media-inbox/raw/trailer 2.mkv" in lines
    failed = [line for line in lines if " failed: " in line]
    assert len(failed) == 4  # two bad bodies, two tries each
    assert sum("field 'Message': body does not fit Order" in line for line in failed) == 2
    assert sum("field 'Records[0].eventSource' is missing" in line for line in failed) == 2
    assert lines[-1] == "done: 2 messages that did not decode are in the dead-letter queues"
