"""run_process: a cancelled job leaves no process behind, children included."""

from __future__ import annotations

import functools
import os
import sys
import threading
from pathlib import Path

import anyio
import anyio.to_thread
import pytest

from consumerkit import ProcessError, run_process

# A parent that starts a child, then waits forever (as ffmpeg's helpers might). Both hold the write end of a
# FIFO: the test reads the child's pid from it, and then end-of-file once neither process is left.
TREE = (
    "import os, subprocess, sys, time\n"
    "fifo = open(sys.argv[1], 'w')\n"
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'], pass_fds=[fifo.fileno()])\n"
    "fifo.write(f'{child.pid}\\n'); fifo.flush()\n"
    "time.sleep(600)\n"
)


def read_until_closed(path: str, started: threading.Event) -> str:
    with open(path) as fifo:
        pid = fifo.readline()
        started.set()
        fifo.read()  # returns at end-of-file: every process holding the FIFO has exited
    return pid


async def test_output_and_exit_status() -> None:
    done = await run_process([sys.executable, "-c", "import sys; print('ok'); sys.stdout.flush()"])
    assert done.stdout == b"ok\n" and done.returncode == 0
    echoed = await run_process([sys.executable, "-c", "import sys; sys.stdout.write(sys.stdin.read())"], input=b"hi")
    assert echoed.stdout == b"hi"
    with pytest.raises(ProcessError, match="exited with status 3: boom"):
        await run_process([sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"])


async def test_cancelling_kills_the_whole_process_group(tmp_path: Path) -> None:
    fifo = str(tmp_path / "tree")
    os.mkfifo(fifo)
    started = threading.Event()
    watch = functools.partial(anyio.to_thread.run_sync, abandon_on_cancel=True)
    job = anyio.CancelScope()

    async def encode() -> None:
        with job:
            await run_process([sys.executable, "-c", TREE, fifo])

    with anyio.fail_after(30):  # a child left alive keeps the FIFO open: the read below never ends
        async with anyio.create_task_group() as tg:
            tg.start_soon(encode)
            tg.start_soon(watch, read_until_closed, fifo, started)
            await watch(started.wait)
            job.cancel()  # the job is cancelled: SIGTERM goes to the group, so the child dies too
