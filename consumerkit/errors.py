"""The one exception hierarchy of consumerkit.

Every error the project raises on purpose derives from :class:`ConsumerkitError`, so callers can catch the
whole family in one place while still telling configuration mistakes from service failures.
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "ConfigError",
    "ConsumerkitError",
    "PayloadError",
    "QueueNotFoundError",
    "Reject",
    "TransientBackendError",
    "unwrap",
]


class ConsumerkitError(Exception):
    """Base of every error consumerkit raises deliberately."""


class ConfigError(ConsumerkitError):
    """A setting is missing or out of range; the message names the setting, the value and the limit."""


def unwrap(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The one error a task group raised, out of the group anyio wraps it in (so a caller sees
    ``ConfigError: queue 'videos' does not exist``, not an ExceptionGroup); the group itself when it holds
    several."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        error = pending.pop()
        if isinstance(error, BaseExceptionGroup):
            pending.extend(error.exceptions)
        else:
            leaves.append(error)
    return leaves[0] if len(leaves) == 1 else group


class BackendError(ConsumerkitError):
    """A queue service refused or failed an operation."""


class QueueNotFoundError(BackendError):
    """The queue a handler or a call names does not exist on the backend."""


class TransientBackendError(BackendError):
    """The service failed or could not be reached (a reset, throttling, a 5xx); the same call may succeed later,
    so the runtime retries it with back-off instead of giving up."""


class PayloadError(ConsumerkitError):
    """A message body could not be decoded into the handler's payload type. It is a handler failure: the message
    is retried and, past the queue's ``maxReceiveCount``, dead-lettered; it never stops the worker."""


class Reject(ConsumerkitError):
    """Raised by a handler to say a message can never succeed: it goes straight to the queue's dead-letter
    queue instead of being retried. On a queue without one it is retried like any failure (and a warning says
    so), because a message is never dropped unasked."""
