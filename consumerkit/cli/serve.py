"""``consumerkit serve``: the bundled engine as a local SQS that any SQS client can use."""

from __future__ import annotations

import configparser
import sys
from pathlib import Path

import anyio
import click

from consumerkit.cli.common import one_line_errors
from consumerkit.engine.server.config import DEFAULT_HEADER_TIMEOUT, DEFAULT_PORT, Credentials, ServerConfig
from consumerkit.engine.server.serve import serve
from consumerkit.errors import ConfigError


def _credentials(
    access_key: str | None, secret_key: str | None, credentials_file: Path | None
) -> tuple[Credentials, ...]:
    if (access_key is None) != (secret_key is None):
        raise ConfigError("--access-key and --secret-key: give both, or neither")
    # An empty value is a mistake (an unset variable in a script), never a wish to serve unsigned requests.
    for option, value in (("--access-key", access_key), ("--secret-key", secret_key)):
        if value is not None and not value.strip():
            raise ConfigError(f"{option}: is empty; give a key, or leave out both --access-key and --secret-key")
    found = [Credentials(access_key, secret_key)] if access_key is not None and secret_key is not None else []
    if credentials_file is not None:
        found += _read_credentials(credentials_file)
    return tuple(found)


def _read_credentials(path: Path) -> list[Credentials]:
    """Every profile of an AWS-style credentials file (``aws_access_key_id`` / ``aws_secret_access_key``)."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(path.read_text())
    except (OSError, configparser.Error) as error:
        raise ConfigError(f"--credentials-file: cannot read {path}: {error}") from None
    found = []
    for name in parser.sections():
        section = parser[name]
        if "aws_access_key_id" in section and "aws_secret_access_key" in section:
            key, secret = section["aws_access_key_id"], section["aws_secret_access_key"]
            if not key.strip() or not secret.strip():
                raise ConfigError(f"--credentials-file: profile [{name}] of {path} has an empty key or secret")
            found.append(Credentials(key, secret))
    if not found:
        raise ConfigError(f"--credentials-file: {path} has no profile with aws_access_key_id and aws_secret_access_key")
    return found


_PEM = click.Path(exists=True, dir_okay=False)


@click.command("serve")
@click.option("--backend", default="memory://", show_default=True, help="memory:// or sqlite:///path.db")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int, help="Port (0 picks a free one).")
@click.option("--account-id", default="000000000000", show_default=True, help="Account id in queue URLs and ARNs.")
@click.option("--region", default="us-east-1", show_default=True, help="Region when a request is not signed.")
@click.option("--access-key", default=None, help="Verify SigV4 signatures with this access key ...")
@click.option("--secret-key", default=None, help="... and this secret key.")
@click.option(
    "--credentials-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Accept every key pair of this AWS-style credentials file.",
)
@click.option("--insecure", is_flag=True, help="Allow a non-loopback address without credentials.")
@click.option(
    "--tls-cert", type=click.Path(exists=True, dir_okay=False), default=None, help="Serve HTTPS: certificate (PEM)."
)
@click.option(
    "--tls-key", type=click.Path(exists=True, dir_okay=False), default=None, help="Serve HTTPS: private key (PEM)."
)
@click.option(
    "--header-timeout",
    default=DEFAULT_HEADER_TIMEOUT,
    show_default=True,
    type=float,
    help="Seconds a new connection has to send its first request's headers (TLS handshake included).",
)
def serve_command(
    backend: str,
    host: str,
    port: int,
    account_id: str,
    region: str,
    access_key: str | None,
    secret_key: str | None,
    credentials_file: Path | None,
    insecure: bool,
    tls_cert: str | None,
    tls_key: str | None,
    header_timeout: float,
) -> None:
    """Serve the bundled SQS engine over SQS's HTTP protocols (JSON and query) until SIGTERM or Ctrl-C."""
    with one_line_errors(OSError):
        config = ServerConfig(
            backend=backend,
            host=host,
            port=port,
            account_id=account_id,
            region=region,
            credentials=_credentials(access_key, secret_key, credentials_file),
            insecure=insecure,
            tls_cert=tls_cert,
            tls_key=tls_key,
            header_timeout=header_timeout,
        )
        anyio.run(serve, config, _ready)


def _ready(address: str) -> None:
    print(address, flush=True)
    if not sys.stdout.isatty():
        return
    print("Point an SQS client at it with endpoint_url=" + address.removeprefix("listening on "), flush=True)
