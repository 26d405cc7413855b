"""The HTTP server: SQS's two wire protocols in front of one engine.

aiohttp serves it because aiobotocore already brings it (no new dependency) and ``bench/wire.py`` shows the
server is not the bottleneck of a real SDK client (docs/benchmarks.md). Each request goes: size check → body
(bounded in size and time) → signature → protocol decode → operation → protocol reply. Every failure on the
way becomes an SQS error in the caller's protocol; nothing a client sends can reach the store unchecked.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

import anyio
from aiohttp import web

from consumerkit.engine.engine import Engine
from consumerkit.engine.errors import SqsError
from consumerkit.engine.server.auth import SigV4Verifier, scope_region
from consumerkit.engine.server.awsjson import AwsJson
from consumerkit.engine.server.config import ServerConfig
from consumerkit.engine.server.deadlines import sqs_header_deadlines
from consumerkit.engine.server.operations import OPERATIONS
from consumerkit.engine.server.protocol import Reply, Request, WireProtocol
from consumerkit.engine.server.query import Query

__all__ = ["SqsServer"]

log = logging.getLogger("consumerkit.server")

_JSON, _QUERY = AwsJson(), Query()
_HOST = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


class SqsServer:
    """One engine served over HTTP; ``application()`` is the aiohttp app (tests mount it in-process)."""

    def __init__(self, engine: Engine, config: ServerConfig) -> None:
        self.engine = engine
        self.config = config
        self.verifier = SigV4Verifier(config.credentials) if config.credentials else None
        self.deadlines = sqs_header_deadlines(config.header_timeout)  # armed by the site serve.py listens with
        self._polls: set[anyio.CancelScope] = set()
        self._closing = False

    def close(self) -> None:
        """Start stopping: every parked long poll answers at once with no messages, as if its wait had run out,
        so clients get a normal reply rather than a dropped connection, and so do polls that arrive after this."""
        self._closing = True
        for scope in self._polls:
            scope.cancel()

    def application(self) -> web.Application:
        app = web.Application(client_max_size=self.config.max_body_bytes)
        app.router.add_get("/health", self.health)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def health(self, request: web.Request) -> web.Response:
        self.deadlines.arrived(request.protocol)
        return web.json_response({"status": "ok"})

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.deadlines.arrived(request.protocol)
        request_id = str(uuid.uuid4())
        protocol: WireProtocol = _JSON if "X-Amz-Target" in request.headers else _QUERY
        try:
            reply = await self._answer(request, protocol, request_id)
        except SqsError as error:
            reply = protocol.error(error, request_id)
        except Exception:
            log.exception("internal error answering a %s request (request id %s)", protocol.name, request_id)
            reply = protocol.error(SqsError("InternalError", "We encountered an internal error."), request_id)
        return web.Response(status=reply.status, body=reply.body, headers=reply.headers)

    async def _answer(self, request: web.Request, protocol: WireProtocol, request_id: str) -> Reply:
        wire = Request(
            request.method,
            request.path,
            request.query_string,
            request.headers,
            await self._body(request),
            self._base_url(request),
        )
        region = self._region(request, wire)
        call = protocol.decode(wire)
        operation = OPERATIONS[call.operation.name]
        with self.engine.as_seen_by(region, wire.base_url):
            if call.operation.name == "ReceiveMessage":
                members = await self._receive(call.params)
            else:
                members = await operation(self.engine, call.params)
        return protocol.reply(call, members, request_id)

    async def _receive(self, params: dict[str, Any]) -> dict[str, Any]:
        """A receive that a stopping server can end early. A cancel reaches it only while it is parked (the
        engine takes messages without awaiting), so an early end never loses messages it had taken."""
        with anyio.CancelScope() as scope:
            if self._closing:
                scope.cancel()
            self._polls.add(scope)
            try:
                return await OPERATIONS["ReceiveMessage"](self.engine, params)
            finally:
                self._polls.discard(scope)
        return {}

    async def _body(self, request: web.Request) -> bytes:
        limit = self.config.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            # refused on the header alone: a client announcing a huge body never gets to send it
            raise _too_large(request.content_length, limit)
        try:
            if request.content.is_eof():  # the usual case, all of it already arrived: no timer to arm
                return await request.read()
            with anyio.fail_after(self.config.body_timeout):
                return await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise _too_large(None, limit) from None
        except TimeoutError:
            raise SqsError(
                "RequestTimeout", f"The request body was not received within {self.config.body_timeout:g} seconds."
            ) from None

    def _region(self, request: web.Request, wire: Request) -> str:
        if self.verifier is not None:
            return self.verifier.verify(wire.method, request.raw_path, wire.headers, wire.body)
        return scope_region(wire.headers) or self.config.region

    def _base_url(self, request: web.Request) -> str:
        """The address the client used, so the queue URLs we hand back reach us the same way. Without a usable
        Host header (HTTP/1.0, or one we refuse) that is the socket's own address: the port actually bound,
        which ``--port 0`` leaves to the system, and the interface the client reached (never ``0.0.0.0``)."""
        host = request.headers.get("Host", "")
        if _HOST.fullmatch(host):
            return f"{self.config.scheme}://{host}"
        local = request.transport.get_extra_info("sockname") if request.transport else None
        address, port = (local[0], local[1]) if local else (self.config.host, self.config.port)
        shown = f"[{address}]" if ":" in address else address
        return f"{self.config.scheme}://{shown}:{port}"


def _too_large(size: int | None, limit: int) -> SqsError:
    told = f" of {size} bytes" if size is not None else ""
    return SqsError("RequestEntityTooLarge", f"The request body{told} exceeds the limit of {limit} bytes.")
