"""What a handler sees: one received message, and its manual controls.

A :class:`Message` is a read-only view of what SQS delivered, plus two controls for jobs that know more than
the supervisor does: :meth:`Message.extend` (I need longer than the heartbeat assumes) and
:meth:`Message.release` (give it back, to me or another worker, after ``delay`` seconds). Neither is needed
for the common case: the supervisor heartbeats while a job runs and settles the message when it returns.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from consumerkit.backends.base import MessageAttribute, QueueMessage

__all__ = ["Message"]


class LeaseControl(Protocol):
    """The runtime's side of a message's controls (``consumerkit.runtime.leases.Lease``)."""

    async def extend(self, seconds: int) -> None: ...

    async def release(self, delay: int) -> None: ...


class Message:
    """One received message. ``attributes`` are SQS's system attributes (strings, as SQS sends them);
    ``message_attributes`` the producer's own."""

    __slots__ = ("_control", "_raw", "queue")

    def __init__(self, raw: QueueMessage, queue: str, control: LeaseControl) -> None:
        self._raw = raw
        self._control = control
        self.queue = queue

    @property
    def id(self) -> str:
        return self._raw.message_id

    @property
    def body(self) -> str:
        return self._raw.body

    @property
    def attributes(self) -> Mapping[str, str]:
        return self._raw.attributes

    @property
    def message_attributes(self) -> Mapping[str, MessageAttribute]:
        return self._raw.message_attributes

    @property
    def receipt_handle(self) -> str:
        """The handle of this delivery; consumerkit never logs it."""
        return self._raw.receipt_handle

    @property
    def receive_count(self) -> int:
        """How many times SQS has handed this message out, this time included (1 on the first try)."""
        return int(self._raw.attributes.get("ApproximateReceiveCount", "1"))

    @property
    def sent_at(self) -> datetime | None:
        """When the producer sent it (SQS's ``SentTimestamp``), in UTC."""
        sent = self._raw.attributes.get("SentTimestamp")
        return None if sent is None else datetime.fromtimestamp(int(sent) / 1000, UTC)

    @property
    def group_id(self) -> str | None:
        """The FIFO message group (or a fair-queue group on a standard queue)."""
        return self._raw.attributes.get("MessageGroupId")

    def json(self) -> Any:
        """The body parsed as JSON (raises ``ValueError`` on a malformed body: a handler failure, retried)."""
        return json.loads(self._raw.body)

    async def extend(self, seconds: int) -> None:
        """Keep the message invisible for ``seconds`` from now: at most what is left of SQS's 12 hours from
        its receive (less a small safety margin). The heartbeat carries on from there."""
        await self._control.extend(seconds)

    async def release(self, delay: int = 0) -> None:
        """Give the message back: visible again after ``delay`` seconds, neither deleted nor counted as failed
        by this worker. The job may go on running, but its return no longer settles the message."""
        await self._control.release(delay)

    def __repr__(self) -> str:
        return f"Message(id={self.id!r}, queue={self.queue!r}, receive_count={self.receive_count})"
