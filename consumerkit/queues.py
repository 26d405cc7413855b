"""QueueSpec: a queue an app declares, so that it can be created at start-up with its dead-letter queue.

Declaring is for the local engine and for tests; on real SQS, queues belong to infrastructure code, and the
supervisor only looks them up unless told to create them. The attributes are SQS's, validated here for the
ones consumerkit sets itself, and passed through for the rest.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from consumerkit.errors import ConfigError

__all__ = ["QueueSpec"]


@dataclass(frozen=True, slots=True)
class QueueSpec:
    name: str
    dead_letter: str | None = None
    max_receives: int = 5  # the RedrivePolicy's maxReceiveCount: tries before SQS dead-letters a message
    visibility_timeout: int | None = None
    attributes_: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f"queue {self.name!r}"
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"queue: name must be a non-empty string, got {self.name!r}")
        if self.dead_letter is not None:
            if self.dead_letter == self.name:
                raise ConfigError(f"{where}: dead_letter cannot be the queue itself")
            if self.fifo != self.dead_letter.endswith(".fifo"):
                raise ConfigError(f"{where}: dead_letter {self.dead_letter!r} must be the same type (FIFO or not)")
        if not isinstance(self.max_receives, int) or not 1 <= self.max_receives <= 1000:
            raise ConfigError(f"{where}: max_receives={self.max_receives!r} is out of range: 1..1000 (SQS)")
        if self.visibility_timeout is not None and not 0 <= self.visibility_timeout <= 43_200:
            raise ConfigError(f"{where}: visibility_timeout={self.visibility_timeout!r} is out of range: 0..43200")

    @property
    def fifo(self) -> bool:
        return self.name.endswith(".fifo")

    def attributes(self, dead_letter_arn: str | None) -> dict[str, str]:
        """CreateQueue's attributes, with the RedrivePolicy once the DLQ's ARN is known."""
        attributes = self._base()
        if self.visibility_timeout is not None:
            attributes["VisibilityTimeout"] = str(self.visibility_timeout)
        if dead_letter_arn is not None:
            policy = {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": self.max_receives}
            attributes["RedrivePolicy"] = json.dumps(policy)
        return attributes | dict(self.attributes_)

    def dead_letter_attributes(self) -> dict[str, str]:
        # The DLQ keeps messages as long as SQS allows, so that there is time to look at them.
        return self._base() | {"MessageRetentionPeriod": "1209600"}

    def _base(self) -> dict[str, str]:
        return {"FifoQueue": "true"} if self.fifo else {}
