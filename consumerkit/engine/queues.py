"""Queue administration: create, find, list, configure, tag, permit, purge and delete queues."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from consumerkit.engine import attributes as attrs
from consumerkit.engine import validation as check
from consumerkit.engine.context import EngineContext
from consumerkit.engine.errors import SqsError
from consumerkit.engine.model import (
    MAX_LIST_RESULTS,
    MAX_PERMISSION_ACTIONS,
    MAX_TAG_KEY,
    MAX_TAG_VALUE,
    MAX_TAGS,
    PURGE_INTERVAL,
    QUEUE_DELETE_COOLDOWN,
    Page,
    QueueAttributes,
    QueueRecord,
    QueueStats,
)


class QueueOps(EngineContext):
    async def create_queue(
        self, name: str, attributes: Mapping[str, str] | None = None, tags: Mapping[str, str] | None = None
    ) -> str:
        """Create a queue, or return the URL of an identical one (SQS's CreateQueue is idempotent)."""
        requested = check.text_map("Attributes", attributes or {})
        fifo = str(requested.get("FifoQueue", "false")).lower() == "true"
        if "FifoQueue" in requested and not fifo:
            raise SqsError.unknown_attribute("FifoQueue")
        if not isinstance(name, str) or not name:
            raise SqsError.missing("QueueName")
        check.queue_name(name, fifo=fifo)
        now = self.clock.now()
        new_attributes = attrs.apply(QueueAttributes(fifo_queue=fifo), requested, fifo=fifo, creating=True)
        with self.store.transaction():
            existing = self.store.get_queue(name)
            if existing is not None:
                self._check_same(existing, new_attributes, requested)
                return self.url(existing)
            deleted = self.store.deleted_at(name)
            if deleted is not None and now - deleted < QUEUE_DELETE_COOLDOWN:
                raise SqsError(
                    "QueueDeletedRecently",
                    "You must wait 60 seconds after deleting a queue before you can create another with the same name.",
                )
            queue = QueueRecord(
                name, new_attributes, created=now, modified=now, tags=_tags(check.text_map("Tags", tags or {}))
            )
            self._check_redrive(queue)
            self.store.save_queue(queue)
        return self.url(queue)

    def _check_same(self, existing: QueueRecord, wanted: QueueAttributes, requested: Mapping[str, str]) -> None:
        if existing.fifo != wanted.fifo_queue:
            raise SqsError(
                "QueueNameExists",
                "A queue already exists with the same name and a different value for attribute FifoQueue",
            )
        probe = replace(existing, attributes=wanted)
        name = attrs.differing(attrs.render(existing, "", (0, 0, 0)), attrs.render(probe, "", (0, 0, 0)), requested)
        if name is not None:
            raise SqsError(
                "QueueNameExists",
                f"A queue already exists with the same name and a different value for attribute {name}",
            )

    def _check_redrive(self, queue: QueueRecord) -> None:
        """A RedrivePolicy must name an existing queue of the same type that allows this queue as a source."""
        policy = queue.attributes.redrive_policy
        if policy is None:
            return
        raw = attrs.render_redrive_policy(policy)
        if policy.dead_letter_target_arn == self.arn(queue):
            raise SqsError.invalid_value("RedrivePolicy", raw, "A queue cannot be its own dead-letter queue.")
        target = self.queue_by_arn(policy.dead_letter_target_arn)
        if target is None:
            raise SqsError.invalid_value(
                "RedrivePolicy", raw, "Dead letter target does not exist in this account and region."
            )
        if target.fifo != queue.fifo:
            raise SqsError.invalid_value(
                "RedrivePolicy",
                raw,
                "Dead-letter queue and source queue must be the same type (FIFO or standard).",
            )
        allow = target.attributes.redrive_allow_policy
        if allow is not None and (
            allow.permission == "denyAll"
            or (allow.permission == "byQueue" and self.arn(queue) not in allow.source_queue_arns)
        ):
            raise SqsError.invalid_value(
                "RedrivePolicy",
                raw,
                "The dead-letter queue's RedriveAllowPolicy does not allow this source queue.",
            )

    async def get_queue_url(self, name: str, owner_account_id: str | None = None) -> str:
        if owner_account_id not in (None, self.account_id):
            raise SqsError.no_queue()
        return self.url(self.queue(name))

    async def list_queues(
        self, prefix: str | None = None, max_results: int | None = None, next_token: str | None = None
    ) -> Page:
        """Queue URLs in name order; a NextToken only when MaxResults was given, as SQS does."""
        prefix = check.optional_text("QueueNamePrefix", prefix)
        return self._page(sorted(q.name for q in self.store.list_queues()), prefix, max_results, next_token)

    async def list_dead_letter_source_queues(
        self, queue_url: str, max_results: int | None = None, next_token: str | None = None
    ) -> Page:
        names = sorted(q.name for q in self.dead_letter_sources(self.queue(queue_url)))
        return self._page(names, None, max_results, next_token)

    def _page(self, names: list[str], prefix: str | None, max_results: int | None, token: str | None) -> Page:
        if max_results is not None:
            check.int_param("MaxResults", max_results, 1, MAX_LIST_RESULTS)
        if prefix:
            names = [n for n in names if n.startswith(prefix)]
        if check.optional_text("NextToken", token):
            assert token is not None
            try:
                after = base64.urlsafe_b64decode(token.encode()).decode()
            except ValueError as exc:
                raise SqsError.invalid_value("NextToken", token, "Invalid NextToken.") from exc
            names = [n for n in names if n > after]
        limit = max_results or MAX_LIST_RESULTS
        page, rest = names[:limit], names[limit:]
        more = bool(rest) and max_results is not None
        next_token = base64.urlsafe_b64encode(page[-1].encode()).decode() if more else None
        return Page([self.url(n) for n in page], next_token)

    async def delete_queue(self, queue_url: str) -> None:
        with self.store.transaction():
            queue = self.queue(queue_url)
            self.store.drop_queue(queue, self.clock.now())
        self.waiters.wake(queue.id, -1)

    async def get_queue_attributes(self, queue_url: str, names: Iterable[str] = ("All",)) -> dict[str, str]:
        now = self.clock.now()
        self.catch_up_tasks(now)
        queue = self.queue(queue_url)
        wanted = list(check.texts("AttributeNames", names))
        counted = {"All", *attrs.COUNTERS} & set(wanted)
        c = self.store.counts(queue, now) if counted else None
        rendered = attrs.render(queue, self.arn(queue), (c.visible, c.in_flight, c.delayed) if c else (0, 0, 0))
        return attrs.select(wanted, rendered)

    async def set_queue_attributes(self, queue_url: str, attributes: Mapping[str, str]) -> None:
        with self.store.transaction():
            queue = self.queue(queue_url)
            new = attrs.apply(
                queue.attributes, check.text_map("Attributes", attributes), fifo=queue.fifo, creating=False
            )
            self._check_redrive(replace(queue, attributes=new))
            redelay = queue.fifo and new.delay_seconds != queue.attributes.delay_seconds
            queue.attributes = new
            queue.modified = now = self.clock.now()
            self.store.save_queue(queue)
            if redelay:  # SQS: on FIFO queues the queue's delay is retroactive
                self.store.redelay(queue, new.delay_seconds, now)
        if redelay:
            self.waiters.wake_every_queue()

    async def queue_stats(self, queue_url: str) -> QueueStats:
        """Backlog figures, including the age of the oldest message, which SQS shows only in CloudWatch."""
        now = self.clock.now()
        self.catch_up_tasks(now)
        queue = self.queue(queue_url)
        c = self.store.counts(queue, now)
        age = None if c.oldest_enqueued is None else max(0.0, now - c.oldest_enqueued)
        return QueueStats(c.visible, c.in_flight, c.delayed, age)

    async def purge_queue(self, queue_url: str) -> None:
        """Delete every message; SQS allows one purge per queue every 60 seconds."""
        now = self.clock.now()
        with self.store.transaction():
            queue = self.queue(queue_url)
            if queue.last_purge is not None and now - queue.last_purge < PURGE_INTERVAL:
                raise SqsError(
                    "PurgeQueueInProgress",
                    f"Only one PurgeQueue operation on {queue.name} is allowed every 60 seconds.",
                )
            self.store.purge(queue)
            queue.last_purge = now
            self.store.save_queue(queue)

    # tags
    async def tag_queue(self, queue_url: str, tags: Mapping[str, str]) -> None:
        with self.store.transaction():
            queue = self.queue(queue_url)
            queue.tags = _tags({**queue.tags, **check.text_map("Tags", tags)})
            self.store.save_queue(queue)

    async def untag_queue(self, queue_url: str, keys: Sequence[str]) -> None:
        with self.store.transaction():
            queue = self.queue(queue_url)
            drop = set(check.texts("TagKeys", keys))
            queue.tags = {k: v for k, v in queue.tags.items() if k not in drop}
            self.store.save_queue(queue)

    async def list_queue_tags(self, queue_url: str) -> dict[str, str]:
        return dict(self.queue(queue_url).tags)

    # permissions (kept in the Policy attribute, as SQS does)
    async def add_permission(
        self, queue_url: str, label: str, account_ids: Sequence[str], actions: Sequence[str]
    ) -> None:
        check.stored_text("Label", check.text("Label", label), "label")
        if not account_ids:
            raise SqsError.missing("AWSAccountIds")
        if not actions:
            raise SqsError.missing("Actions")
        account_ids, actions = check.texts("AWSAccountIds", account_ids), check.texts("Actions", actions)
        if len(actions) > MAX_PERMISSION_ACTIONS:
            raise SqsError(
                "OverLimit", f"{len(actions)} Actions were found, maximum allowed is {MAX_PERMISSION_ACTIONS}."
            )
        with self.store.transaction():
            queue = self.queue(queue_url)
            policy = _policy(queue)
            statements: list[dict[str, object]] = policy["Statement"]
            if any(s.get("Sid") == label for s in statements):
                raise SqsError.invalid_value("Label", label, "Already exists.")
            statements.append(
                {
                    "Sid": label,
                    "Effect": "Allow",
                    "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in account_ids]},
                    "Action": [f"SQS:{a}" for a in actions],
                    "Resource": self.arn(queue),
                }
            )
            self._save_policy(queue, policy)

    async def remove_permission(self, queue_url: str, label: str) -> None:
        with self.store.transaction():
            queue = self.queue(queue_url)
            policy = _policy(queue)
            kept = [s for s in policy["Statement"] if s.get("Sid") != label]
            if len(kept) == len(policy["Statement"]):
                raise SqsError.invalid_value("Label", label, "can't find label.")
            policy["Statement"] = kept
            self._save_policy(queue, policy)

    def _save_policy(self, queue: QueueRecord, policy: dict[str, list[dict[str, object]]]) -> None:
        queue.attributes.policy = json.dumps(policy) if policy["Statement"] else None
        queue.modified = self.clock.now()
        self.store.save_queue(queue)


def _policy(queue: QueueRecord) -> dict[str, list[dict[str, object]]]:
    if not queue.attributes.policy:
        return {"Statement": []}
    data = json.loads(queue.attributes.policy)  # checked when set: a map whose Statement is a list or a statement
    statements = data.get("Statement", [])
    data["Statement"] = statements if isinstance(statements, list) else [statements]
    return data  # type: ignore[no-any-return]


def _tags(tags: dict[str, str]) -> dict[str, str]:
    if len(tags) > MAX_TAGS:
        raise SqsError.invalid_parameters(f"Too many tags: a queue holds at most {MAX_TAGS}, got {len(tags)}.")
    for key, value in tags.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise SqsError.invalid_parameters(f"Tag {key!r} is invalid: keys and values must be strings.")
        if not 1 <= len(key) <= MAX_TAG_KEY or len(value) > MAX_TAG_VALUE or key.lower().startswith("aws:"):
            raise SqsError.invalid_parameters(
                f"Tag {key!r} is invalid: keys are 1 to {MAX_TAG_KEY} characters and may not start with 'aws:'; "
                f"values at most {MAX_TAG_VALUE} characters."
            )
        check.stored_text("Tags", key, "tag key")
        check.stored_text(f"Tags.{key}", value, "tag value")
    return tags
