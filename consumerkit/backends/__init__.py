"""How the runtime reaches a queue service: the :class:`Backend` protocol, its two implementations, and URLs.

``SqsBackend`` is imported on first use: aiobotocore and botocore take about 0.2 s to import, which a worker on
the local engine, or a CLI command, should not pay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from consumerkit.backends.base import (
    AdminBackend,
    Backend,
    EntryFailure,
    MessageAttribute,
    MoveTaskStatus,
    OutgoingMessage,
    QueueCounts,
    QueueMessage,
    Receipt,
    UnsupportedOperationError,
    VisibilityChange,
)
from consumerkit.backends.local import LocalBackend
from consumerkit.backends.urls import DEFAULT_BACKEND, open_backend

if TYPE_CHECKING:
    from consumerkit.backends.sqs import SqsBackend

__all__ = [
    "DEFAULT_BACKEND",
    "AdminBackend",
    "Backend",
    "EntryFailure",
    "LocalBackend",
    "MessageAttribute",
    "MoveTaskStatus",
    "OutgoingMessage",
    "QueueCounts",
    "QueueMessage",
    "Receipt",
    "SqsBackend",
    "UnsupportedOperationError",
    "VisibilityChange",
    "open_backend",
]


def __getattr__(name: str) -> Any:
    if name == "SqsBackend":
        from consumerkit.backends.sqs import SqsBackend

        return SqsBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
