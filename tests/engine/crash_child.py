"""A producer/consumer that a durability test kills with SIGKILL at a random moment.

It prints ``SENT <body>`` only after a send returned, ``DELETING <body>`` before it asks to delete a message and
``DELETED <body>`` only after that delete returned. Every SENT message never announced as DELETING must survive
the kill; every DELETED one must stay gone; a DELETING one may be either, since the kill may fall between the
commit and the line.
"""

from __future__ import annotations

import os
import sys

import anyio

from consumerkit.engine import DeleteEntry, Engine, SendEntry


def say(kind: str, bodies: list[str]) -> None:
    """One write() per batch, a few hundred bytes: atomic on a pipe (under PIPE_BUF), so a kill never cuts a
    line (print's buffer may flush in the middle of one)."""
    os.write(1, "".join(f"{kind} {b}\n" for b in bodies).encode())


async def main(path: str, prefix: str) -> None:
    async with Engine.open(f"sqlite:///{path}") as engine:
        url = await engine.create_queue("durable")
        n = 0
        while True:
            bodies = [f"{prefix}-{n + i}" for i in range(10)]
            n += 10
            await engine.send_message_batch(url, [SendEntry(b, id=str(i)) for i, b in enumerate(bodies)])
            say("SENT", bodies)
            got = await engine.receive_message(url, max_messages=10, visibility_timeout=600)
            done = got[: len(got) // 2 + 1]
            say("DELETING", [m.body for m in done])
            result = await engine.delete_message_batch(
                url, [DeleteEntry(str(i), m.receipt_handle) for i, m in enumerate(done)]
            )
            assert not result.failed, result.failed
            say("DELETED", [m.body for m in done])


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], sys.argv[2])
