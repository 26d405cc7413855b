"""The EC2 Spot interruption watch: start the graceful drain when AWS schedules this instance's interruption.

Two minutes before it stops or terminates a Spot instance, EC2 publishes the plan in instance metadata at
``/latest/meta-data/spot/instance-action``: 404 until then, afterwards ``{"action": "terminate" | "stop",
"time": "2017-09-18T08:22:00Z"}``. AWS suggests checking every 5 seconds. On a notice the watch logs it and
calls :meth:`Supervisor.stop`, exactly as SIGTERM would: receiving stops, running jobs get the drain timeout,
and what is still running then is released (visibility 0) so another instance takes it at once, instead of
waiting out a visibility timeout on a machine that no longer exists. Instance protection does not stop a
Spot interruption, so this is the only warning a job gets.

Network errors are logged and polled again at the next period; the watch never stops the worker itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import structlog

from consumerkit.aws.imds import ImdsClient, MetadataSource
from consumerkit.clock import sleep_until
from consumerkit.errors import ConfigError
from consumerkit.runtime.supervisor import Supervisor

__all__ = ["INSTANCE_ACTION", "SpotNotice", "SpotStatistics", "SpotWatch", "spot_watch_service"]

INSTANCE_ACTION = "/latest/meta-data/spot/instance-action"
log = structlog.get_logger("consumerkit.aws.spot")


@dataclass(frozen=True, slots=True)
class SpotNotice:
    """An interruption EC2 has scheduled for this instance."""

    action: str  # terminate | stop (hibernation gives no notice); "unknown" if the answer was not understood
    time: str  # when, in UTC, as EC2 spells it (ISO 8601)

    @classmethod
    def parse(cls, text: str) -> SpotNotice:
        """A 200 there means an interruption is coming even if its body cannot be read: drain either way."""
        try:
            answer = json.loads(text)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            return cls("unknown", "")
        return cls(str(answer.get("action") or "unknown"), str(answer.get("time") or ""))

    def seconds_left(self, now: float) -> float | None:
        try:
            return datetime.fromisoformat(self.time.replace("Z", "+00:00")).timestamp() - now
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class SpotStatistics:
    polls: int
    errors: int
    notice: SpotNotice | None


class SpotWatch:
    """A Service for :meth:`App.add_service`: polls for a Spot interruption notice every ``every`` seconds."""

    def __init__(self, imds: MetadataSource | None = None, *, every: float = 5.0) -> None:
        if not 0.1 <= every <= 60:
            raise ConfigError(f"every={every!r} is out of range: 0.1..60 seconds (a notice comes 120 s ahead)")
        self.imds = imds if imds is not None else ImdsClient()
        self.every = every
        self._polls = 0
        self._errors = 0
        self._notice: SpotNotice | None = None

    def __repr__(self) -> str:
        return f"SpotWatch({self.imds!r}, every={self.every:g})"

    def statistics(self) -> SpotStatistics:
        return SpotStatistics(self._polls, self._errors, self._notice)

    async def __call__(self, supervisor: Supervisor) -> None:
        clock = supervisor.clock
        tick = clock.now()
        while not supervisor.draining:  # once it drains (SIGTERM, or a notice) there is nothing left to start
            notice = await self.poll()
            if notice is not None:
                self._notice = notice
                log.warning(
                    "spot interruption scheduled: draining", action=notice.action, time=notice.time,
                    seconds_left=notice.seconds_left(clock.now()), running=supervisor.in_progress,
                )  # fmt: skip
                supervisor.stop()
                return
            tick = max(tick + self.every, clock.now())
            await sleep_until(clock, tick)

    async def poll(self) -> SpotNotice | None:
        """One look: the notice if one is scheduled, else None (also when the look failed, after logging it)."""
        self._polls += 1
        try:
            text = await self.imds.get(INSTANCE_ACTION)
        except Exception as error:  # MetadataError, or a custom source's own: the watch must go on
            self._errors += 1
            log.warning(
                "spot interruption watch: instance metadata unreachable; will retry",
                error=f"{type(error).__name__}: {error}", retry_in=self.every,
            )  # fmt: skip
            return None
        return None if text is None else SpotNotice.parse(text)


def spot_watch_service(imds: MetadataSource | None = None, *, every: float = 5.0) -> SpotWatch:
    """``consumerkit run --spot-watch``: drain gracefully when EC2 schedules this Spot instance's interruption."""
    return SpotWatch(imds, every=every)
