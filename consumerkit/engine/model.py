"""The engine's data: queues, messages and the typed values its API takes and returns.

Plain dataclasses with slots; no behaviour beyond small derived properties. Limits are named constants with
their SQS source in SQS_SEMANTICS.md §1, so a rule and its number are found in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from consumerkit.engine.errors import SqsError

# SQS limits (SQS_SEMANTICS.md §1).
MAX_BODY_BYTES = 1_048_576
MIN_MESSAGE_SIZE_ATTR = 1_024
MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 1_048_576
MAX_BATCH_ID_LENGTH = 80
MAX_RECEIVE = 10
MAX_WAIT_SECONDS = 20
MAX_VISIBILITY = 43_200
MAX_DELAY = 900
MIN_RETENTION = 60
MAX_RETENTION = 1_209_600
MIN_KMS_REUSE = 60
MAX_KMS_REUSE = 86_400
MAX_MESSAGE_ATTRIBUTES = 10
MAX_ATTRIBUTE_NAME = 256
MAX_QUEUE_NAME = 80
MAX_FIFO_TOKEN = 128  # MessageGroupId, MessageDeduplicationId, ReceiveRequestAttemptId
DEDUP_WINDOW = 300.0
ATTEMPT_WINDOW = 300.0
PURGE_INTERVAL = 60.0
QUEUE_DELETE_COOLDOWN = 60.0
FIFO_SCAN_LIMIT = 120_000
MAX_TAGS = 50
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
MAX_PERMISSION_ACTIONS = 7
MAX_LIST_RESULTS = 1_000
MAX_MOVE_RATE = 500
MAX_MOVE_TASKS_LISTED = 10

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class MessageAttributeValue:
    """A message (user) attribute: ``data_type`` is ``String``, ``Number`` or ``Binary``, optionally with a
    custom suffix (``Number.int``); exactly one of the two values is set."""

    data_type: str
    string_value: str | None = None
    binary_value: bytes | None = None


@dataclass(slots=True)
class RedrivePolicy:
    dead_letter_target_arn: str
    max_receive_count: int


@dataclass(slots=True)
class RedriveAllowPolicy:
    permission: str = "allowAll"  # allowAll | denyAll | byQueue
    source_queue_arns: tuple[str, ...] = ()


@dataclass(slots=True)
class QueueAttributes:
    """Validated, typed queue attributes. The wire names map one-to-one (see ``attributes.py``)."""

    delay_seconds: int = 0
    maximum_message_size: int = MAX_BODY_BYTES
    message_retention_period: int = 345_600
    receive_message_wait_time_seconds: int = 0
    visibility_timeout: int = 30
    policy: str | None = None
    redrive_policy: RedrivePolicy | None = None
    redrive_allow_policy: RedriveAllowPolicy | None = None
    fifo_queue: bool = False
    content_based_deduplication: bool = False
    deduplication_scope: str = "queue"  # queue | messageGroup
    fifo_throughput_limit: str = "perQueue"  # perQueue | perMessageGroupId
    kms_master_key_id: str | None = None
    kms_data_key_reuse_period_seconds: int = 300
    sqs_managed_sse_enabled: bool = True


@dataclass(slots=True)
class QueueRecord:
    """One queue. ``id`` is an incarnation number: a queue deleted and created again gets a new id, so its old
    receipt handles stop working."""

    name: str
    attributes: QueueAttributes
    created: float
    modified: float
    tags: dict[str, str] = field(default_factory=dict)
    last_purge: float | None = None
    id: int = 0

    @property
    def fifo(self) -> bool:
        return self.attributes.fifo_queue


@dataclass(slots=True)
class MessageRecord:
    """One stored message and its delivery state.

    ``seq`` orders messages store-wide (send order; a message moved to another queue gets a new one).
    ``enqueued_at`` drives retention, which a standard DLQ counts from the original send, while the age of
    the oldest message counts from ``moved_at`` when the message was moved in. ``received_at`` is the time of
    the latest receive, from which the 12-hour visibility budget is counted; ``receipt_token`` identifies
    that latest receive.
    """

    seq: int
    message_id: str
    body: str
    md5_of_body: str
    sent_at: float
    enqueued_at: float
    visible_at: float
    attributes: dict[str, MessageAttributeValue] | None = None
    md5_of_attributes: str | None = None
    trace_header: str | None = None
    md5_of_system_attributes: str | None = None
    receive_count: int = 0
    first_received_at: float | None = None
    received_at: float | None = None
    receipt_token: int = 0
    group_id: str | None = None
    deduplication_id: str | None = None
    sequence_number: str | None = None
    dead_letter_source_arn: str | None = None
    sender_id: str = ""
    moved_at: float | None = None  # arrival in this queue by a DLQ move or redrive: the oldest-age clock


@dataclass(frozen=True, slots=True)
class SendEntry:
    """One message to send, alone or in a batch (``id`` is the batch entry id)."""

    body: str
    id: str = ""
    delay_seconds: int | None = None
    attributes: dict[str, MessageAttributeValue] | None = None
    trace_header: str | None = None
    group_id: str | None = None
    deduplication_id: str | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    message_id: str
    md5_of_body: str
    md5_of_attributes: str | None = None
    md5_of_system_attributes: str | None = None
    sequence_number: str | None = None
    id: str = ""


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    message_id: str
    receipt_handle: str
    body: str
    md5_of_body: str
    attributes: dict[str, str]
    message_attributes: dict[str, MessageAttributeValue]
    md5_of_message_attributes: str | None


@dataclass(frozen=True, slots=True)
class VisibilityEntry:
    id: str
    receipt_handle: str
    visibility_timeout: int


@dataclass(frozen=True, slots=True)
class DeleteEntry:
    id: str
    receipt_handle: str


@dataclass(frozen=True, slots=True)
class BatchFailure:
    """A per-entry failure inside a successful batch call (SQS answers 200 with a ``Failed`` list)."""

    id: str
    error: SqsError

    @property
    def code(self) -> str:
        return self.error.code

    @property
    def message(self) -> str:
        return self.error.message

    @property
    def sender_fault(self) -> bool:
        return self.error.sender_fault


@dataclass(frozen=True, slots=True)
class BatchResult(Generic[T]):
    successful: list[T]
    failed: list[BatchFailure]


@dataclass(frozen=True, slots=True)
class Page:
    """One page of queue URLs and the token for the next, if any."""

    urls: list[str]
    next_token: str | None = None


@dataclass(frozen=True, slots=True)
class QueueStats:
    """What the engine knows about a queue's backlog, including what SQS shows only in CloudWatch."""

    visible: int
    in_flight: int
    delayed: int
    oldest_age: float | None  # seconds since the oldest stored message was enqueued


@dataclass(slots=True)
class MoveTask:
    """A message move task (DLQ redrive). Progress is computed from the clock: see ``movetasks.py``."""

    handle: str
    source_arn: str
    destination_arn: str | None
    max_per_second: int | None
    started_at: float
    to_move: int
    moved: int = 0
    status: str = "RUNNING"  # RUNNING | COMPLETED | CANCELLED | FAILED
    failure_reason: str | None = None
