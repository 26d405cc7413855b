"""The example worker's handlers, tested the way a user would test theirs: its own ``app`` on the testing
kit's runner, in-process, its back-offs and redrive in simulated time."""

from __future__ import annotations

import pytest

from consumerkit.testing import Runner
from examples.worker import app


async def test_the_example_encodes_good_jobs_and_reports_the_broken_one(capsys: pytest.CaptureFixture[str]) -> None:
    jobs = [{"source": f"clip-{n}.mov"} for n in range(4)]
    async with Runner(app) as runner:
        await runner.send("videos", *jobs, {"source": "clip-4.broken"})
        result = await runner.run_until_idle()
    assert all(result.outcome(job).outcome == "success" for job in jobs)
    broken = result.outcomes_of({"source": "clip-4.broken"})
    # three failed tries on videos (max_receives=3), then the dead-letter handler's successful report
    assert [(o.queue, o.outcome, o.receive_count) for o in broken] == [
        ("videos", "error", 1), ("videos", "error", 2), ("videos", "error", 3), ("videos-dlq", "success", 4),
    ]  # fmt: skip
    assert result.dead_lettered == ()  # the report deleted it
    printed = capsys.readouterr().out
    assert 'dead-lettered after 3 failed tries: {"source": "clip-4.broken"}' in printed
