"""Stores behind one interface, chosen by URL: ``memory://`` or ``sqlite:///path.db``."""

from __future__ import annotations

from urllib.parse import parse_qsl

from consumerkit.engine.store.base import Store
from consumerkit.engine.store.memory import MemoryStore
from consumerkit.engine.store.sqlite import SqliteStore
from consumerkit.errors import ConfigError

__all__ = ["MemoryStore", "SqliteStore", "Store", "open_store"]


def open_store(url: str) -> Store:
    """``memory://``; ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db`` (SQLAlchemy's form), with
    optional ``?synchronous=FULL`` (durable against power loss, slower) and ``&busy_timeout=SECONDS``."""
    if url in ("memory://", "memory:"):
        return MemoryStore()
    if url.startswith("sqlite:///"):
        path, _, query = url[len("sqlite:///") :].partition("?")
        if not path:
            raise ConfigError(f"store URL {url!r} names no file: use sqlite:///path/to/queues.db")
        options = dict(parse_qsl(query, keep_blank_values=True))
        unknown = set(options) - {"synchronous", "busy_timeout"}
        if unknown:
            raise ConfigError(
                f"store URL {url!r}: unknown option {sorted(unknown)[0]!r}; known: synchronous, busy_timeout"
            )
        try:
            busy = float(options.get("busy_timeout", 5.0))
        except ValueError:
            raise ConfigError(f"store URL {url!r}: busy_timeout must be a number of seconds") from None
        return SqliteStore(path, synchronous=options.get("synchronous", "NORMAL"), busy_timeout=busy)
    raise ConfigError(f"unknown store URL {url!r}: expected memory:// or sqlite:///path/to/queues.db")
