"""A producer/consumer that a durability test kills with SIGKILL at a random moment.

It prints ``SENT <body>`` only after a send returned, ``DELETING <body>`` before it asks to delete a message and
``DELETED <body>`` only after that delete returned. Every SENT message never announced as DELETING must survive
the kill; every DELETED one must stay gone; a DELETING one may be either, since the kill may fall between the
commit and the line.
"""

from __future__ import annotations

import sys

import anyio

from consumerkit.engine import DeleteEntry, Engine, SendEntry


async def main(path: str, prefix: str) -> None:
    async with Engine.open(f"sqlite:///{path}") as engine:
        url = await engine.create_queue("durable")
        n = 0
        while True:
            bodies = [f"{prefix}-{n + i}" for i in range(10)]
            n += 10
            await engine.send_message_batch(url, [SendEntry(b, id=str(i)) for i, b in enumerate(bodies)])
            print("\n".join(f"SENT {b}" for b in bodies), flush=True)
            got = await engine.receive_message(url, max_messages=10, visibility_timeout=600)
            done = got[: len(got) // 2 + 1]
            print("\n".join(f"DELETING {m.body}" for m in done), flush=True)
            result = await engine.delete_message_batch(
                url, [DeleteEntry(str(i), m.receipt_handle) for i, m in enumerate(done)]
            )
            assert not result.failed, result.failed
            print("\n".join(f"DELETED {m.body}" for m in done), flush=True)


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], sys.argv[2])
