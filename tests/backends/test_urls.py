"""Backend URLs: what each form opens, whether it creates queues, and how a bad one is worded."""

from __future__ import annotations

from pathlib import Path

import pytest

from consumerkit.backends import DEFAULT_BACKEND, LocalBackend, SqsBackend, open_backend
from consumerkit.backends.urls import ACCEPTED_FORMS
from consumerkit.errors import ConfigError


@pytest.mark.parametrize("url", ["memory://", "sqlite:///queues.db"])
async def test_local_urls_open_the_engine_which_creates_queues(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async with open_backend(url) as backend:
        assert isinstance(backend, LocalBackend)
        assert backend.creates_queues


async def test_the_default_backend_is_a_sqlite_file_whose_folder_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert DEFAULT_BACKEND == "sqlite:///.consumerkit/queues.db"
    async with open_backend(DEFAULT_BACKEND) as backend:
        await backend.create_queue("jobs")
    assert (tmp_path / ".consumerkit" / "queues.db").is_file()


@pytest.mark.parametrize(
    ("url", "endpoint", "region", "creates_queues"),
    [
        ("sqs://", None, None, False),
        ("sqs://eu-west-1", None, "eu-west-1", False),
        ("sqs://us-gov-west-1/", None, "us-gov-west-1", False),
        ("http://127.0.0.1:9324", "http://127.0.0.1:9324", None, True),
        ("http://localhost:4566/", "http://localhost:4566", None, True),
        ("http://127.8.9.10:9324", "http://127.8.9.10:9324", None, True),
        ("http://[::1]:9324", "http://[::1]:9324", None, True),
        ("https://LOCALHOST:9324", "https://LOCALHOST:9324", None, True),
        ("http://localstack:4566", "http://localstack:4566", None, False),
        ("http://10.0.0.5:9324", "http://10.0.0.5:9324", None, False),
        ("https://sqs.eu-west-1.amazonaws.com", "https://sqs.eu-west-1.amazonaws.com", None, False),
    ],
)
def test_remote_urls_open_an_sqs_client(
    url: str, endpoint: str | None, region: str | None, creates_queues: bool
) -> None:
    backend = open_backend(url, max_connections=25)
    assert isinstance(backend, SqsBackend)
    assert (backend.endpoint_url, backend.region, backend.max_connections) == (endpoint, region, 25)
    assert backend.creates_queues is creates_queues


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "not a backend URL"),
        ("queues.db", "not a backend URL"),
        ("redis://localhost:6379", "not a backend URL"),
        ("memory://jobs", "memory:// takes nothing after it"),
        ("sqlite://queues.db", "a SQLite URL has three slashes before a relative path"),
        ("sqs://not_a_region", "'not_a_region' is not an AWS region name"),
        ("sqs://eu-west-1/jobs", "sqs:// takes only a region"),
        ("http://", "it names no host"),
        ("http://localhost:port", "Port could not be cast"),
        ("http://localhost:9324?region=eu-west-1", "a query or fragment is not allowed"),
    ],
)
def test_a_bad_url_is_a_config_error_quoting_it_and_listing_the_forms(url: str, reason: str) -> None:
    with pytest.raises(ConfigError) as refused:
        open_backend(url)
    message = str(refused.value)
    assert message.startswith(f"backend URL {url!r}: {reason}")
    assert all(form in message for form in ACCEPTED_FORMS)


def test_credentials_in_a_url_are_refused_and_never_repeated() -> None:
    with pytest.raises(ConfigError, match="credentials do not belong in the URL") as refused:
        open_backend("http://AKIDEXAMPLE:wJalrXUtnFEMI@localhost:9324")
    assert "wJalrXUtnFEMI" not in str(refused.value) and "AKIDEXAMPLE" not in str(refused.value)
    assert "'http://***@localhost:9324'" in str(refused.value)


def test_a_bad_sqlite_option_is_the_stores_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown option 'synchronus'; known: synchronous, busy_timeout"):
        open_backend(f"sqlite:///{tmp_path}/queues.db?synchronus=FULL")


def test_max_connections_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="max_connections: 0 is below the minimum of 1"):
        open_backend("sqs://", max_connections=0)
