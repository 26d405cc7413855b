"""examples/worker.py, the small worker: it encodes four jobs, dead-letters the broken one, and stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).parents[2] / "examples" / "worker.py"


def test_the_example_worker(tmp_path: Path) -> None:
    env = {**os.environ, "CONSUMERKIT_BACKEND": f"sqlite:///{tmp_path}/queues.db"}
    process = subprocess.Popen([sys.executable, str(EXAMPLE)], cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
    lines: list[str] = []
    try:
        assert process.stdout is not None
        while not any(line.startswith("dead-lettered") for line in lines):
            line = process.stdout.readline()
            assert line, f"the example exited early: {lines}"
            lines.append(line)
        process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        rest, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    encoded = sorted(line.split()[1] for line in lines if line.startswith("encoded"))
    assert encoded == [f"clip-{n}.mov" for n in range(4)]
    assert "clip-4.broken" in next(line for line in lines if line.startswith("dead-lettered"))
    assert "worker stopped" in rest
