"""Run a subprocess (ffmpeg, say) from a handler so that cancelling the job stops the whole process tree.

A plain subprocess outlives a cancelled job: the encode goes on burning CPU after a timeout, a lost lease or a
shutdown, and its children survive it. :func:`run_process` starts the command in a new session (its own
process group) and, when the job is cancelled, sends SIGTERM to the group, waits ``grace`` seconds, then sends
SIGKILL: nothing it started is left behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence

import anyio
import anyio.abc

from consumerkit.errors import ConsumerkitError

__all__ = ["ProcessError", "run_process"]


class ProcessError(ConsumerkitError):
    """The command exited non-zero; ``returncode`` and the tail of its ``stderr`` say why."""

    def __init__(self, command: Sequence[str], returncode: int, stderr: bytes) -> None:
        tail = stderr[-2000:].decode(errors="replace")
        super().__init__(f"{command[0]} exited with status {returncode}: {tail}")
        self.returncode = returncode
        self.stderr = stderr


async def run_process(
    command: Sequence[str],
    *,
    input: bytes | None = None,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    grace: float = 2.0,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``command`` (an argument list, never a shell string) to completion and return its output."""
    process = await anyio.open_process(
        list(command),
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        cwd=cwd,
        env=env,
        start_new_session=True,
    )
    try:
        stdout, stderr = await _communicate(process, input)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await _terminate(process, grace)
        raise
    returncode = process.returncode if process.returncode is not None else await process.wait()
    if check and returncode != 0:
        raise ProcessError(command, returncode, stderr)
    return subprocess.CompletedProcess(list(command), returncode, stdout, stderr)


async def _communicate(process: anyio.abc.Process, input: bytes | None) -> tuple[bytes, bytes]:
    out: list[bytes] = []
    err: list[bytes] = []

    async def drain(stream: anyio.abc.ByteReceiveStream | None, into: list[bytes]) -> None:
        if stream is not None:
            async for chunk in stream:
                into.append(chunk)

    async with anyio.create_task_group() as tg:
        tg.start_soon(drain, process.stdout, out)
        tg.start_soon(drain, process.stderr, err)
        if input is not None and process.stdin is not None:
            await process.stdin.send(input)
            await process.stdin.aclose()
        await process.wait()
    return b"".join(out), b"".join(err)


async def _terminate(process: anyio.abc.Process, grace: float) -> None:
    """SIGTERM the process group, then SIGKILL it if it is still there after ``grace`` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        if wait is None:
            await process.wait()
            return
        with anyio.move_on_after(wait):
            await process.wait()
            # the leader is gone; its group may not be: make sure of the children too
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            return
