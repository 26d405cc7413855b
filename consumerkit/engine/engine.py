"""The engine: SQS's API over a store, in-process.

The operations are grouped by concept in ``queues.py``, ``sending.py``, ``messages.py`` and ``movetasks.py``; this class
only assembles them and owns the store's life. Every method is a coroutine because a receive may wait, and so
that callers treat the engine exactly like a remote SQS. The stores' own calls are synchronous and short (tens
of microseconds, a SQLite transaction included), so they run on the event loop rather than paying a thread
hop on every call; a SQLite file locked by another process can hold the loop for up to its ``busy_timeout``.
"""

from __future__ import annotations

from types import TracebackType

from consumerkit.clock import Clock
from consumerkit.engine.context import DEFAULT_ACCOUNT, DEFAULT_ENDPOINT, DEFAULT_REGION
from consumerkit.engine.messages import MessageOps
from consumerkit.engine.movetasks import MoveTaskOps
from consumerkit.engine.queues import QueueOps
from consumerkit.engine.sending import SendOps
from consumerkit.engine.store import open_store

__all__ = ["Engine"]


class Engine(QueueOps, SendOps, MessageOps, MoveTaskOps):
    """A faithful SQS in-process: ``async with Engine.open("memory://") as sqs: ...``."""

    @classmethod
    def open(
        cls,
        url: str = "memory://",
        clock: Clock | None = None,
        *,
        account_id: str = DEFAULT_ACCOUNT,
        region: str = DEFAULT_REGION,
        endpoint: str = DEFAULT_ENDPOINT,
        max_in_flight: int | None = 120_000,
    ) -> Engine:
        """An engine on the store ``url`` names: ``memory://`` or ``sqlite:///path.db[?synchronous=FULL]``.

        ``endpoint`` is the base of the queue URLs it hands out; ``max_in_flight`` the in-flight quota (None: off).
        """
        store = open_store(url)
        return cls(store, clock, account_id=account_id, region=region, endpoint=endpoint, max_in_flight=max_in_flight)

    async def __aenter__(self) -> Engine:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self.store.close()

    def __repr__(self) -> str:
        return f"Engine({self.store!r}, account_id={self.account_id!r}, region={self.region!r})"
