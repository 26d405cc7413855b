"""ECS task scale-in protection, through the container agent's endpoint ``$ECS_AGENT_URI/task-protection/v1/state``.

A protected task is terminated neither by service auto scaling's scale-in nor by a deployment (AWS names a
video transcoding job that runs for hours as the case it is for). ``PUT`` with ``{"ProtectionEnabled": true,
"ExpiresInMinutes": N}`` (1..2880; ECS's default would be 120) protects and resets the expiry; ``false``
unprotects; ``GET`` returns the state. The expiry is the safety net: a worker that hangs or loses its
connection is not protected forever. So this protects for ``expires_in_minutes`` (60) and asks to be renewed
every half of that (30 minutes) while busy.

The agent answers (docs: task-scale-in-protection-endpoint; agent: TaskProtectionResponse)::

    {"protection": {"ProtectionEnabled": true, "ExpirationDate": "...", "TaskArn": "..."}}
    {"failure": {"Arn": "...", "Reason": "TASK_NOT_VALID", "Detail": null}}         # HTTP 200
    {"requestID": "...", "error": {"Arn": "...", "Code": "ThrottlingException", "Message": "Rate exceeded"}}

A failure (a standalone task, not in a service) comes back with status 200, so the body decides, not the
status. Both become :class:`~consumerkit.aws.protection.ProtectionError` with the code.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import aiohttp

from consumerkit.aws.protection import ProtectionError, ProtectionService, protection_service
from consumerkit.errors import ConfigError

__all__ = ["AGENT_URI_ENV", "EcsTaskProtection", "TaskProtection", "ecs_protection_service"]

AGENT_URI_ENV = "ECS_AGENT_URI"
STATE_PATH = "/task-protection/v1/state"
MAX_EXPIRY_MINUTES = 2880  # ECS: 48 hours


@dataclass(frozen=True, slots=True)
class TaskProtection:
    """The agent's view of this task's protection."""

    enabled: bool
    expiration: str | None  # when it lapses (as the agent spells it), None when not protected
    task_arn: str | None


class EcsTaskProtection:
    """A :class:`~consumerkit.aws.protection.Protector` for the ECS task this process runs in."""

    def __init__(
        self,
        agent_uri: str | None = None,
        *,
        expires_in_minutes: int = 60,
        renew_every: float | None = None,
        timeout: float = 15.0,
    ) -> None:
        uri = agent_uri or os.environ.get(AGENT_URI_ENV)
        if not uri:
            raise ConfigError(
                f"{AGENT_URI_ENV} is not set: ECS task protection talks to the ECS container agent, which sets "
                f"{AGENT_URI_ENV} in the containers of ECS tasks; outside ECS, leave task protection off"
            )
        if not uri.startswith(("http://", "https://")):
            raise ConfigError(f"{AGENT_URI_ENV}={uri!r} is not an http:// URL")
        if not 1 <= expires_in_minutes <= MAX_EXPIRY_MINUTES:
            raise ConfigError(f"expires_in_minutes={expires_in_minutes!r} is out of range: 1..{MAX_EXPIRY_MINUTES}")
        renew = expires_in_minutes * 60 / 2 if renew_every is None else renew_every
        if not 1 <= renew < expires_in_minutes * 60:
            raise ConfigError(
                f"renew_every={renew!r} is out of range: 1 s up to, not including, the expiry "
                f"({expires_in_minutes * 60} s), or protection lapses while busy"
            )
        self.url = uri.rstrip("/") + STATE_PATH
        self.expires_in_minutes = expires_in_minutes
        self._renew_every = renew
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    @property
    def renew_every(self) -> float | None:
        return self._renew_every

    def __repr__(self) -> str:
        return f"EcsTaskProtection({self.url!r}, expires_in_minutes={self.expires_in_minutes})"

    async def enable(self) -> None:
        await self.put(True)

    async def disable(self) -> None:
        await self.put(False)

    async def put(self, enabled: bool) -> TaskProtection:
        body: dict[str, Any] = {"ProtectionEnabled": enabled}
        if enabled:
            body["ExpiresInMinutes"] = self.expires_in_minutes
        state = await self._request("PUT", body)
        if state.enabled is not enabled:
            raise ProtectionError(f"ECS task protection: asked for ProtectionEnabled={enabled}, the agent says {state}")
        return state

    async def state(self) -> TaskProtection:
        return await self._request("GET", None)

    async def _request(self, method: str, body: dict[str, Any] | None) -> TaskProtection:
        try:
            async with (
                aiohttp.ClientSession(timeout=self._timeout) as session,
                session.request(method, self.url, json=body) as reply,
            ):
                status, text = reply.status, await reply.text()
        except (aiohttp.ClientError, OSError) as error:  # TimeoutError included
            where = f"ECS task protection {method} {self.url}"
            raise ProtectionError(f"{where}: {type(error).__name__}: {error}") from error
        return _parse(method, status, text)


def _parse(method: str, status: int, text: str) -> TaskProtection:
    """The agent's answer as a TaskProtection, or the ProtectionError its failure or error names."""
    where = f"ECS task protection {method}: HTTP {status}"
    try:
        answer = json.loads(text)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise ProtectionError(f"{where}: not a JSON object: {text[:200]!r}")
    if isinstance(error := answer.get("error"), dict):
        code = str(error.get("Code") or "") or None
        raise ProtectionError(f"{where}: {code}: {error.get('Message')} (request {answer.get('requestID')})", code)
    if isinstance(failure := answer.get("failure"), dict):
        reason = str(failure.get("Reason") or "") or None
        raise ProtectionError(f"{where}: failure {reason}: {failure.get('Detail')}", reason)
    protection = answer.get("protection")
    if status != 200 or not isinstance(protection, dict):
        raise ProtectionError(f"{where}: unexpected answer {text[:200]!r}")
    expiration = protection.get("ExpirationDate")
    arn = protection.get("TaskArn")
    return TaskProtection(
        protection.get("ProtectionEnabled") is True,
        None if expiration is None else str(expiration),
        None if arn is None else str(arn),
    )


def ecs_protection_service(
    *, agent_uri: str | None = None, expires_in_minutes: int = 60, idle_after: float = 60.0
) -> ProtectionService:
    """``consumerkit run --ecs-protection``: protect this ECS task while any slot is busy. Raises ConfigError at
    once when ``ECS_AGENT_URI`` is missing, so a misconfigured worker fails at start, not at its first job."""
    protector = EcsTaskProtection(agent_uri, expires_in_minutes=expires_in_minutes)
    return protection_service(protector, idle_after=idle_after)
