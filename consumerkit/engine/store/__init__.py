"""Stores behind one interface, chosen by URL: ``memory://`` or ``sqlite:///path.db``."""

from __future__ import annotations

from consumerkit.engine.store.base import Store
from consumerkit.engine.store.memory import MemoryStore
from consumerkit.errors import ConfigError

__all__ = ["MemoryStore", "Store", "open_store"]


def open_store(url: str) -> Store:
    """``memory://``; ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db`` (SQLAlchemy's form)."""
    if url == "memory://" or url == "memory:":
        return MemoryStore()
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        if not path:
            raise ConfigError(f"store URL {url!r} names no file: use sqlite:///path/to/queues.db")
        from consumerkit.engine.store.sqlite import SqliteStore

        return SqliteStore(path)
    raise ConfigError(f"unknown store URL {url!r}: expected memory:// or sqlite:///path/to/queues.db")
