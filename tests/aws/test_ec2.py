"""EC2 Auto Scaling instance protection against moto's server: a launch template and a group with one instance,
protected and unprotected with ``SetInstanceProtection``, checked with ``DescribeAutoScalingInstances``; the
instance id comes from the fake IMDS, as it would on EC2."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiobotocore.session import AioSession

from consumerkit import App, Message
from consumerkit.aws import Ec2InstanceProtection, ImdsClient, InstanceState, ProtectionError, ec2_protection_service
from consumerkit.backends import LocalBackend
from consumerkit.clock import ManualClock
from tests.aws.standins import FakeImds, RecordedProtector
from tests.fixtures.backends import remote_env
from tests.runtime.harness import Gate, advance, running, send, settle, url_of

AMI = "ami-12c6146b"  # one of moto's built-in images


@dataclass(frozen=True)
class Group:
    name: str
    instance_id: str
    endpoint_url: str

    async def protected(self) -> bool:
        async with _client(self.endpoint_url, "autoscaling") as autoscaling:
            reply = await autoscaling.describe_auto_scaling_instances(InstanceIds=[self.instance_id])
        return bool(reply["AutoScalingInstances"][0]["ProtectedFromScaleIn"])


def _client(endpoint_url: str, service: str) -> Any:
    return AioSession().create_client(service, region_name="us-east-1", endpoint_url=endpoint_url)


@pytest.fixture
async def group(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Group]:
    """An Auto Scaling group in moto with one InService instance, deleted after the test."""
    remote_env(monkeypatch)
    name = f"workers-{uuid.uuid4().hex[:12]}"
    async with _client(moto_url, "ec2") as ec2, _client(moto_url, "autoscaling") as autoscaling:
        data = {"ImageId": AMI, "InstanceType": "t3.micro"}
        await ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData=data)
        await autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=name, MinSize=1, MaxSize=2, DesiredCapacity=1, AvailabilityZones=["us-east-1a"],
            LaunchTemplate={"LaunchTemplateName": name, "Version": "$Latest"},
        )  # fmt: skip
        reply = await autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])
        (instance,) = reply["AutoScalingGroups"][0]["Instances"]
        assert instance["LifecycleState"] == "InService" and not instance["ProtectedFromScaleIn"]
        try:
            yield Group(name, instance["InstanceId"], moto_url)
        finally:
            await autoscaling.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)
            await ec2.delete_launch_template(LaunchTemplateName=name)


async def test_set_instance_protection_on_and_off(group: Group) -> None:
    protection = Ec2InstanceProtection(
        asg_name=group.name, instance_id=group.instance_id, endpoint_url=group.endpoint_url
    )
    assert protection.renew_every is None
    await protection.enable()
    assert await group.protected()
    assert await protection.describe() == InstanceState(group.instance_id, group.name, "InService", True)
    await protection.disable()
    assert not await group.protected()


async def test_the_instance_comes_from_metadata_and_the_group_from_auto_scaling(
    group: Group, imds: FakeImds, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")  # as on a bare instance: the region comes from metadata too
    imds.instance_id = group.instance_id
    protection = Ec2InstanceProtection(imds=ImdsClient(imds.url), endpoint_url=group.endpoint_url)
    await protection.enable()
    assert await group.protected()
    await protection.disable()
    assert not await group.protected()
    assert (protection.instance_id, protection.asg_name, protection.region) == (
        group.instance_id, group.name, "us-east-1",
    )  # fmt: skip
    looked_up = [r.path for r in imds.gets()]
    assert looked_up == ["/latest/meta-data/instance-id", "/latest/meta-data/placement/region"]  # once each


async def test_an_instance_outside_any_group_is_a_protection_error(group: Group) -> None:
    protection = Ec2InstanceProtection(instance_id="i-00000000000000000", endpoint_url=group.endpoint_url)
    with pytest.raises(ProtectionError, match="i-00000000000000000 is not in any Auto Scaling group"):
        await protection.enable()


async def test_an_unreachable_service_is_a_protection_error(group: Group) -> None:
    protection = Ec2InstanceProtection(
        asg_name=group.name, instance_id=group.instance_id, endpoint_url="http://127.0.0.1:9"
    )
    with pytest.raises(ProtectionError, match="SetInstanceProtection: EndpointConnectionError"):
        await protection.enable()


async def test_a_busy_worker_protects_its_instance_and_an_idle_one_releases_it(
    group: Group, imds: FakeImds, local: LocalBackend, clock: ManualClock, queue_name: str
) -> None:
    imds.instance_id = group.instance_id
    service = ec2_protection_service(imds=ImdsClient(imds.url), endpoint_url=group.endpoint_url, idle_after=60)
    recorded = RecordedProtector(service.protector, clock)
    service.protector = recorded
    app = App()
    gate = Gate()

    @app.handler(queue_name)
    async def encode(message: Message) -> None:
        await gate.enter()

    app.add_service(service)
    async with running(app, local, clock=clock) as (supervisor, outcomes):
        start = clock.now()
        await settle()
        await send(local, url_of(supervisor, queue_name), "encode")
        await gate.wait_started(1)
        await advance(clock, 1)
        await recorded.calls.wait(1)
        assert await group.protected()
        await advance(clock, 3600)  # an hour's encode: instance protection needs no renewal
        gate.open.set()
        await outcomes.wait(1)
        await settle()
        done = clock.now()
        await advance(clock, 61)
        await recorded.calls.wait(2)
        assert not await group.protected()
    assert [(c.at - start, c.name, c.error) for c in recorded.calls.items] == [
        (1, "enable", None), (done + 61 - start, "disable", None),
    ]  # fmt: skip
    assert service.statistics().toggles == 2
