"""Running on AWS capacity that scales: scale-in protection while busy, and the Spot interruption watch.

Each is a Service for :meth:`App.add_service` (``consumerkit run`` adds them from its flags):

* :func:`ecs_protection_service` (``--ecs-protection``): ECS task scale-in protection through the agent;
* :func:`ec2_protection_service` (``--ec2-protection [--asg-name NAME]``): EC2 Auto Scaling instance protection;
* :func:`spot_watch_service` (``--spot-watch``): drain when EC2 schedules a Spot interruption.

The busy/idle hysteresis is in :mod:`consumerkit.aws.protection`, apart from AWS: any :class:`Protector` can be
driven by :func:`protection_service`. docs/autoscaling.md pairs these with the scaler recipes.
"""

from __future__ import annotations

from consumerkit.aws.ec2 import Ec2InstanceProtection, InstanceState, ec2_protection_service
from consumerkit.aws.ecs import EcsTaskProtection, TaskProtection, ecs_protection_service
from consumerkit.aws.imds import ImdsClient, MetadataError, MetadataSource
from consumerkit.aws.protection import (
    Hysteresis,
    ProtectionError,
    ProtectionService,
    ProtectionStatistics,
    Protector,
    protection_service,
)
from consumerkit.aws.spot import SpotNotice, SpotStatistics, SpotWatch, spot_watch_service

__all__ = [
    "Ec2InstanceProtection",
    "EcsTaskProtection",
    "Hysteresis",
    "ImdsClient",
    "InstanceState",
    "MetadataError",
    "MetadataSource",
    "ProtectionError",
    "ProtectionService",
    "ProtectionStatistics",
    "Protector",
    "SpotNotice",
    "SpotStatistics",
    "SpotWatch",
    "TaskProtection",
    "ec2_protection_service",
    "ecs_protection_service",
    "protection_service",
    "spot_watch_service",
]
