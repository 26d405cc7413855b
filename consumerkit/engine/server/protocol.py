"""What the two wire protocols have in common: a request as the server received it, and a reply to send."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.model import OperationModel

from consumerkit.engine.errors import SqsError

__all__ = ["Call", "Reply", "Request", "WireProtocol"]


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes
    base_url: str  # scheme://host:port the client used, for queue URLs in replies


@dataclass(frozen=True, slots=True)
class Call:
    """A decoded request: which operation, with which members (model names, checked types)."""

    operation: OperationModel
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class WireProtocol(Protocol):
    name: str

    def decode(self, request: Request) -> Call: ...

    def reply(self, call: Call, members: Mapping[str, Any], request_id: str) -> Reply: ...

    def error(self, error: SqsError, request_id: str) -> Reply: ...
