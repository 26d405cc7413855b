"""A deadline on each new connection's first request line and headers: the slow-client guard before there is
a request to time out. Both of consumerkit's listeners use it: ``consumerkit serve`` and a worker's health port.

aiohttp hands a request to the app only once its headers are complete, and until then its one guard (in
recent versions; older ones had none) is the keep-alive timer, which data does not reset and which defaults to
an hour. A client that connects and sends nothing, or one header byte every few seconds, would hold its socket
(a file descriptor) that long, and a few hundred such clients exhaust a process's descriptors, so that nobody
else is served: for a worker, the probes of its own platform would then fail and restart it. Here every
connection gets ``timeout`` seconds, TLS handshake included, to deliver its first request's headers; after
that it is answered 408 and closed. Later requests on a kept-alive connection are bounded by aiohttp's
keep-alive timeout, which runs from the previous reply.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

__all__ = ["GuardedSite", "HeaderDeadlines", "plain_timeout_reply"]

TimeoutReply = Callable[[float], bytes]  # the whole HTTP response, status line to body, for a timeout of n s


def plain_timeout_reply(seconds: float) -> bytes:
    """A 408 in plain text, for listeners with no protocol of their own to speak (the health port)."""
    body = f"request line and headers not received within {seconds:g} seconds\n".encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class HeaderDeadlines:
    """The pending deadlines of the connections whose first request has not arrived yet.

    The app calls :meth:`arrived` as a request reaches it; a deadline that fires first writes ``reply`` itself,
    straight to the socket, since no request exists that aiohttp could answer.
    """

    def __init__(self, timeout: float, reply: TimeoutReply = plain_timeout_reply) -> None:
        self.timeout = timeout
        self.reply = reply
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
        transport.write(self.reply(self.timeout))
        transport.close()  # after the reply is written; aiohttp then sees the connection lost


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
