"""A ``text`` block right after a Python block that prints shows what that block prints (docs/testing.md's
RunResult and NotIdleError), so a change to a ``repr`` or an error message cannot leave the page behind.

The page runs as ``test_code_blocks.py`` runs it (``pyexec.py``, one namespace, its ``file`` blocks written first),
with a marker printed after each block so that each block's output can be told apart. The comparison is
normalised: whitespace runs are one space (the page wraps long lines), message ids are ``<id>``, a measured hold
time is ``<n> s``, and the worker's JSON log lines are left out.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest

from tests.docs.blocks import ROOT, Block, blocks_of, pages

HERE = Path(__file__).parent
MARKER = "@@docs-block-end {line}@@"
UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
HELD_FOR = re.compile(r"\bfor \d+(?:\.\d+)? s\b")  # how long a handler held its message: real time, varies


def samples(page: str) -> list[tuple[Block, Block]]:
    """Each Python block that prints, with the ``text`` block that follows it on the page."""
    return [
        (code, shown)
        for code, shown in pairwise(blocks_of(page))
        if code.language == "python" and shown.language == "text" and "print(" in code.code
    ]


def normalised(text: str) -> str:
    return HELD_FOR.sub("for <n> s", UUID.sub("<id>", " ".join(without_logs(text).split())))


def without_logs(text: str) -> str:
    """``text`` without the JSON log lines the worker writes on stdout as it runs the block."""
    return "\n".join(line for line in text.splitlines() if not _is_log_line(line))


def _is_log_line(line: str) -> bool:
    try:
        record = json.loads(line)
    except ValueError:
        return False
    return isinstance(record, dict) and "event" in record and "level" in record


def printed_by_block(page: str, upto: int, work: Path) -> dict[int, str]:
    """What each Python block of ``page`` up to line ``upto`` prints, by the block's line."""
    python = [b for b in blocks_of(page) if b.language == "python" and b.line <= upto]
    for block in blocks_of(page):
        if block.file is not None:
            (work / block.file).parent.mkdir(parents=True, exist_ok=True)
            (work / block.file).write_text(block.code)
    spec: list[dict[str, object]] = []
    for block in python:
        where = {"page": page, "path": str(ROOT / page), "line": block.line}
        spec += [
            {**where, "fresh": block.fresh, "code": block.code},
            {**where, "fresh": False, "code": f"print({MARKER.format(line=block.line)!r}, flush=True)"},
        ]
    (work / "blocks.json").write_text(json.dumps(spec))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CONSUMERKIT_")) and k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, str(HERE / "pyexec.py"), "blocks.json"],
        cwd=work, env={**env, "CONSUMERKIT_BACKEND": "memory://", "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    outputs, rest = {}, done.stdout
    for block in python:
        outputs[block.line], _, rest = rest.partition(MARKER.format(line=block.line) + "\n")
    return outputs


@pytest.mark.parametrize("page", [page for page in pages() if samples(page)])
def test_sample_output_is_what_the_code_prints(page: str, tmp_path: Path) -> None:
    pairs = samples(page)
    printed = printed_by_block(page, max(code.line for code, _ in pairs), tmp_path)
    drifted = [
        f"{shown.where}: not what the block at line {code.line} prints, which is:\n{without_logs(printed[code.line])}"
        for code, shown in pairs
        if normalised(printed[code.line]) != normalised(shown.code)
    ]
    assert not drifted, "\n".join(drifted)


def test_normalising_keeps_what_differs() -> None:
    shown = "the app was not idle after 0.5 s:\n  holds message 593d0787-8a62-4bc2-b834-b10f049cd31b"
    log = json.dumps({"event": "worker stopped", "level": "info"})
    same = f"the app was not idle after 0.5 s: holds message 184ed6bc-c5bf-4ca2-b62d-f825734c77dc\n{log}"
    assert normalised(shown) == normalised(same)
    assert normalised(shown) != normalised(shown.replace("0.5 s:", "0.6 s:"))
    assert normalised("held for 0.5 s") == normalised("held for 0.7 s")
