"""EC2 Auto Scaling instance scale-in protection: ``SetInstanceProtection`` for this instance, via aiobotocore.

A protected instance is not chosen when its group scales in; if every instance is protected, the desired
capacity still drops and the group waits for one to be unprotected. This is AWS's own recipe for queue workers
(protect while working, unprotect when idle). It does not guard against health-check replacement, Spot
interruption or a manual termination. Instance protection does not expire, so there is nothing to renew.

The instance id comes from instance metadata unless given; the group from ``DescribeAutoScalingInstances`` for
that id unless given; the region from the SDK's configuration, else from instance metadata. All three are
looked up once, at the first call, and kept. IAM: ``autoscaling:SetInstanceProtection``, plus
``autoscaling:DescribeAutoScalingInstances`` when the group is not named. ``endpoint_url`` points the client
elsewhere (moto, in the tests).

AWS's dictionaries and botocore's errors stay in this module: callers see :class:`InstanceState` and
:class:`~consumerkit.aws.protection.ProtectionError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
from aiobotocore.config import AioConfig  # type: ignore[import-untyped]
from aiobotocore.session import AioSession  # type: ignore[import-untyped]
from botocore.exceptions import BotoCoreError, ClientError

from consumerkit.aws.imds import ImdsClient, MetadataError, MetadataSource
from consumerkit.aws.protection import ProtectionError, ProtectionService, protection_service

__all__ = ["Ec2InstanceProtection", "InstanceState", "ec2_protection_service"]

CONNECT_TIMEOUT = 5
READ_TIMEOUT = 15


@dataclass(frozen=True, slots=True)
class InstanceState:
    """One instance as its Auto Scaling group sees it."""

    instance_id: str
    group: str
    lifecycle_state: str  # InService, Pending, Terminating:Wait, ...
    protected: bool


class Ec2InstanceProtection:
    """A :class:`~consumerkit.aws.protection.Protector` for the EC2 instance this process runs on."""

    def __init__(
        self,
        *,
        asg_name: str | None = None,
        instance_id: str | None = None,
        imds: MetadataSource | None = None,
        endpoint_url: str | None = None,
        region: str | None = None,
    ) -> None:
        self.asg_name = asg_name
        self.instance_id = instance_id
        self.endpoint_url = endpoint_url
        self.region = region
        self._imds = imds
        self._session: Any = None

    @property
    def renew_every(self) -> float | None:
        return None  # instance protection lasts until it is cleared

    def __repr__(self) -> str:
        where = f", endpoint_url={self.endpoint_url!r}" if self.endpoint_url else ""
        return f"Ec2InstanceProtection(asg_name={self.asg_name!r}, instance_id={self.instance_id!r}{where})"

    async def enable(self) -> None:
        await self.set(True)

    async def disable(self) -> None:
        await self.set(False)

    async def set(self, protected: bool) -> None:
        instance, group = await self._target()
        await self._call(
            "SetInstanceProtection", InstanceIds=[instance], AutoScalingGroupName=group, ProtectedFromScaleIn=protected
        )

    async def describe(self) -> InstanceState:
        """This instance as its group sees it (``DescribeAutoScalingInstances``)."""
        instance = await self._instance_id()
        reply = await self._call("DescribeAutoScalingInstances", InstanceIds=[instance])
        found = reply.get("AutoScalingInstances") or []
        if not found:
            raise ProtectionError(f"instance {instance} is not in any Auto Scaling group (in {self.region})")
        item = found[0]
        return InstanceState(
            str(item["InstanceId"]),
            str(item["AutoScalingGroupName"]),
            str(item.get("LifecycleState", "")),
            bool(item.get("ProtectedFromScaleIn", False)),
        )

    async def _target(self) -> tuple[str, str]:
        instance = await self._instance_id()
        if self.asg_name is None:
            self.asg_name = (await self.describe()).group
        return instance, self.asg_name

    async def _instance_id(self) -> str:
        if self.instance_id is None:
            self.instance_id = await self._metadata("instance-id")
        return self.instance_id

    async def _metadata(self, what: str) -> str:
        imds = self._imds or ImdsClient()
        self._imds = imds
        try:
            text = await imds.get(f"/latest/meta-data/{'placement/region' if what == 'region' else what}")
        except MetadataError as error:
            raise ProtectionError(f"EC2 instance protection needs this instance's {what}: {error}") from error
        if not text:
            raise ProtectionError(f"EC2 instance protection: the instance metadata has no {what}")
        return text.strip()

    async def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        """One Auto Scaling call on a fresh client (calls are rare: a few per busy period)."""
        try:
            async with await self._client() as client:
                method = getattr(client, _snake(operation))
                reply: dict[str, Any] = await method(**params)
        except ClientError as error:
            info = error.response.get("Error", {})
            code = str(info.get("Code") or "") or None
            raise ProtectionError(f"{operation}: {code}: {info.get('Message', error)}", code) from error
        except (BotoCoreError, aiohttp.ClientError, OSError) as error:  # no credentials, unreachable, timeout
            raise ProtectionError(f"{operation}: {type(error).__name__}: {error}") from error
        return reply

    async def _client(self) -> Any:
        if self._session is None:
            self._session = AioSession()
        if self.region is None:
            self.region = self._session.get_config_variable("region") or await self._metadata("region")
        config = AioConfig(connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT, retries={"mode": "standard"})
        return self._session.create_client(
            "autoscaling", region_name=self.region, endpoint_url=self.endpoint_url, config=config
        )


def _snake(operation: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_")


def ec2_protection_service(
    *,
    asg_name: str | None = None,
    instance_id: str | None = None,
    imds: MetadataSource | None = None,
    endpoint_url: str | None = None,
    region: str | None = None,
    idle_after: float = 60.0,
) -> ProtectionService:
    """``consumerkit run --ec2-protection [--asg-name NAME]``: protect this instance from its group's scale-in
    while any slot is busy."""
    protector = Ec2InstanceProtection(
        asg_name=asg_name, instance_id=instance_id, imds=imds, endpoint_url=endpoint_url, region=region
    )
    return protection_service(protector, idle_after=idle_after)
