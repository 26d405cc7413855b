"""The header deadline of ``consumerkit serve`` (see :mod:`consumerkit.headerguard` for why every connection
has one), answered as SQS answers a request that took too long: its RequestTimeout error.

Later requests on a kept-alive connection are bounded by the keep-alive timeout (``serve.py`` passes it to
aiohttp), which runs from the previous reply; a request's body by ``body_timeout``, in the app.
"""

from __future__ import annotations

import uuid

from consumerkit.engine.errors import SqsError
from consumerkit.engine.server.query import Query
from consumerkit.headerguard import HeaderDeadlines

__all__ = ["sqs_header_deadlines"]


def sqs_header_deadlines(timeout: float) -> HeaderDeadlines:
    """Deadlines of ``timeout`` seconds whose expiry is answered with SQS's RequestTimeout."""
    return HeaderDeadlines(timeout, _timeout_reply)


def _timeout_reply(seconds: float) -> bytes:
    """SQS's RequestTimeout, in the query protocol's XML: with no headers there is no telling which protocol
    the client speaks, and every SDK reports an XML error body by its status at least."""
    error = SqsError("RequestTimeout", f"The request line and headers were not received within {seconds:g} seconds.")
    request_id = str(uuid.uuid4())
    reply = Query().error(error, request_id)
    head = (
        f"HTTP/1.1 {reply.status} Request Timeout\r\n"
        f"Content-Type: {reply.headers['Content-Type']}\r\n"
        f"Content-Length: {len(reply.body)}\r\n"
        f"x-amzn-RequestId: {request_id}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + reply.body
