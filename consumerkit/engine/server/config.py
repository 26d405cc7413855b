"""How ``consumerkit serve`` is set up: plain data, checked once, handed to the server.

Safe defaults are the point: it listens on loopback only, and refuses a wider address unless requests are
signed (``credentials``) or the operator says ``insecure`` on purpose.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from consumerkit.engine.context import DEFAULT_ACCOUNT, DEFAULT_REGION
from consumerkit.errors import ConfigError

__all__ = ["DEFAULT_HEADER_TIMEOUT", "DEFAULT_MAX_BODY_BYTES", "DEFAULT_PORT", "Credentials", "ServerConfig"]

DEFAULT_PORT = 9324
# One batch may carry 1 MiB of bodies plus attributes; JSON escaping and base64 inflate that, so the cap on a
# whole request body leaves room for a full batch of awkward characters, yet bounds what a client can make us hold.
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
DEFAULT_HEADER_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class Credentials:
    """One access key the server accepts. The secret never appears in a repr or a log."""

    access_key: str
    secret_key: str = field(repr=False)

    def __post_init__(self) -> None:
        for name in ("access_key", "secret_key"):
            if not getattr(self, name).strip():
                raise ConfigError(f"{name}: is empty; a key pair that verifies signatures needs both parts")


@dataclass(frozen=True, slots=True)
class ServerConfig:
    backend: str = "memory://"
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    account_id: str = DEFAULT_ACCOUNT
    region: str = DEFAULT_REGION
    credentials: tuple[Credentials, ...] = ()
    insecure: bool = False
    tls_cert: str | None = None
    tls_key: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    # Slow-client guards, in seconds: a new connection has header_timeout to complete its TLS handshake and then
    # its first request line and headers; a kept-alive connection is closed keepalive_timeout after its last
    # reply unless the next request's headers are in; a request's body must arrive within body_timeout.
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    keepalive_timeout: float = 15.0
    body_timeout: float = 60.0

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port: {self.port} is not between 0 and 65535")
        if not (self.account_id.isdigit() and len(self.account_id) == 12):
            raise ConfigError(f"account_id: {self.account_id!r} must be 12 digits")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigError("tls_cert and tls_key: give both, or neither")
        for name in ("header_timeout", "keepalive_timeout", "body_timeout"):
            seconds = getattr(self, name)
            if not 0 < seconds <= 3600:
                raise ConfigError(f"{name}: {seconds} seconds is not above 0 and at most 3600")
        if self.max_body_bytes < 1024:
            raise ConfigError(f"max_body_bytes: {self.max_body_bytes} is below the minimum of 1024")
        if not self.loopback and not self.credentials and not self.insecure:
            raise ConfigError(
                f"host: {self.host} is reachable from other machines and no credentials are set; "
                "give --access-key/--secret-key (requests are then verified), or --insecure to serve it open"
            )

    @property
    def loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"
