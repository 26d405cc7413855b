"""State and naming shared by the engine's operation groups (queues, messages, move tasks).

Queue URLs and ARNs are how SQS clients name queues; the engine keys everything by queue name and only
formats URLs and ARNs at its edge. A URL is resolved by its last path segment, so the same queue answers to
``http://localhost:9324/000000000000/jobs`` and to whatever host a server was reached at.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from consumerkit.clock import Clock, SystemClock
from consumerkit.engine import semantics as rules
from consumerkit.engine import validation as check
from consumerkit.engine.errors import SqsError
from consumerkit.engine.model import FIFO_SCAN_LIMIT, MessageRecord, QueueRecord
from consumerkit.engine.receipts import ReceiptCodec
from consumerkit.engine.store.base import Store
from consumerkit.engine.waiters import Waiters

DEFAULT_ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"
DEFAULT_ENDPOINT = "http://localhost:9324"

# (region, endpoint) of the caller a server is answering: see EngineContext.as_seen_by
_caller: ContextVar[tuple[str, str] | None] = ContextVar("consumerkit_engine_caller", default=None)


class EngineContext:
    def __init__(
        self,
        store: Store,
        clock: Clock | None = None,
        *,
        account_id: str = DEFAULT_ACCOUNT,
        region: str = DEFAULT_REGION,
        endpoint: str = DEFAULT_ENDPOINT,
        max_in_flight: int | None = 120_000,
    ) -> None:
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self.account_id = account_id
        self._region = region
        self._endpoint = endpoint.rstrip("/")
        self.codec = ReceiptCodec(store.secret())
        self.waiters = Waiters()
        self.max_in_flight = max_in_flight
        self._in_flight_checks: dict[int, tuple[float, bool]] = {}  # queue id -> (checked at, over the limit)

    def advance_tasks(self, now: float) -> None:
        """Bring message move tasks up to ``now``; ``MoveTaskOps`` provides it."""

    def catch_up_tasks(self, now: float) -> None:
        """Bring running move tasks up to ``now`` in a transaction of their own: before a call validates anything
        (a call refused afterwards must change nothing, and the memory store cannot roll back), and before
        counters are read. With no task running, no write transaction (SQLite's write lock) is taken."""
        if self.store.tasks(running=True):
            with self.store.transaction():
                self.advance_tasks(now)

    def dead_letter_sources(self, dead_letter: QueueRecord) -> list[QueueRecord]:
        """The queues whose RedrivePolicy sends their messages to ``dead_letter``."""
        arn = self.arn(dead_letter)
        return [
            q
            for q in self.store.list_queues()
            if q.attributes.redrive_policy and q.attributes.redrive_policy.dead_letter_target_arn == arn
        ]

    def next_task_move(self, now: float) -> float | None:
        """When a rate-limited move task next moves a message (parked receivers wake then)."""
        return None

    def select(
        self, queue: QueueRecord, now: float, limit: int, delivered: list[MessageRecord], can_redrive: bool
    ) -> rules.Selection:
        """What a receive (or a move task) may take now, sorted into deliver / expired / dead: FIFO in group
        order, standard in the order messages became visible. ``delivered`` are those this call already took."""
        if queue.fifo:
            scan = self.store.scan(queue, FIFO_SCAN_LIMIT)
            return rules.select_fifo(scan, queue.attributes, now, limit, can_redrive)
        selection = rules.Selection()
        # With VisibilityTimeout=0 a message just delivered is visible again, and may come first: never deliver
        # it twice in one receive, and ask for that many more so the answer is still as full as it can be.
        done = {d.seq for d in delivered}
        want = limit - len(delivered)
        taken = self.store.take_ready(queue, now, want + len(done))
        fresh = [r for r in taken if r.seq not in done][:want]
        chosen = {r.seq for r in fresh}
        surplus = [r for r in taken if r.seq not in chosen]
        if surplus:
            self.store.update(queue, surplus, now)  # handed back untouched
        for record in fresh:
            selection.sort(record, queue.attributes, now, can_redrive)
        return selection

    # naming
    @property
    def region(self) -> str:
        caller = _caller.get()
        return self._region if caller is None else caller[0]

    @property
    def endpoint(self) -> str:
        caller = _caller.get()
        return self._endpoint if caller is None else caller[1]

    @staticmethod
    @contextmanager
    def as_seen_by(region: str, endpoint: str) -> Iterator[None]:
        """Name queues for one caller: the region of its request's signature goes into ARNs, and the address it
        reached the server at into queue URLs (a server behind several names answers each in its own)."""
        token = _caller.set((region, endpoint.rstrip("/")))
        try:
            yield
        finally:
            _caller.reset(token)

    def url(self, queue: QueueRecord | str, endpoint: str | None = None) -> str:
        name = queue if isinstance(queue, str) else queue.name
        return f"{(endpoint or self.endpoint).rstrip('/')}/{self.account_id}/{name}"

    def arn(self, queue: QueueRecord | str) -> str:
        name = queue if isinstance(queue, str) else queue.name
        return f"arn:aws:sqs:{self.region}:{self.account_id}:{name}"

    def queue(self, queue_url: str) -> QueueRecord:
        """The queue a URL (or a bare name) names, or SQS's QueueDoesNotExist."""
        if not isinstance(queue_url, str) or not queue_url:
            raise SqsError.missing("QueueUrl")
        name = queue_url.rstrip("/").rsplit("/", 1)[-1]
        found = self.store.get_queue(name) if check.is_queue_name(name) else None
        if found is None:
            raise SqsError.no_queue()
        return found

    def queue_by_arn(self, arn: str) -> QueueRecord | None:
        """The queue an ARN names, if it is one of this engine's: same region and account (a DLQ must be)."""
        parts = arn.split(":") if isinstance(arn, str) else []
        if len(parts) != 6 or parts[:3] != ["arn", "aws", "sqs"] or parts[3:5] != [self.region, self.account_id]:
            return None
        return self.store.get_queue(parts[5]) if check.is_queue_name(parts[5]) else None
