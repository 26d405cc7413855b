"""What only SqsBackend does: reach (or fail to reach) an endpoint, choose region and credentials, and tell a
service's passing failures from its refusals."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from consumerkit.backends import OutgoingMessage, SqsBackend
from consumerkit.backends.sqs import _client_error
from consumerkit.errors import BackendError, QueueNotFoundError, TransientBackendError
from tests.engine.server.serving import consumerkit_serve
from tests.fixtures.backends import free_port, remote_env


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Dummy AWS settings and none of the machine's; the test adjusts them through the returned monkeypatch."""
    remote_env(monkeypatch)
    return monkeypatch


async def test_an_endpoint_nobody_listens_on_is_transient(aws: pytest.MonkeyPatch) -> None:
    async with SqsBackend(f"http://127.0.0.1:{free_port()}") as backend:
        with pytest.raises(TransientBackendError, match="GetQueueUrl: EndpointConnectionError"):
            await backend.get_queue_url("jobs")


@pytest.fixture
def locked_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A server on a SQLite file that gives up on a lock at once: a lock held here makes it answer 500."""
    path = tmp_path / "queues.db"
    with consumerkit_serve("--backend", f"sqlite:///{path}?busy_timeout=0") as server:
        yield server.url, path


async def test_a_server_error_is_transient(aws: pytest.MonkeyPatch, locked_server: tuple[str, Path]) -> None:
    endpoint, path = locked_server
    async with SqsBackend(endpoint) as backend:
        url = await backend.create_queue("jobs")
        lock = sqlite3.connect(path, isolation_level=None)
        try:
            lock.execute("BEGIN IMMEDIATE")  # SQLite's write lock, as another process would hold it
            with pytest.raises(TransientBackendError, match=r"SendMessageBatch: InternalError: .*locked"):
                await backend.send_message_batch(url, [OutgoingMessage("job")])
        finally:
            lock.close()
        ids, _ = await backend.send_message_batch(url, [OutgoingMessage("job")])  # and once it is free, it works
        assert len(ids) == 1


async def test_an_endpoint_works_without_credentials_in_the_chain(
    aws: pytest.MonkeyPatch, serve_url: str, queue_name: str
) -> None:
    aws.delenv("AWS_ACCESS_KEY_ID")
    aws.delenv("AWS_SECRET_ACCESS_KEY")
    async with SqsBackend(serve_url) as backend:
        url = await backend.create_queue(queue_name)
        assert await backend.get_queue_url(queue_name) == url


async def test_aws_without_credentials_fails_without_trying_dummy_ones(aws: pytest.MonkeyPatch) -> None:
    aws.delenv("AWS_ACCESS_KEY_ID")
    aws.delenv("AWS_SECRET_ACCESS_KEY")
    async with SqsBackend() as backend:  # botocore refuses to sign before sending anything
        with pytest.raises(BackendError, match="GetQueueUrl: NoCredentialsError") as refused:
            await backend.get_queue_url("jobs")
    assert not isinstance(refused.value, TransientBackendError)


@pytest.mark.parametrize(
    ("asked", "environment", "signed_for"),
    [("eu-west-1", "eu-central-1", "eu-west-1"), (None, "eu-central-1", "eu-central-1"), (None, None, "us-east-1")],
)
async def test_the_region_is_the_urls_else_the_chains_else_us_east_1(
    aws: pytest.MonkeyPatch,
    serve_url: str,
    queue_name: str,
    asked: str | None,
    environment: str | None,
    signed_for: str,
) -> None:
    if environment is None:
        aws.delenv("AWS_DEFAULT_REGION")
    else:
        aws.setenv("AWS_DEFAULT_REGION", environment)
    async with SqsBackend(serve_url, region=asked) as backend:
        assert backend.region == signed_for
        url = await backend.create_queue(queue_name)
        arn = (await backend.get_queue_attributes(url, ["QueueArn"]))["QueueArn"]
    assert arn.split(":")[3] == signed_for  # our server names ARNs by the region a request is signed for


async def test_a_backend_must_be_entered_before_use() -> None:
    with pytest.raises(RuntimeError, match="async with"):
        await SqsBackend("http://127.0.0.1:9324").get_queue_url("jobs")


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("AWS.SimpleQueueService.NonExistentQueue", 400, QueueNotFoundError),
        ("QueueDoesNotExist", 400, QueueNotFoundError),
        ("RequestThrottled", 403, TransientBackendError),
        ("ThrottlingException", 400, TransientBackendError),
        ("KMS.ThrottlingException", 400, TransientBackendError),
        ("SomethingNew", 429, TransientBackendError),
        ("InternalError", 500, TransientBackendError),
        ("ServiceUnavailable", 503, TransientBackendError),
        ("AWS.SimpleQueueService.OverLimit", 403, BackendError),
        ("AccessDenied", 403, BackendError),
    ],
)
def test_service_errors_are_sorted_by_what_a_retry_could_mend(code: str, status: int, kind: type[BackendError]) -> None:
    """The codes a test server cannot be made to answer, checked on the error value botocore would raise."""
    reply: Any = {"Error": {"Code": code, "Message": "as SQS words it"}, "ResponseMetadata": {"HTTPStatusCode": status}}
    error = _client_error("ReceiveMessage", ClientError(reply, "ReceiveMessage"))
    assert type(error) is kind
    assert str(error) == f"ReceiveMessage: {code}: as SQS words it"
