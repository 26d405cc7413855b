"""Message move tasks: StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask (DLQ redrive).

A task's progress is a function of the clock: by time ``t`` a task limited to ``r`` messages per second has
moved ``r × (t − start)`` messages, or everything when unlimited. The engine brings running tasks up to date
whenever it is asked about them or receives from a queue, rather than keeping a background loop: the result
is the same for every observer, and a manual clock drives it in tests.
"""

from __future__ import annotations

import base64
import json
import math
import uuid
from collections import defaultdict

from consumerkit.engine import validation as check
from consumerkit.engine.context import EngineContext
from consumerkit.engine.errors import SqsError
from consumerkit.engine.model import MAX_MOVE_RATE, MessageRecord, MoveTask, QueueRecord

_RUNNING = "RUNNING"


class MoveTaskOps(EngineContext):
    _tasks_running: bool = True  # until the first look at the store says otherwise

    async def start_message_move_task(
        self, source_arn: str, destination_arn: str | None = None, max_per_second: int | None = None
    ) -> str:
        if max_per_second is not None:
            check.int_param("MaxNumberOfMessagesPerSecond", max_per_second, 1, MAX_MOVE_RATE)
        now = self.clock.now()
        with self.store.transaction():
            self.advance_tasks(now)
            source = self._task_queue(source_arn, "SourceArn")
            if not any(
                q.attributes.redrive_policy and q.attributes.redrive_policy.dead_letter_target_arn == self.arn(source)
                for q in self.store.list_queues()
            ):
                raise SqsError.invalid_value(
                    "SourceArn", source_arn, "Source queue must be configured as a Dead Letter Queue."
                )
            if destination_arn is not None:
                self._task_queue(destination_arn, "DestinationArn")
            if any(t.status == _RUNNING and t.source_arn == self.arn(source) for t in self.store.tasks()):
                raise SqsError.invalid_value(
                    "SourceArn",
                    source_arn,
                    "There is already a task running. Only one active task is allowed for a source queue at a time.",
                )
            handle = base64.b64encode(
                json.dumps({"taskId": str(uuid.uuid4()), "sourceArn": self.arn(source)}).encode()
            ).decode()
            to_move = self.store.counts(source, now).visible
            task = MoveTask(handle, self.arn(source), destination_arn, max_per_second, now, to_move)
            self.store.save_task(task)
            self._tasks_running = True
            self.advance_tasks(now)
        self.waiters.wake_every_queue()
        return handle

    async def cancel_message_move_task(self, task_handle: str) -> int:
        """Cancel a running task; returns how many messages it had moved."""
        now = self.clock.now()
        with self.store.transaction():
            self.advance_tasks(now)
            task = next((t for t in self.store.tasks() if t.handle == task_handle), None)
            if task is None:
                raise SqsError("ResourceNotFoundException", f"Task does not exist: {task_handle}")
            if task.status != _RUNNING:
                raise SqsError(
                    "ResourceNotFoundException",
                    f"Only running tasks can be cancelled; this one is {task.status}.",
                )
            task.status = "CANCELLED"
            self.store.save_task(task)
        return task.moved

    async def list_message_move_tasks(self, source_arn: str, max_results: int = 1) -> list[MoveTask]:
        """The most recent tasks of a source queue, newest first (SQS keeps the last ten)."""
        check.int_param("MaxResults", max_results, 1, 10)
        now = self.clock.now()
        with self.store.transaction():
            self.advance_tasks(now)
            arn = self.arn(self._task_queue(source_arn, "SourceArn"))
        tasks = [t for t in self.store.tasks() if t.source_arn == arn]
        tasks.sort(key=lambda t: t.started_at, reverse=True)
        return tasks[:max_results]

    def _task_queue(self, arn: str, param: str) -> QueueRecord:
        queue = self.queue_by_arn(arn) if isinstance(arn, str) else None
        if queue is None:
            raise SqsError(
                "ResourceNotFoundException",
                f"The resource that you specified for the {param} parameter doesn't exist.",
            )
        return queue

    def advance_tasks(self, now: float) -> None:
        """Bring every running task up to ``now`` (call inside a transaction)."""
        if not self._tasks_running:
            return
        running = [t for t in self.store.tasks() if t.status == _RUNNING]
        for task in running:
            self._advance(task, now)
            self.store.save_task(task)
        self._tasks_running = any(t.status == _RUNNING for t in running)

    def next_task_move(self, now: float) -> float | None:
        if not self._tasks_running:
            return None
        due = [
            t.started_at + (t.moved + 1) / t.max_per_second
            for t in self.store.tasks()
            if t.status == _RUNNING and t.max_per_second is not None
        ]
        return min(due, default=None)

    def _advance(self, task: MoveTask, now: float) -> None:
        source = self.queue_by_arn(task.source_arn)
        if source is None:
            task.status, task.failure_reason = "FAILED", "The source queue was deleted."
            return
        allowed = task.to_move - task.moved
        if task.max_per_second is not None:
            allowed = min(allowed, math.floor(task.max_per_second * (now - task.started_at)) - task.moved)
        if allowed > 0:
            records = self._movable(source, now, allowed)
            failure = self._move(task, source, records, now)
            if failure:
                task.status, task.failure_reason = "FAILED", failure
                return
            if len(records) < allowed:  # the source has run dry
                task.status = "COMPLETED"
        if task.moved >= task.to_move:
            task.status = "COMPLETED"

    def _movable(self, source: QueueRecord, now: float, limit: int) -> list[MessageRecord]:
        if not source.fifo:
            return self.store.take_ready(source, now, limit)
        return [r for r in self.store.scan(source, limit * 4 + 1000) if r.visible_at <= now][:limit]

    def _move(self, task: MoveTask, source: QueueRecord, records: list[MessageRecord], now: float) -> str | None:
        by_target: dict[str, list[MessageRecord]] = defaultdict(list)
        for record in records:
            by_target[task.destination_arn or record.dead_letter_source_arn or ""].append(record)
        for arn in by_target:
            target = self.queue_by_arn(arn) if arn else None
            if target is None:
                self.store.update(source, records, now)
                return f"The destination queue {arn or '(unknown)'} does not exist."
        for arn, batch in by_target.items():
            target = self.queue_by_arn(arn)
            assert target is not None
            for record in batch:  # a redriven message starts afresh in its queue
                record.receive_count = 0
                record.first_received_at = record.received_at = None
                record.dead_letter_source_arn = None
                record.visible_at = record.moved_at = now
            self.store.move(source, target, batch, now)
            self.waiters.wake(target.id, len(batch))
            task.moved += len(batch)
        return None
