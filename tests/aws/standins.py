"""Local stand-ins for what a worker talks to on AWS: the ECS container agent's task protection endpoint and the
EC2 instance metadata service. Real HTTP servers (aiohttp, in the test's event loop, on a free 127.0.0.1 port),
shaped after AWS's documentation, that record every request with the time on the test's clock.

``Calls`` lets a test wait for the n-th completed call of a protector or a metadata source: a stand-in sees a
request before the caller has its answer, and the clock must not move on until the caller has acted on it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import anyio
from aiohttp import web

from consumerkit.aws.imds import MetadataSource
from consumerkit.aws.protection import Protector
from consumerkit.clock import Clock
from tests.runtime.harness import WAIT

T = TypeVar("T")
TASK_ARN = "arn:aws:ecs:us-east-1:111122223333:task/workers/0123456789abcdef0"


@dataclass(frozen=True)
class Request:
    at: float  # the test clock's time when the stand-in got it
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON where it was JSON, else the text


class Log(Generic[T]):
    """Items in arrival order, and a wait for the n-th."""

    def __init__(self) -> None:
        self.items: list[T] = []
        self._changed = anyio.Event()

    def add(self, item: T) -> None:
        self.items.append(item)
        self._changed.set()
        self._changed = anyio.Event()

    async def wait(self, count: int, within: float = WAIT) -> list[T]:
        with anyio.fail_after(within):
            while len(self.items) < count:
                await self._changed.wait()
        return self.items

    def __len__(self) -> int:
        return len(self.items)


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port (the kernel picks it); yield its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


async def _record(log: Log[Request], clock: Clock, request: web.Request) -> Request:
    text = await request.text()
    try:
        body: Any = json.loads(text) if text else None
    except ValueError:
        body = text
    seen = Request(clock.now(), request.method, request.path, dict(request.headers), body)
    log.add(seen)
    return seen


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class FakeEcsAgent:
    """``$ECS_AGENT_URI/task-protection/v1/state`` as the agent serves it. ``scripted`` answers (status, body)
    are given to the next PUTs instead of the normal one, to provoke failures and errors."""

    clock: Clock
    url: str = ""  # what ECS_AGENT_URI would be: the agent's base with this task's endpoint id
    requests: Log[Request] = field(default_factory=Log)
    protected: bool = False
    expires_at: float | None = None
    scripted: list[tuple[int, Any]] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/{endpoint}/task-protection/v1/state", self._state)
        return app

    async def _state(self, request: web.Request) -> web.Response:
        seen = await _record(self.requests, self.clock, request)
        if request.method == "PUT":
            if self.scripted:
                status, body = self.scripted.pop(0)
                return web.json_response(body, status=status)
            if not isinstance(seen.body, dict) or not isinstance(seen.body.get("ProtectionEnabled"), bool):
                error = {"Code": "InvalidParameterException", "Message": "does not contain 'ProtectionEnabled'"}
                return web.json_response({"error": error}, status=400)
            self.protected = seen.body["ProtectionEnabled"]
            minutes = seen.body.get("ExpiresInMinutes", 120)
            self.expires_at = self.clock.now() + minutes * 60 if self.protected else None
        elif request.method != "GET":
            return web.json_response({"error": {"Code": "InvalidRequest", "Message": "PUT or GET"}}, status=405)
        return web.json_response({"protection": self.protection()})

    def protection(self) -> dict[str, Any]:
        if self.expires_at is not None and self.clock.now() >= self.expires_at:
            self.protected, self.expires_at = False, None
        expiration = None if self.expires_at is None else iso(self.expires_at)
        return {"ExpirationDate": expiration, "ProtectionEnabled": self.protected, "TaskArn": TASK_ARN}


@dataclass
class FakeImds:
    """IMDSv2: tokens from ``PUT /latest/api/token``, 401 without a valid one, the instance's id and region, and a
    Spot ``instance-action`` that is 404 until the test schedules an interruption."""

    clock: Clock
    url: str = ""
    requests: Log[Request] = field(default_factory=Log)
    instance_id: str = "i-0123456789abcdef0"
    region: str = "us-east-1"
    instance_action: dict[str, str] | None = None
    fail_next: int = 0  # answer that many metadata GETs with a 500
    tokens: dict[str, float] = field(default_factory=dict)  # token -> when it expires

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_put("/latest/api/token", self._token)
        app.router.add_get("/latest/meta-data/{path:.*}", self._metadata)
        return app

    async def _token(self, request: web.Request) -> web.Response:
        await _record(self.requests, self.clock, request)
        try:
            ttl = int(request.headers["X-aws-ec2-metadata-token-ttl-seconds"])
        except (KeyError, ValueError):
            return web.Response(status=400)
        if not 1 <= ttl <= 21_600:
            return web.Response(status=400)
        token = f"token-{len(self.tokens) + 1}"
        self.tokens[token] = self.clock.now() + ttl
        return web.Response(text=token)

    async def _metadata(self, request: web.Request) -> web.Response:
        await _record(self.requests, self.clock, request)
        expires = self.tokens.get(request.headers.get("X-aws-ec2-metadata-token", ""))
        if expires is None or self.clock.now() >= expires:
            return web.Response(status=401)
        if self.fail_next:
            self.fail_next -= 1
            return web.Response(status=500, text="internal error")
        values = {"instance-id": self.instance_id, "placement/region": self.region}
        if self.instance_action is not None:
            values["spot/instance-action"] = json.dumps(self.instance_action)
        value = values.get(request.match_info["path"])
        return web.Response(status=404) if value is None else web.Response(text=value)

    def gets(self) -> list[Request]:
        return [r for r in self.requests.items if r.method == "GET"]


@dataclass(frozen=True)
class Call:
    at: float  # when it started, on the test clock
    name: str
    error: str | None = None


class RecordedProtector:
    """A Protector that passes every call on and records it once it has returned (or raised)."""

    def __init__(self, inner: Protector, clock: Clock) -> None:
        self.inner = inner
        self.clock = clock
        self.calls: Log[Call] = Log()

    @property
    def renew_every(self) -> float | None:
        return self.inner.renew_every

    async def enable(self) -> None:
        await _recorded(self.calls, self.clock, "enable", self.inner.enable)

    async def disable(self) -> None:
        await _recorded(self.calls, self.clock, "disable", self.inner.disable)

    def __repr__(self) -> str:
        return f"RecordedProtector({self.inner!r})"


class RecordedSource:
    """A MetadataSource that passes every get on and records it once it has returned (or raised)."""

    def __init__(self, inner: MetadataSource, clock: Clock) -> None:
        self.inner = inner
        self.clock = clock
        self.calls: Log[Call] = Log()

    async def get(self, path: str) -> str | None:
        result: list[str | None] = []

        async def call() -> None:
            result.append(await self.inner.get(path))

        await _recorded(self.calls, self.clock, path, call)
        return result[0]


async def _recorded(log: Log[Call], clock: Clock, name: str, call: Callable[[], Awaitable[None]]) -> None:
    at = clock.now()
    try:
        await call()
    except Exception as error:
        log.add(Call(at, name, f"{type(error).__name__}: {error}"))
        raise
    log.add(Call(at, name))
