"""The bundled SQS engine: SQS's semantics in-process, on memory or SQLite.

It knows nothing of the consumer runtime; ``consumerkit.backends.local`` is its one bridge to it.
"""

from consumerkit.clock import Clock, ManualClock, SystemClock
from consumerkit.engine.engine import Engine
from consumerkit.engine.errors import SqsError
from consumerkit.engine.model import (
    BatchFailure,
    BatchResult,
    DeleteEntry,
    MessageAttributeValue,
    MoveTask,
    Page,
    QueueStats,
    ReceivedMessage,
    SendEntry,
    SendResult,
    VisibilityEntry,
)

__all__ = [
    "BatchFailure",
    "BatchResult",
    "Clock",
    "DeleteEntry",
    "Engine",
    "ManualClock",
    "MessageAttributeValue",
    "MoveTask",
    "Page",
    "QueueStats",
    "ReceivedMessage",
    "SendEntry",
    "SendResult",
    "SqsError",
    "SystemClock",
    "VisibilityEntry",
]
