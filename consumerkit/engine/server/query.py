"""The legacy query protocol, what SDKs before the JSON switch speak: ``Action=<Op>`` in a form, XML replies.

A request may name its queue by the URL path (``POST /000000000000/jobs``) instead of a ``QueueUrl``
parameter; older SDKs do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from consumerkit.engine.errors import SqsError
from consumerkit.engine.server import shapes
from consumerkit.engine.server.protocol import Call, Reply, Request

__all__ = ["Query"]

CONTENT_TYPE = "text/xml"
_MAX_FIELDS = 10_000  # a batch of 10 with 10 attributes each has a few hundred


def _form(request: Request) -> dict[str, str]:
    try:
        text = request.query + "&" + request.body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=_MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise SqsError.invalid_parameters(
            f"The request is not a valid form (UTF-8, at most {_MAX_FIELDS} fields)."
        ) from None
    return dict(pairs)


def _headers(request_id: str) -> dict[str, str]:
    return {"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": request_id}


class Query:
    name = "query"

    def decode(self, request: Request) -> Call:
        form = _form(request)
        action = form.get("Action")
        if not action:
            raise SqsError.missing("Action")
        if action not in shapes.operation_names():
            raise SqsError("InvalidAction", f"The action {action[:128]} is not valid for this endpoint.")
        operation = shapes.operation(action)
        queue_path = request.path.strip("/")
        input_members = operation.input_shape.members if operation.input_shape else {}
        if "QueueUrl" in input_members and "QueueUrl" not in form and queue_path.count("/") == 1:
            form["QueueUrl"] = f"{request.base_url}/{queue_path}"
        return Call(operation, shapes.decode_query(operation, form))

    def reply(self, call: Call, members: Mapping[str, Any], request_id: str) -> Reply:
        body = shapes.encode_xml(call.operation, members, request_id)
        return Reply(
            200, body.encode("utf-8", "replace"), {"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": request_id}
        )

    def error(self, error: SqsError, request_id: str) -> Reply:
        message = error.message
        if error.shape == "QueueDoesNotExist":  # SQS words this one differently on the query protocol
            message = "The specified queue does not exist for this wsdl version."
        body = (
            f'<?xml version="1.0"?><ErrorResponse xmlns="{shapes.XML_NAMESPACE}"><Error>'
            f"<Type>{'Sender' if error.sender_fault else 'Receiver'}</Type><Code>{shapes.xml_text(error.code)}</Code>"
            f"<Message>{shapes.xml_text(message)}</Message><Detail/></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        return Reply(
            error.status,
            body.encode("utf-8", "replace"),
            {"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": request_id},
        )
