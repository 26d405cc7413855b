"""Message move tasks: StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask (DLQ redrive).

A task's progress is a function of the clock: by time ``t`` a task limited to ``r`` messages per second has
moved ``r × (t − start)`` messages, or everything when unlimited. The engine brings running tasks up to date
whenever it is asked about them, receives, or reports counters, and parked receivers wake when a task's next
move is due, rather than keeping a background loop: the result is the same for every observer, whichever
engine or process started the task, and a manual clock drives it in tests.
"""

from __future__ import annotations

import base64
import json
import math
import uuid
from collections import defaultdict

from consumerkit.engine import semantics as rules
from consumerkit.engine import validation as check
from consumerkit.engine.context import EngineContext
from consumerkit.engine.errors import SqsError
from consumerkit.engine.ids import message_id
from consumerkit.engine.model import MAX_MOVE_RATE, MAX_MOVE_TASKS_LISTED, MoveTask, QueueRecord

_RUNNING = "RUNNING"
# rate × elapsed lands a hair below a whole number at epoch-sized timestamps (a float resolves ~0.24 µs
# there); a thousandth of a message absorbs that at any rate up to 500/s and never moves one early
_ROUNDING = 1e-3


class MoveTaskOps(EngineContext):
    async def start_message_move_task(
        self, source_arn: str, destination_arn: str | None = None, max_per_second: int | None = None
    ) -> str:
        if max_per_second is not None:
            check.int_param("MaxNumberOfMessagesPerSecond", max_per_second, 1, MAX_MOVE_RATE)
        now = self.clock.now()
        self.catch_up_tasks(now)
        with self.store.transaction():
            source = self._task_queue(source_arn, "SourceArn")
            self._check_start(source, destination_arn)
            handle = base64.b64encode(
                json.dumps({"taskId": str(uuid.uuid4()), "sourceArn": self.arn(source)}).encode()
            ).decode()
            counts = self.store.counts(source, now)
            # What is available now; on FIFO also what is in flight, since group order may require moving a
            # message in flight before the ones behind it. A standard task does not wait for messages in flight.
            to_move = counts.visible + (counts.in_flight if source.fifo else 0)
            task = MoveTask(handle, self.arn(source), destination_arn, max_per_second, now, to_move)
            self.store.save_task(task)
            self.advance_tasks(now)
        self.waiters.wake_every_queue()
        return handle

    def _check_start(self, source: QueueRecord, destination_arn: str | None) -> None:
        arn = self.arn(source)
        if not self.dead_letter_sources(source):
            raise SqsError.invalid_value("SourceArn", arn, "Source queue must be configured as a Dead Letter Queue.")
        if destination_arn is not None:
            destination = self._task_queue(destination_arn, "DestinationArn")
            if destination.fifo != source.fifo:
                raise SqsError.invalid_value(
                    "DestinationArn", destination_arn, "The destination must be of the same type as the source."
                )
        if any(t.source_arn == arn for t in self.store.tasks(running=True)):
            raise SqsError.invalid_value(
                "SourceArn",
                arn,
                "There is already a task running. Only one active task is allowed for a source queue at a time.",
            )

    async def cancel_message_move_task(self, task_handle: str) -> int:
        """Cancel a running task; returns how many messages it had moved."""
        now = self.clock.now()
        self.catch_up_tasks(now)
        with self.store.transaction():
            task = next((t for t in self.store.tasks() if t.handle == task_handle), None)
            if task is None:
                raise SqsError("ResourceNotFoundException", f"Task does not exist: {task_handle}")
            if task.status != _RUNNING:
                raise SqsError(
                    "ResourceNotFoundException", f"Only running tasks can be cancelled; this one is {task.status}."
                )
            task.status = "CANCELLED"
            self.store.save_task(task)
        return task.moved

    async def list_message_move_tasks(self, source_arn: str, max_results: int | None = None) -> list[MoveTask]:
        """The most recent tasks of a source queue, newest first (one unless ``max_results`` says more)."""
        max_results = 1 if max_results is None else check.int_param("MaxResults", max_results, 1, MAX_MOVE_TASKS_LISTED)
        now = self.clock.now()
        self.catch_up_tasks(now)
        arn = self.arn(self._task_queue(source_arn, "SourceArn"))
        tasks = [t for t in self.store.tasks() if t.source_arn == arn]
        tasks.sort(key=lambda t: t.started_at, reverse=True)
        return tasks[:max_results]

    def _task_queue(self, arn: str, param: str) -> QueueRecord:
        queue = self.queue_by_arn(arn) if isinstance(arn, str) else None
        if queue is None:
            raise SqsError(
                "ResourceNotFoundException", f"The resource that you specified for the {param} parameter doesn't exist."
            )
        return queue

    def advance_tasks(self, now: float) -> None:
        """Bring every running task up to ``now`` (call inside a transaction)."""
        for task in self.store.tasks(running=True):
            self._advance(task, now)
            self.store.save_task(task)

    def next_task_move(self, now: float) -> float | None:
        due = [
            t.started_at + (t.moved + 1) / t.max_per_second
            for t in self.store.tasks(running=True)
            if t.max_per_second is not None
        ]
        return min(due, default=None)

    def _advance(self, task: MoveTask, now: float) -> None:
        source = self.queue_by_arn(task.source_arn)
        if source is None:
            task.status, task.failure_reason = "FAILED", "The source queue was deleted."
            return
        allowed = task.to_move - task.moved
        if task.max_per_second is not None:
            due = math.floor(task.max_per_second * (now - task.started_at) + _ROUNDING)
            allowed = min(allowed, due - task.moved)
        if allowed > 0:
            moved = self._move_some(task, source, now, allowed)
            if moved is None:
                return
            if moved < allowed:
                left = self.store.counts(source, now)
                if not (left.visible or left.in_flight or left.delayed):  # the source has run dry
                    task.status = "COMPLETED"
        if task.moved >= task.to_move:
            task.status = "COMPLETED"

    def _move_some(self, task: MoveTask, source: QueueRecord, now: float, limit: int) -> int | None:
        """Move up to ``limit`` available messages, in the order a receive would take them (FIFO groups stay
        in order); drop expired ones on the way. Returns how many moved, None if the task failed."""
        selection = self.select(source, now, limit, [], can_redrive=False)
        if selection.expired:
            self.store.remove(source, [r.seq for r in selection.expired])
        by_target = defaultdict(list)
        for record in selection.deliver:
            by_target[task.destination_arn or record.dead_letter_source_arn or ""].append(record)
        targets = {arn: self.queue_by_arn(arn) if arn else None for arn in by_target}
        missing = [arn or "(unknown)" for arn, target in targets.items() if target is None]
        if missing:
            self.store.update(source, selection.deliver, now)  # hand them back untouched
            task.status, task.failure_reason = "FAILED", f"The destination queue {missing[0]} does not exist."
            return None
        for arn, batch in by_target.items():
            target = targets[arn]
            assert target is not None
            for record in batch:
                rules.redrive(record, now, message_id())
            self.store.move(source, target, batch, now)
            self.waiters.wake(target.id, len(batch))
            task.moved += len(batch)
        return len(selection.deliver)
