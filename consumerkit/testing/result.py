"""RunResult: what one run of an app under test did, message by message, in a shape a test can assert on.

A test thinks in bodies ("the job for clip-3 failed"), the runtime in message ids: the result keeps both, so
``result.outcome("clip-3")`` finds the message's last outcome without the test ever seeing an id.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from consumerkit.runtime.events import Outcome

__all__ = ["Body", "RunResult", "encode_body"]

# What a test may send or look up: a string as it is, anything else (a dict, a list) as JSON.
Body = str | Mapping[str, Any] | Sequence[Any]


def encode_body(body: Body) -> str:
    """The message body for ``body``: strings unchanged, dicts and lists JSON-encoded (keys kept in order)."""
    if isinstance(body, str):
        return body
    if isinstance(body, bytes | bytearray):
        raise TypeError("body: bytes are not a message body (SQS bodies are text); decode or base64 them first")
    try:
        return json.dumps(body)
    except TypeError as error:
        raise TypeError(f"body: {body!r} is neither a string nor JSON-encodable ({error})") from None


@dataclass(frozen=True)
class RunResult:
    """The outcomes of one :meth:`Runner.run_until_idle`, in the order the messages settled.

    ``outcomes`` holds every try (a message retried three times has three), ``bodies`` the body of each
    message id the worker received, and ``dead_lettered`` the bodies in the app's dead-letter queues when the
    run ended: what SQS moved there and what a handler rejected, from this run and earlier ones alike. A
    message's *last* outcome decides whether it is in ``succeeded`` or ``failed``.
    """

    outcomes: tuple[Outcome, ...]
    bodies: Mapping[str, str] = field(default_factory=dict)
    dead_lettered: tuple[str, ...] = ()

    @property
    def last(self) -> dict[str, Outcome]:
        """Each message's last outcome, by message id, in the order the messages first settled."""
        final: dict[str, Outcome] = {}
        for outcome in self.outcomes:
            final[outcome.message_id] = outcome
        return final

    @property
    def succeeded(self) -> list[str]:
        """Bodies of the messages whose last try succeeded (and were deleted)."""
        return [self._body(o) for o in self.last.values() if o.outcome == "success"]

    @property
    def failed(self) -> list[str]:
        """Bodies of the messages whose last try did not succeed: they erred, timed out or were rejected."""
        return [self._body(o) for o in self.last.values() if o.outcome != "success"]

    def counts(self) -> Counter[str]:
        """How many tries ended each way (``success``, ``error``, ``rejected``, ...)."""
        return Counter(o.outcome for o in self.outcomes)

    def outcomes_of(self, body: Body) -> list[Outcome]:
        """Every try of the messages with this body, in order (empty if none was received)."""
        wanted = encode_body(body)
        return [o for o in self.outcomes if self.bodies.get(o.message_id) == wanted]

    def outcome(self, body: Body) -> Outcome:
        """The last outcome of the one message with this body."""
        tries = self.outcomes_of(body)
        ids = {o.message_id for o in tries}
        if not ids:
            raise LookupError(f"no message with body {encode_body(body)!r} was handled in this run; {self._sample()}")
        if len(ids) > 1:
            raise LookupError(f"{len(ids)} messages have body {encode_body(body)!r}; use outcomes_of() for all")
        return tries[-1]

    def assert_all_succeeded(self) -> None:
        """Fail, naming each message that did not succeed and its last error, unless every one did."""
        failures = [o for o in self.last.values() if o.outcome != "success"]
        if failures:
            lines = [f"  {self._body(o)!r}: {o.outcome} after {o.receive_count} tries ({o.error!r})" for o in failures]
            raise AssertionError(f"{len(failures)} of {len(self.last)} messages did not succeed:\n" + "\n".join(lines))

    def _body(self, outcome: Outcome) -> str:
        return self.bodies.get(outcome.message_id, f"<message {outcome.message_id}>")

    def _sample(self) -> str:
        bodies = [self._body(o) for o in self.last.values()]
        return f"handled: {bodies[:5]!r}" + (f" and {len(bodies) - 5} more" if len(bodies) > 5 else "")

    def __repr__(self) -> str:
        counts = ", ".join(f"{kind}={n}" for kind, n in sorted(self.counts().items()))
        return (
            f"RunResult({len(self.last)} messages, {len(self.outcomes)} tries: {counts or 'none'}; "
            f"succeeded={self.succeeded!r}, failed={self.failed!r}, dead_lettered={list(self.dead_lettered)!r})"
        )
