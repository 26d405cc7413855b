"""Scale-in protection while the worker is busy: when to protect, renew and unprotect, whoever does it.

A scaler that removes capacity picks its victim without knowing which workers are in the middle of a two-hour
encode. ECS task protection and EC2 instance protection let a worker say "not me, not now"; this module decides
*when* to say it, from :attr:`Supervisor.in_progress` sampled on the supervisor's clock, and leaves *how* to a
:class:`Protector`. The rules (:class:`Hysteresis`):

* protect on the first busy slot (checked every ``check_every`` second);
* while protected, renew every ``renew_every`` seconds if the protection expires (ECS's does; EC2's does not);
* unprotect only after ``idle_after`` seconds without a job, so a worker between two jobs does not toggle (AWS
  warns that fleets toggling protection constantly are throttled);
* a worker that starts idle also unprotects after ``idle_after``: a previous process, or the group's
  "new instances protected" default, may have left it protected, and an idle worker nobody can scale in is
  paid for nothing;
* once draining, stop: the platform is already stopping this worker, and protection no longer matters.

A failed call (network, throttling, missing permission) is logged and retried after a growing pause; it never
stops the worker. :meth:`ProtectionService.statistics` is the record metrics read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Protocol

import anyio
import structlog

from consumerkit.clock import sleep_until
from consumerkit.errors import ConfigError, ConsumerkitError
from consumerkit.runtime.supervisor import Supervisor

__all__ = [
    "Hysteresis",
    "ProtectionError",
    "ProtectionService",
    "ProtectionStatistics",
    "Protector",
    "protection_service",
]

log = structlog.get_logger("consumerkit.aws.protection")
Action = Literal["enable", "renew", "disable"]


class ProtectionError(ConsumerkitError):
    """A protector's call failed; ``code`` is the service's error code where it gave one (``ThrottlingException``,
    ``TASK_NOT_VALID``, ``AccessDenied``...). The service retries it later."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class Protector(Protocol):
    """Protects this worker's capacity (an ECS task, an EC2 instance) from scale-in, or stops doing so."""

    @property
    def renew_every(self) -> float | None:
        """Seconds between renewals while protected, for protection that expires; None if it never does."""
        ...

    async def enable(self) -> None:
        """Protect (or renew the protection); raise on failure."""
        ...

    async def disable(self) -> None:
        """Make the capacity eligible for scale-in again; raise on failure."""
        ...


LIFT_TIMEOUT = 2.0  # seconds the last unprotect may take at exit, inside the shutdown budget


@dataclass(frozen=True, slots=True)
class Hysteresis:
    """When to call the protector; see the module's docstring for the rules."""

    idle_after: float = 60.0
    renew_every: float | None = None
    check_every: float = 1.0
    retry_after: float = 5.0  # the first pause after a failed call; doubles with each failure in a row
    max_retry_after: float = 300.0

    def __post_init__(self) -> None:
        _check("idle_after", self.idle_after, 0, 86_400)
        if self.renew_every is not None:
            _check("renew_every", self.renew_every, 1, 172_800)
        _check("check_every", self.check_every, 0.01, 60)
        _check("retry_after", self.retry_after, 0.01, 3600)
        _check("max_retry_after", self.max_retry_after, self.retry_after, 86_400)

    def retry_delay(self, failures: int) -> float:
        """The pause after the ``failures``-th failed call in a row."""
        return min(self.max_retry_after, self.retry_after * 2.0 ** min(failures - 1, 32))


def _check(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ConfigError(f"{name}={value!r} is out of range: {low:g}..{high:g} seconds")


@dataclass(frozen=True, slots=True)
class ProtectionStatistics:
    """What metrics read: whether the last successful call protected, and how many calls of each kind."""

    protected: bool
    toggles: int  # successful enable/disable calls that changed the state (or may have, from the unknown start)
    renewals: int
    errors: int
    last_error: str | None


@dataclass(slots=True)
class _State:
    protected: bool | None = None  # None: not known yet (treated as "maybe", so an idle start unprotects)
    idle_since: float | None = None
    renew_at: float = math.inf
    retry_at: float = -math.inf
    failures: int = 0


def next_action(policy: Hysteresis, state: _State, busy: bool, now: float) -> Action | None:
    """The one decision, pure: what to call now, given whether any slot is busy. Updates ``idle_since``."""
    if busy:
        state.idle_since = None
    elif state.idle_since is None:
        state.idle_since = now
    if now < state.retry_at:
        return None
    if busy and state.protected is not True:
        return "enable"
    idle_for = 0.0 if state.idle_since is None else now - state.idle_since
    if not busy and state.protected is not False and idle_for >= policy.idle_after:
        return "disable"
    if state.protected is True and now >= state.renew_at:
        return "renew"
    return None


class ProtectionService:
    """A Service for :meth:`App.add_service`: runs the :class:`Hysteresis` over a :class:`Protector`."""

    def __init__(self, protector: Protector, policy: Hysteresis) -> None:
        self.protector = protector
        self.policy = policy
        self._state = _State()
        self._toggles = 0
        self._renewals = 0
        self._errors = 0
        self._last_error: str | None = None

    def __repr__(self) -> str:
        return f"ProtectionService({self.protector!r}, {self.policy!r})"

    def statistics(self) -> ProtectionStatistics:
        protected = self._state.protected is True
        return ProtectionStatistics(protected, self._toggles, self._renewals, self._errors, self._last_error)

    async def __call__(self, supervisor: Supervisor) -> None:
        clock = supervisor.clock
        tick = clock.now()
        try:
            while not supervisor.draining:
                now = clock.now()
                action = next_action(self.policy, self._state, supervisor.in_progress > 0, now)
                if action is not None:
                    await self._call(action, now)
                # the next check one period on, or at once if the call took longer than that
                tick = max(tick + self.policy.check_every, clock.now())
                await sleep_until(clock, tick)
            await supervisor.wait_stopped()
        finally:
            await self._lift_for_good(clock.now())

    async def _lift_for_good(self, now: float) -> None:
        """Protection that never expires (EC2's) would outlive the worker and keep an idle instance from ever
        being scaled in; lift it as the worker stops. Expiring protection (ECS's) lapses by itself, and the
        platform is stopping that task anyway."""
        if self.protector.renew_every is not None or self._state.protected is False:
            return
        with anyio.CancelScope(shield=True), anyio.move_on_after(LIFT_TIMEOUT):
            await self._call("disable", now)

    async def _call(self, action: Action, now: float) -> None:
        state = self._state
        try:
            await (self.protector.disable() if action == "disable" else self.protector.enable())
        except Exception as error:  # any failure: the worker must go on, and the next try may pass
            state.failures += 1
            state.retry_at = now + self.policy.retry_delay(state.failures)
            self._errors += 1
            self._last_error = f"{type(error).__name__}: {error}"
            log.warning(
                "scale-in protection call failed; will retry", action=action, protector=repr(self.protector),
                error=self._last_error, retry_in=state.retry_at - now,
            )  # fmt: skip
            return
        state.failures, state.retry_at = 0, -math.inf
        self._record(action, now)

    def _record(self, action: Action, now: float) -> None:
        state = self._state
        if action == "renew":
            self._renewals += 1
        elif state.protected is not (action == "enable"):
            self._toggles += 1
            log.info("scale-in protection " + ("enabled" if action == "enable" else "disabled"),
                     protector=repr(self.protector))  # fmt: skip
        state.protected = action != "disable"
        renew_every = self.policy.renew_every
        state.renew_at = now + renew_every if state.protected and renew_every is not None else math.inf


def protection_service(
    protector: Protector,
    *,
    idle_after: float = 60.0,
    renew_every: float | None = None,
    check_every: float = 1.0,
) -> ProtectionService:
    """The service that protects while busy; ``renew_every`` (seconds) defaults to the protector's own period."""
    renew = renew_every if renew_every is not None else protector.renew_every
    return ProtectionService(protector, Hysteresis(idle_after, renew, check_every))
