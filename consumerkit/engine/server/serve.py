"""Running the server as a long-lived process: open the store, listen, stop cleanly on SIGTERM or SIGINT."""

from __future__ import annotations

import signal
import ssl
from collections.abc import Callable

import anyio
from aiohttp import web

from consumerkit.engine.engine import Engine
from consumerkit.engine.server.app import SqsServer
from consumerkit.engine.server.config import ServerConfig
from consumerkit.headerguard import GuardedSite

__all__ = ["serve"]

# After a stop signal: parked long polls answer at once with no messages, no new connections are accepted, and
# requests under way get this long to finish before their connections are closed.
SHUTDOWN_GRACE = 3.0


def _tls(config: ServerConfig) -> ssl.SSLContext | None:
    if config.tls_cert is None or config.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(config.tls_cert, config.tls_key)
    return context


async def serve(config: ServerConfig, ready: Callable[[str], None] = print) -> None:
    """Serve until SIGTERM/SIGINT or cancellation; ``ready`` is told the address once it is listening."""
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        engine = Engine.open(
            config.backend,
            account_id=config.account_id,
            region=config.region,
            endpoint=f"{config.scheme}://{config.host}:{config.port}",
        )
        async with engine:
            server = SqsServer(engine, config)
            runner = web.AppRunner(
                server.application(),
                handle_signals=False,
                handler_cancellation=True,
                shutdown_timeout=SHUTDOWN_GRACE,
                keepalive_timeout=config.keepalive_timeout,
                access_log=None,
            )
            await runner.setup()
            try:
                site = GuardedSite(runner, config.host, config.port, server.deadlines, ssl_context=_tls(config))
                await site.start()
                host, port = runner.addresses[0][:2]
                shown = f"[{host}]" if ":" in host else host
                ready(f"listening on {config.scheme}://{shown}:{port}")
                async for _ in signals:
                    break
            finally:
                server.close()
                await runner.cleanup()
