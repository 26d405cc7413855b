"""``make run``'s example runs end to end on a fresh SQLite store and dead-letters its poison job."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quickstart_encodes_four_jobs_and_dead_letters_the_fifth(tmp_path: Path) -> None:
    env = {**os.environ, "CONSUMERKIT_STORE": f"sqlite:///{tmp_path / 'q.db'}", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert out.count("encoded ->") == 4
    assert out.count("failed (job has no source video)") == 3
    assert "videos: 0 waiting, 0 in flight" in out
    assert 'dead-lettered after 3 receives: {"broken": "yes"}' in out
