"""EcsTaskProtection against a fake ECS agent: the request shapes and every kind of answer the agent documents."""

from __future__ import annotations

import pytest

from consumerkit import ConfigError
from consumerkit.aws import EcsTaskProtection, ProtectionError, TaskProtection, ecs_protection_service
from consumerkit.aws.ecs import AGENT_URI_ENV
from consumerkit.clock import ManualClock
from tests.aws.standins import TASK_ARN, FakeEcsAgent, iso


async def test_protect_renew_and_unprotect_requests(ecs_agent: FakeEcsAgent, clock: ManualClock) -> None:
    protection = EcsTaskProtection(ecs_agent.url, expires_in_minutes=90)
    state = await protection.put(True)
    assert state == TaskProtection(True, iso(clock.now() + 90 * 60), TASK_ARN)
    assert await protection.state() == state
    assert await protection.put(False) == TaskProtection(False, None, TASK_ARN)
    put, get, unprotect = ecs_agent.requests.items
    assert put.method == "PUT" and put.path.endswith("/api/0123456789abcdef0-1234567890/task-protection/v1/state")
    assert put.headers["Content-Type"] == "application/json"
    assert put.body == {"ProtectionEnabled": True, "ExpiresInMinutes": 90}
    assert (get.method, get.body) == ("GET", None)
    assert unprotect.body == {"ProtectionEnabled": False}


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (200, {"failure": {"Arn": TASK_ARN, "Detail": None, "Reason": "TASK_NOT_VALID"}}, "TASK_NOT_VALID"),
        (400, {"requestID": "1", "error": {"Arn": TASK_ARN, "Code": "AccessDeniedException", "Message": "no"}},
         "AccessDeniedException"),
        (504, {"error": {"Arn": TASK_ARN, "Code": "RequestCanceled", "Message": "Timed out"}}, "RequestCanceled"),
        (502, "<html>bad gateway</html>", None),
        (200, {"protection": None}, None),
    ],
)  # fmt: skip
async def test_failures_and_errors_become_protection_errors(
    ecs_agent: FakeEcsAgent, status: int, body: object, code: str | None
) -> None:
    ecs_agent.scripted = [(status, body)]
    with pytest.raises(ProtectionError) as caught:
        await EcsTaskProtection(ecs_agent.url).enable()
    assert caught.value.code == code
    assert f"HTTP {status}" in str(caught.value)


async def test_an_agent_that_does_not_protect_is_an_error(ecs_agent: FakeEcsAgent) -> None:
    ecs_agent.scripted = [(200, {"protection": {"ProtectionEnabled": False, "ExpirationDate": None, "TaskArn": "t"}})]
    with pytest.raises(ProtectionError, match="asked for ProtectionEnabled=True"):
        await EcsTaskProtection(ecs_agent.url).enable()


async def test_the_agent_uri_comes_from_the_environment(
    ecs_agent: FakeEcsAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match=f"{AGENT_URI_ENV} is not set"):
        ecs_protection_service()
    monkeypatch.setenv(AGENT_URI_ENV, ecs_agent.url)
    service = ecs_protection_service(idle_after=120)
    assert service.policy.idle_after == 120 and service.policy.renew_every == 1800  # 60 min, renewed at 30
    await service.protector.enable()
    assert ecs_agent.protected


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"expires_in_minutes": 0}, r"expires_in_minutes=0 is out of range: 1\.\.2880"),
        ({"expires_in_minutes": 2881}, r"expires_in_minutes=2881 is out of range"),
        ({"expires_in_minutes": 10, "renew_every": 600}, r"renew_every=600 is out of range"),
        ({"agent_uri": "169.254.170.2/api/x"}, r"is not an http:// URL"),
    ],
)
def test_settings_are_checked(options: dict[str, object], message: str) -> None:
    options.setdefault("agent_uri", "http://127.0.0.1:1/api/x")
    with pytest.raises(ConfigError, match=message):
        EcsTaskProtection(**options)  # type: ignore[arg-type]
