"""Backend URLs: one string in a setting or on the command line names where a worker's queues live.

``memory://`` and ``sqlite:///path.db`` run the bundled engine in-process; ``sqs://`` is Amazon SQS (the default
credential chain and region, or ``sqs://REGION``); ``http(s)://host:port`` is any SQS-compatible server
(``consumerkit serve``, moto, ElasticMQ, LocalStack). The aiobotocore backend is imported only when a URL asks
for it, which spares a worker on the local engine botocore's start-up cost (about 0.2 s).
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

from consumerkit.backends.base import Backend
from consumerkit.backends.local import LocalBackend
from consumerkit.clock import Clock
from consumerkit.errors import ConfigError

__all__ = ["ACCEPTED_FORMS", "DEFAULT_BACKEND", "open_backend"]

DEFAULT_BACKEND = "sqlite:///.consumerkit/queues.db"
ACCEPTED_FORMS = (
    "memory://",
    "sqlite:///relative/path.db or sqlite:////absolute/path.db",
    "sqs:// (AWS, default region) or sqs://REGION",
    "http(s)://host:port (an SQS-compatible server)",
)
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")
_HINTS = {
    "memory": "memory:// takes nothing after it",
    "sqlite": "a SQLite URL has three slashes before a relative path and four before an absolute one",
}


def open_backend(url: str, *, clock: Clock | None = None, max_connections: int = 10) -> Backend:
    """The backend ``url`` names, not yet entered. ``clock`` drives a local engine (remote services keep their
    own time); ``max_connections`` sizes an SQS client's connection pool. A malformed URL is a ConfigError."""
    if max_connections < 1:
        raise ConfigError(f"max_connections: {max_connections} is below the minimum of 1")
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if url in ("memory://", "memory:") or url.startswith("sqlite:///"):
        return LocalBackend.open(url, clock)
    if scheme in ("sqs", "http", "https"):
        from consumerkit.backends.sqs import SqsBackend

        parts = _split(url)
        if scheme == "sqs":
            return SqsBackend(region=_region(url, parts), max_connections=max_connections)
        return SqsBackend(_endpoint(url, parts), max_connections=max_connections)
    raise _bad(url, _HINTS.get(scheme, "not a backend URL"))


def _split(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a port that is not a number raises only when read)
    except ValueError as error:
        raise _bad(url, str(error)) from None
    if parts.username is not None or parts.password is not None:
        # never echo a secret into a log: the URL is quoted without its user part
        raise _bad(url, "credentials do not belong in the URL; use the AWS credential chain")
    if parts.query or parts.fragment:
        raise _bad(url, "a query or fragment is not allowed")
    return parts


def _region(url: str, parts: SplitResult) -> str | None:
    if parts.path not in ("", "/") or parts.port is not None:
        raise _bad(url, "sqs:// takes only a region, as in sqs://eu-west-1")
    if parts.hostname and not _REGION.fullmatch(parts.hostname):
        raise _bad(url, f"{parts.hostname!r} is not an AWS region name such as eu-west-1")
    return parts.hostname or None


def _endpoint(url: str, parts: SplitResult) -> str:
    if not parts.hostname:
        raise _bad(url, "it names no host")
    return url.rstrip("/")


def _bad(url: str, reason: str) -> ConfigError:
    shown = re.sub(r"//[^/]*@", "//***@", url)
    return ConfigError(f"backend URL {shown!r}: {reason}; expected one of: {', '.join(ACCEPTED_FORMS)}")
