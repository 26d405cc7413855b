"""The MD5 digests SQS returns and SDKs verify.

botocore, the Java and .NET SDKs recompute these and raise on a mismatch, so they must match AWS bit for bit.
Attributes are digested in AWS's length-prefixed encoding: for each attribute, sorted by name, the name, the
data type, a transport byte (1 for String and Number, 2 for Binary) and the value, each string or byte value
preceded by its length as a 4-byte big-endian integer.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping

from consumerkit.engine.model import MessageAttributeValue

__all__ = ["md5_of_attributes", "md5_of_body"]

_LEN = struct.Struct(">I")


def md5_of_body(body: str) -> str:
    return hashlib.md5(body.encode("utf-8"), usedforsecurity=False).hexdigest()


def _field(data: bytes) -> bytes:
    return _LEN.pack(len(data)) + data


def md5_of_attributes(attributes: Mapping[str, MessageAttributeValue]) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    for name in sorted(attributes):
        value = attributes[name]
        digest.update(_field(name.encode()) + _field(value.data_type.encode()))
        if value.binary_value is not None:
            digest.update(b"\x02" + _field(value.binary_value))
        else:
            digest.update(b"\x01" + _field((value.string_value or "").encode()))
    return digest.hexdigest()
