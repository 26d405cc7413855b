"""``consumerkit check``: ask a running worker's ``/livez`` whether it is alive, for images without curl.

Exit 0 on 200; exit 1 with one line on anything else (a 503, a refused connection, a timeout), which is what
Docker's ``HEALTHCHECK`` and an ECS container health check expect. Proxies are ignored: the worker is local.
It reads the worker's own ``CONSUMERKIT_HTTP_PORT`` and ``CONSUMERKIT_HTTP_HOST``, so one setting in the image
serves both; a worker bound to every interface (0.0.0.0, ::) is checked on loopback.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

import click

from consumerkit.observability.http import DEFAULT_HTTP_HOST, DEFAULT_HTTP_PORT, HTTP_HOST_ENV, HTTP_PORT_ENV

BODY_LIMIT = 200  # characters of the worker's answer quoted in a failure line
ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # listening everywhere: ask on loopback


@click.command("check")
@click.option("--url", default=None, help="URL to check [default: http://127.0.0.1:PORT/livez].")
@click.option(
    "--port",
    envvar=HTTP_PORT_ENV,
    type=click.IntRange(0, 65_535),
    default=DEFAULT_HTTP_PORT,
    show_default=True,
    help=f"The worker's --http-port [env {HTTP_PORT_ENV}].",
)
@click.option(
    "--host",
    envvar=HTTP_HOST_ENV,
    default=DEFAULT_HTTP_HOST,
    show_default=True,
    help=f"The worker's --http-host; 0.0.0.0 or :: is checked on loopback [env {HTTP_HOST_ENV}].",
)
@click.option("--timeout", type=click.FloatRange(0, min_open=True), default=5.0, show_default=True, help="Seconds.")
def check_command(url: str | None, port: int, host: str, timeout: float) -> None:
    """Exit 0 if the worker's /livez answers 200, else 1 with the reason."""
    if url is None and port == 0:
        raise click.UsageError("--port is 0 (the worker picked its own): give that port, or --url")
    address = ANY_ADDRESS.get(host.strip("[]"), host.strip("[]"))
    target = url or f"http://{f'[{address}]' if ':' in address else address}:{port}/livez"
    status, body = _get(target, timeout)
    if status == 200:
        click.echo(f"ok: {target}: {body}")
        return
    click.echo(f"consumerkit check: {target}: {body if status is None else f'{status}: {body}'}", err=True)
    sys.exit(1)


def _get(url: str, timeout: float) -> tuple[int | None, str]:
    """The status and the first line of the body; no status if nothing answered (the reason instead)."""
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with direct.open(url, timeout=timeout) as reply:
            return int(reply.status), _line(reply.read(4096))
    except urllib.error.HTTPError as error:
        return error.code, _line(error.read(4096))
    except urllib.error.URLError as error:
        return None, f"no answer ({error.reason})"
    except (OSError, ValueError) as error:  # a timeout while reading, a malformed URL
        return None, f"no answer ({error})"


def _line(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip().splitlines()
    return text[0][:BODY_LIMIT] if text else "(empty)"
