"""ImdsClient against a fake IMDSv2 on 127.0.0.1: tokens first, reused, renewed; 404 is "none"; failures are
MetadataError. The real address is never contacted (conftest points the endpoint variable at a dead port)."""

from __future__ import annotations

import pytest

from consumerkit import ConfigError
from consumerkit.aws import ImdsClient, MetadataError
from consumerkit.aws.imds import DEFAULT_ENDPOINT, ENDPOINT_ENV
from consumerkit.clock import ManualClock
from tests.aws.standins import FakeImds
from tests.fixtures.backends import free_port


async def test_every_get_carries_a_token_fetched_once(imds: FakeImds) -> None:
    client = ImdsClient(imds.url)
    assert await client.instance_id() == imds.instance_id
    assert await client.region() == "us-east-1"
    assert await client.get("/latest/meta-data/spot/instance-action") is None  # 404: nothing scheduled
    token, *gets = imds.requests.items
    assert (token.method, token.path, token.headers["X-aws-ec2-metadata-token-ttl-seconds"]) == (
        "PUT", "/latest/api/token", "21600",
    )  # fmt: skip
    assert [g.path for g in gets] == [
        "/latest/meta-data/instance-id",
        "/latest/meta-data/placement/region",
        "/latest/meta-data/spot/instance-action",
    ]
    assert {g.headers["X-aws-ec2-metadata-token"] for g in gets} == {"token-1"}


async def test_a_token_is_renewed_before_it_expires(imds: FakeImds, clock: ManualClock) -> None:
    client = ImdsClient(imds.url, token_ttl=300, clock=clock)
    await client.instance_id()
    clock.advance(239)
    await client.instance_id()
    clock.advance(1)  # a minute before its expiry
    await client.instance_id()
    assert [(r.method, r.headers.get("X-aws-ec2-metadata-token")) for r in imds.requests.items] == [
        ("PUT", None), ("GET", "token-1"), ("GET", "token-1"), ("PUT", None), ("GET", "token-2"),
    ]  # fmt: skip


async def test_a_refused_token_is_fetched_again_once(imds: FakeImds) -> None:
    client = ImdsClient(imds.url)
    await client.instance_id()
    imds.tokens.clear()  # the service restarted: the token it gave is unknown now
    assert await client.instance_id() == imds.instance_id
    assert [r.method for r in imds.requests.items] == ["PUT", "GET", "GET", "PUT", "GET"]


async def test_failures_are_metadata_errors(imds: FakeImds) -> None:
    imds.fail_next = 1
    with pytest.raises(MetadataError, match="HTTP 500"):
        await ImdsClient(imds.url).instance_id()
    with pytest.raises(MetadataError, match="ClientConnectorError"):
        await ImdsClient(f"http://127.0.0.1:{free_port()}").instance_id()
    imds.instance_id = ""
    with pytest.raises(MetadataError, match="instance-id: not found"):
        await ImdsClient(imds.url).instance_id()


def test_the_endpoint_is_an_argument_else_the_variable_else_the_link_local_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert ImdsClient("http://127.0.0.1:8080/").endpoint == "http://127.0.0.1:8080"
    monkeypatch.setenv(ENDPOINT_ENV, "http://127.0.0.1:9999")
    assert ImdsClient().endpoint == "http://127.0.0.1:9999"
    monkeypatch.delenv(ENDPOINT_ENV)
    assert ImdsClient().endpoint == DEFAULT_ENDPOINT == "http://169.254.169.254"  # built, never called
    with pytest.raises(ConfigError, match="not an http:// URL"):
        ImdsClient("169.254.169.254")
    with pytest.raises(ConfigError, match="token_ttl=0 is out of range"):
        ImdsClient(token_ttl=0)
