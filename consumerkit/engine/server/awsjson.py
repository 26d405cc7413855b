"""AWS JSON 1.0, what current SDKs speak: ``X-Amz-Target: AmazonSQS.<Op>`` and a JSON body.

Errors carry both names a client may match on: the JSON ``__type`` and, in ``x-amzn-query-error``, the legacy
query code, which botocore reports as ``Error.Code`` because SQS's model is marked query-compatible.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from consumerkit.engine.errors import SqsError
from consumerkit.engine.server import shapes
from consumerkit.engine.server.protocol import Call, Reply, Request

__all__ = ["AwsJson"]

CONTENT_TYPE = "application/x-amz-json-1.0"
_TARGET_PREFIX = "AmazonSQS."


def _bytes_as_base64(value: object) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot encode {type(value).__name__}")


def _dumps(document: Mapping[str, Any]) -> bytes:
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=_bytes_as_base64)
    return text.encode("utf-8", "replace")


class AwsJson:
    name = "json"

    def decode(self, request: Request) -> Call:
        target = request.headers.get("X-Amz-Target", "")
        name = target[len(_TARGET_PREFIX) :] if target.startswith(_TARGET_PREFIX) else ""
        if name not in shapes.operation_names():
            raise SqsError("UnknownOperationException", f"Unknown operation {target[:128]!r}.")
        try:
            document = json.loads(request.body or b"{}")
        except (ValueError, RecursionError):
            raise SqsError("SerializationException", "The request body is not a valid JSON document.") from None
        if not isinstance(document, dict):
            raise SqsError("SerializationException", "The request body must be a JSON object.")
        operation = shapes.operation(name)
        return Call(operation, shapes.decode_json(operation, document))

    def reply(self, call: Call, members: Mapping[str, Any], request_id: str) -> Reply:
        return Reply(200, _dumps(members), {"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": request_id})

    def error(self, error: SqsError, request_id: str) -> Reply:
        fault = "Sender" if error.sender_fault else "Receiver"
        headers = {
            "Content-Type": CONTENT_TYPE,
            "x-amzn-RequestId": request_id,
            "x-amzn-query-error": f"{error.code};{fault}",
        }
        document = {"__type": f"com.amazonaws.sqs#{error.shape}", "message": error.message}
        return Reply(error.status, _dumps(document), headers)
