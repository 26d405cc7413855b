"""Receipt handles: opaque to clients, verifiable by the engine without a lookup.

A handle names the queue incarnation, the message and the receive that issued it, and carries a keyed digest
so the engine can tell a handle it issued (which SQS always accepts for DeleteMessage, even when stale) from
one it never issued (``ReceiptHandleIsInvalid``). The key is stored with the queues, so handles survive a
restart of a durable engine.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from typing import NamedTuple

from consumerkit.engine.errors import SqsError

__all__ = ["Receipt", "ReceiptCodec"]

_BODY = struct.Struct(">QQQ")
_MAC = 16


class Receipt(NamedTuple):
    queue_id: int
    seq: int
    token: int


class ReceiptCodec:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, body: bytes) -> bytes:
        return hashlib.blake2b(body, key=self._key, digest_size=_MAC).digest()

    def encode(self, queue_id: int, seq: int, token: int) -> str:
        body = _BODY.pack(queue_id, seq, token)
        return (body + self._mac(body)).hex()

    def decode(self, handle: str) -> Receipt:
        """The receipt a handle stands for, or SQS's ``ReceiptHandleIsInvalid`` for one never issued here."""
        try:
            raw = bytes.fromhex(handle)
        except (ValueError, TypeError):
            raw = b""
        if len(raw) != _BODY.size + _MAC or not hmac.compare_digest(raw[_BODY.size :], self._mac(raw[: _BODY.size])):
            raise SqsError.invalid_receipt(handle)
        return Receipt(*_BODY.unpack(raw[: _BODY.size]))
