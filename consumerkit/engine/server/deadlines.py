"""A deadline on each new connection's first request line and headers: the slow-client guard before there is
a request to time out.

aiohttp hands a request to the app only once its headers are complete, and until then its one guard (in
recent versions; older ones had none) is the keep-alive timer, which data does not reset and which defaults to
an hour. A client that connects and sends nothing, or one header byte every few seconds, would hold its socket
(a file descriptor) that long, and a few hundred such clients exhaust a process's descriptors, so that nobody
else is served. Here every connection gets ``ServerConfig.header_timeout`` seconds, TLS handshake included,
to deliver its first request's headers; after that it is answered 408 and closed. Later requests on a
kept-alive connection are bounded by the keep-alive timeout (``serve.py`` passes it to aiohttp), which runs
from the previous reply; a request's body by ``body_timeout``, in the app.
"""

from __future__ import annotations

import asyncio
import ssl
import uuid
from collections.abc import Callable

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from consumerkit.engine.errors import SqsError
from consumerkit.engine.server.query import Query

__all__ = ["GuardedSite", "HeaderDeadlines"]


class HeaderDeadlines:
    """The pending deadlines of the connections whose first request has not arrived yet.

    The app calls :meth:`arrived` as a request reaches it; a deadline that fires first writes the 408 itself,
    straight to the socket, since no request exists that aiohttp could answer.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._pending: dict[RequestHandler, asyncio.TimerHandle] = {}

    def watch(self, factory: Callable[[], RequestHandler]) -> Callable[[], RequestHandler]:
        """``factory`` (aiohttp's protocol factory), with a deadline armed on every connection it makes."""

        def made() -> RequestHandler:
            handler = factory()
            loop = asyncio.get_running_loop()
            self._pending[handler] = loop.call_later(self.timeout, self._expire, handler)
            return handler

        return made

    def arrived(self, handler: RequestHandler) -> None:
        """A request has come in on ``handler``'s connection: its headers made it in time."""
        timer = self._pending.pop(handler, None)
        if timer is not None:
            timer.cancel()

    def _expire(self, handler: RequestHandler) -> None:
        self._pending.pop(handler, None)
        transport = handler.transport
        if transport is None or transport.is_closing():  # gone already, or aiohttp has refused it (a 400)
            return
        transport.write(_timeout_reply(self.timeout))
        transport.close()  # after the reply is written; aiohttp then sees the connection lost


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


class GuardedSite(web.BaseSite):
    """aiohttp's ``TCPSite``, with the header deadline on every connection and on the TLS handshake."""

    __slots__ = ("_deadlines", "_host", "_port")

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        deadlines: HeaderDeadlines,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context)
        self._host, self._port, self._deadlines = host, port, deadlines

    @property
    def name(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        return f"{scheme}://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None  # BaseSite refuses a runner that is not set up
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._deadlines.watch(server),
            self._host,
            self._port,
            ssl=self._ssl_context,
            backlog=self._backlog,
            ssl_handshake_timeout=self._deadlines.timeout if self._ssl_context else None,
        )
