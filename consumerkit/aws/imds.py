"""A small IMDSv2 client: what an EC2 instance knows about itself (its id, region, a Spot interruption notice).

IMDSv2 only: a session token is fetched with ``PUT /latest/api/token`` (its lifetime in the
``X-aws-ec2-metadata-token-ttl-seconds`` header) and sent with every ``GET`` as ``X-aws-ec2-metadata-token``.
Instances that require IMDSv2 (the default for new AMIs) refuse the token-less IMDSv1 calls. The token is
reused until shortly before it expires, and fetched again when the service answers 401 (it restarted, or the
instance was stopped and started).

The endpoint is ``http://169.254.169.254`` unless an argument or ``AWS_EC2_METADATA_SERVICE_ENDPOINT`` (the
variable botocore reads too) says otherwise; the tests point it at a stand-in on 127.0.0.1. Timeouts are short:
the service is on the instance's own link, so a slow answer means it is not there. Each call opens its own
aiohttp session and never uses a proxy (aiohttp ignores ``HTTP_PROXY`` unless told to trust the environment).
"""

from __future__ import annotations

import os
from typing import Protocol

import aiohttp

from consumerkit.clock import Clock, SystemClock
from consumerkit.errors import ConfigError, ConsumerkitError

__all__ = ["DEFAULT_ENDPOINT", "ENDPOINT_ENV", "ImdsClient", "MetadataError", "MetadataSource"]

DEFAULT_ENDPOINT = "http://169.254.169.254"
ENDPOINT_ENV = "AWS_EC2_METADATA_SERVICE_ENDPOINT"
TOKEN_PATH = "/latest/api/token"
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
MAX_TOKEN_TTL = 21_600  # IMDS: a token lives at most 6 hours
TOKEN_MARGIN = 60.0  # fetch a new token this long before the old one expires


class MetadataError(ConsumerkitError):
    """The metadata service could not be reached or gave an answer other than 200 or 404."""


class MetadataSource(Protocol):
    async def get(self, path: str) -> str | None:
        """The text at ``path`` (``/latest/meta-data/...``), or None if the service has none there (404)."""
        ...


class ImdsClient:
    """IMDSv2 over aiohttp; ``clock`` only times the token's reuse."""

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        token_ttl: int = MAX_TOKEN_TTL,
        timeout: float = 2.0,
        clock: Clock | None = None,
    ) -> None:
        chosen = endpoint or os.environ.get(ENDPOINT_ENV) or DEFAULT_ENDPOINT
        if not chosen.startswith(("http://", "https://")):
            raise ConfigError(f"instance metadata endpoint {chosen!r} is not an http:// URL (set by {ENDPOINT_ENV}?)")
        if not 1 <= token_ttl <= MAX_TOKEN_TTL:
            raise ConfigError(f"token_ttl={token_ttl!r} is out of range: 1..{MAX_TOKEN_TTL} seconds")
        self.endpoint = chosen.rstrip("/")
        self.token_ttl = token_ttl
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._clock = clock or SystemClock()
        self._token: str | None = None
        self._token_until = 0.0

    def __repr__(self) -> str:
        return f"ImdsClient({self.endpoint!r})"

    async def get(self, path: str) -> str | None:
        try:
            async with aiohttp.ClientSession(timeout=self._timeout) as session:
                status, text = await self._get(session, path)
                if status == 401:  # the token is no longer valid: one more try with a fresh one
                    self._token = None
                    status, text = await self._get(session, path)
        except (aiohttp.ClientError, OSError) as error:  # TimeoutError included
            raise MetadataError(f"instance metadata {self.endpoint}{path}: {type(error).__name__}: {error}") from error
        if status == 404:
            return None
        if status != 200:
            raise MetadataError(f"instance metadata {self.endpoint}{path}: HTTP {status}: {text[:200]}")
        return text

    async def instance_id(self) -> str:
        return await self._required("/latest/meta-data/instance-id")

    async def region(self) -> str:
        return await self._required("/latest/meta-data/placement/region")

    async def _required(self, path: str) -> str:
        text = await self.get(path)
        if not text:
            raise MetadataError(f"instance metadata {self.endpoint}{path}: not found")
        return text.strip()

    async def _get(self, session: aiohttp.ClientSession, path: str) -> tuple[int, str]:
        token = await self._valid_token(session)
        async with session.get(self.endpoint + path, headers={TOKEN_HEADER: token}) as reply:
            return reply.status, await reply.text()

    async def _valid_token(self, session: aiohttp.ClientSession) -> str:
        now = self._clock.now()
        if self._token is not None and now < self._token_until:
            return self._token
        headers = {TTL_HEADER: str(self.token_ttl)}
        async with session.put(self.endpoint + TOKEN_PATH, headers=headers) as reply:
            text = await reply.text()
            if reply.status != 200:
                raise MetadataError(f"instance metadata token {self.endpoint}: HTTP {reply.status}: {text[:200]}")
        self._token = text.strip()
        self._token_until = now + max(self.token_ttl - TOKEN_MARGIN, self.token_ttl / 2)
        return self._token
