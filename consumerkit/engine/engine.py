"""The engine: SQS's API over a store, in-process.

The operations are grouped by concept in ``queues.py``, ``messages.py`` and ``movetasks.py``; this class
only assembles them and owns the store's life. Every method is a coroutine because a receive may wait, and so
that callers treat the engine exactly like a remote SQS.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from consumerkit.engine.clock import Clock
from consumerkit.engine.messages import MessageOps
from consumerkit.engine.movetasks import MoveTaskOps
from consumerkit.engine.queues import QueueOps
from consumerkit.engine.store import Store, open_store

__all__ = ["Engine"]


class Engine(QueueOps, MessageOps, MoveTaskOps):
    """A faithful SQS in-process: ``async with Engine.open("memory://") as sqs: ...``."""

    @classmethod
    def open(cls, url: str = "memory://", clock: Clock | None = None, **options: Any) -> Engine:
        """An engine on the store ``url`` names: ``memory://`` or ``sqlite:///path.db``."""
        return cls(open_store(url), clock, **options)

    def __init__(self, store: Store, clock: Clock | None = None, **options: Any) -> None:
        super().__init__(store, clock, **options)

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
