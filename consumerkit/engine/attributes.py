"""Queue attributes: SQS's string map ⇄ :class:`QueueAttributes`, with each range and rule checked.

SQS speaks of queue attributes as a map of names to strings; this module is where those strings are parsed,
checked against their limits (SQS_SEMANTICS.md §1) and rendered back, so the rest of the engine handles typed
values only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace

from consumerkit.engine import model as m
from consumerkit.engine import validation as check
from consumerkit.engine.errors import SqsError
from consumerkit.engine.model import QueueAttributes, QueueRecord, RedriveAllowPolicy, RedrivePolicy

# name -> (field, minimum, maximum) for the integer attributes
_INTS: dict[str, tuple[str, int, int]] = {
    "DelaySeconds": ("delay_seconds", 0, m.MAX_DELAY),
    "MaximumMessageSize": ("maximum_message_size", m.MIN_MESSAGE_SIZE_ATTR, m.MAX_BODY_BYTES),
    "MessageRetentionPeriod": ("message_retention_period", m.MIN_RETENTION, m.MAX_RETENTION),
    "ReceiveMessageWaitTimeSeconds": ("receive_message_wait_time_seconds", 0, m.MAX_WAIT_SECONDS),
    "VisibilityTimeout": ("visibility_timeout", 0, m.MAX_VISIBILITY),
    "KmsDataKeyReusePeriodSeconds": ("kms_data_key_reuse_period_seconds", m.MIN_KMS_REUSE, m.MAX_KMS_REUSE),
}
_DIGITS = re.compile(r"[+-]?[0-9]+")  # ASCII digits only: int() would also take "３０" and "3_0"
_FIFO_ONLY = ("FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit")
COUNTERS = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)
_COMPUTED = (
    *COUNTERS,
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
)
SETTABLE = (
    *_INTS,
    "Policy",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    *_FIFO_ONLY,
    "KmsMasterKeyId",
    "SqsManagedSseEnabled",
)
ALL_NAMES = frozenset((*SETTABLE, *_COMPUTED))


def _int(name: str, raw: str) -> int:
    _, low, high = _INTS[name]
    value = int(raw) if _DIGITS.fullmatch(raw) and len(raw) < 20 else low - 1
    if not low <= value <= high:
        raise SqsError.invalid_attribute_value(name, f"must be an integer from {low} to {high}, got {raw!r}.")
    return value


def _bool(name: str, raw: str) -> bool:
    text = str(raw).strip().lower()
    if text not in ("true", "false"):
        raise SqsError.invalid_attribute_value(name, f"must be true or false, got {raw!r}.")
    return text == "true"


def _choice(name: str, raw: str, choices: tuple[str, ...]) -> str:
    if raw not in choices:
        raise SqsError.invalid_attribute_value(name, f"must be one of {', '.join(choices)}, got {raw!r}.")
    return raw


def _json_map(name: str, raw: str) -> dict[str, object]:
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise SqsError.invalid_value(name, raw, f"{name} is not a valid JSON map.")
    return value


def _check_text(name: str, raw: str) -> None:
    """An attribute kept as the client wrote it and handed back in replies: only the characters a message body
    may hold (JSON would carry a lone surrogate into a policy, which no UTF-8 reply or store can hold)."""
    where = check.invalid_char(raw)
    if where is not None:
        raise SqsError.invalid_attribute_value(
            name, f"invalid character {where}; valid characters are {check.VALID_CHARS}."
        )


def _check_policy(raw: str) -> None:
    """Enough of an IAM policy to keep: a JSON map whose Statement is a statement or a list of them."""
    _check_text("Policy", raw)
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    statements = data.get("Statement", []) if isinstance(data, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not all(isinstance(s, dict) for s in statements):
        raise SqsError.invalid_attribute_value("Policy", "a JSON policy whose Statement is a list of statements.")
    if len(raw.encode()) > 8_192:
        raise SqsError.invalid_attribute_value("Policy", f"at most 8192 bytes, got {len(raw.encode())}.")


def parse_redrive_policy(raw: str) -> RedrivePolicy | None:
    if raw == "":
        return None
    data = _json_map("RedrivePolicy", raw)
    arn, count = data.get("deadLetterTargetArn"), data.get("maxReceiveCount")
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        raise SqsError.invalid_value("RedrivePolicy", raw, "Dead letter target is missing or not a valid ARN.")
    if isinstance(count, int) and not isinstance(count, bool):
        max_receives = count
    else:
        max_receives = int(count) if isinstance(count, str) and _DIGITS.fullmatch(count) and len(count) < 20 else 0
    if not 1 <= max_receives <= 1000:
        raise SqsError.invalid_value(
            "RedrivePolicy", raw, f"maxReceiveCount must be an integer from 1 to 1000, got {count!r}."
        )
    return RedrivePolicy(arn, max_receives)


def parse_redrive_allow_policy(raw: str) -> RedriveAllowPolicy | None:
    if raw == "":
        return None
    data = _json_map("RedriveAllowPolicy", raw)
    permission = data.get("redrivePermission", "allowAll")
    if permission not in ("allowAll", "denyAll", "byQueue"):
        raise SqsError.invalid_value(
            "RedriveAllowPolicy", raw, "redrivePermission must be allowAll, denyAll or byQueue."
        )
    arns = data.get("sourceQueueArns", [])
    if not isinstance(arns, list) or not all(isinstance(a, str) for a in arns):
        raise SqsError.invalid_value("RedriveAllowPolicy", raw, "sourceQueueArns must be a list of ARNs.")
    if arns and permission != "byQueue":
        raise SqsError.invalid_value(
            "RedriveAllowPolicy", raw, "sourceQueueArns is allowed only with redrivePermission byQueue."
        )
    if permission == "byQueue" and not 1 <= len(arns) <= 10:
        raise SqsError.invalid_value(
            "RedriveAllowPolicy", raw, f"byQueue needs 1 to 10 sourceQueueArns, got {len(arns)}."
        )
    return RedriveAllowPolicy(str(permission), tuple(arns))


def apply(current: QueueAttributes, raw: Mapping[str, str], *, fifo: bool, creating: bool) -> QueueAttributes:
    """Return ``current`` updated with the wire attributes ``raw``, or raise the error SQS would."""
    new = replace(current)
    for name, value in raw.items():
        _apply_one(new, name, str(value), fifo=fifo, creating=creating)
    if new.kms_master_key_id and new.sqs_managed_sse_enabled and "SqsManagedSseEnabled" in raw:
        raise SqsError.invalid_attribute_value(
            "SqsManagedSseEnabled", "SSE-SQS and SSE-KMS (KmsMasterKeyId) cannot both be enabled."
        )
    if new.kms_master_key_id and "KmsMasterKeyId" in raw:
        new.sqs_managed_sse_enabled = False
    return new


def _apply_one(new: QueueAttributes, name: str, value: str, *, fifo: bool, creating: bool) -> None:
    if name in _COMPUTED or name not in ALL_NAMES:
        raise SqsError.unknown_attribute(name)
    if name in _FIFO_ONLY and not fifo:
        if name == "DeduplicationScope":
            raise SqsError(
                "InvalidAttributeName",
                "You can specify the DeduplicationScope only when FifoQueue is set to true.",
            )
        raise SqsError.unknown_attribute(name)
    if name in _INTS:
        setattr(new, _INTS[name][0], _int(name, value))
    elif name == "FifoQueue":
        if not _bool(name, value) or not creating:
            raise SqsError.invalid_attribute_value(name, "Modifying queue type is not supported.")
    elif name == "ContentBasedDeduplication":
        new.content_based_deduplication = _bool(name, value)
    elif name == "DeduplicationScope":
        new.deduplication_scope = _choice(name, value, ("queue", "messageGroup"))
    elif name == "FifoThroughputLimit":
        new.fifo_throughput_limit = _choice(name, value, ("perQueue", "perMessageGroupId"))
    elif name == "SqsManagedSseEnabled":
        new.sqs_managed_sse_enabled = _bool(name, value)
    elif name == "KmsMasterKeyId":
        _check_text(name, value)
        new.kms_master_key_id = value or None
    elif name == "Policy":
        if value:
            _check_policy(value)
        new.policy = value or None
    elif name == "RedrivePolicy":
        new.redrive_policy = parse_redrive_policy(value)
    elif name == "RedriveAllowPolicy":
        new.redrive_allow_policy = parse_redrive_allow_policy(value)


def render_redrive_policy(policy: RedrivePolicy) -> str:
    return json.dumps(
        {"deadLetterTargetArn": policy.dead_letter_target_arn, "maxReceiveCount": policy.max_receive_count},
        separators=(",", ":"),
    )


def render_redrive_allow_policy(policy: RedriveAllowPolicy) -> str:
    data: dict[str, object] = {"redrivePermission": policy.permission}
    if policy.source_queue_arns:
        data["sourceQueueArns"] = list(policy.source_queue_arns)
    return json.dumps(data, separators=(",", ":"))


def render(queue: QueueRecord, arn: str, counts: tuple[int, int, int]) -> dict[str, str]:
    """Every attribute SQS reports for ``queue``, as strings; absent ones (no policy, standard-only) left out."""
    a = queue.attributes
    out = {
        "ApproximateNumberOfMessages": str(counts[0]),
        "ApproximateNumberOfMessagesNotVisible": str(counts[1]),
        "ApproximateNumberOfMessagesDelayed": str(counts[2]),
        "CreatedTimestamp": str(int(queue.created)),
        "LastModifiedTimestamp": str(int(queue.modified)),
        "QueueArn": arn,
    }
    for name, (attr, _, _) in _INTS.items():
        if name != "KmsDataKeyReusePeriodSeconds" or a.kms_master_key_id:
            out[name] = str(getattr(a, attr))
    out["SqsManagedSseEnabled"] = "true" if a.sqs_managed_sse_enabled else "false"
    if a.kms_master_key_id:
        out["KmsMasterKeyId"] = a.kms_master_key_id
    if a.policy:
        out["Policy"] = a.policy
    if a.redrive_policy:
        out["RedrivePolicy"] = render_redrive_policy(a.redrive_policy)
    if a.redrive_allow_policy:
        out["RedriveAllowPolicy"] = render_redrive_allow_policy(a.redrive_allow_policy)
    if a.fifo_queue:
        out["FifoQueue"] = "true"
        out["ContentBasedDeduplication"] = "true" if a.content_based_deduplication else "false"
        out["DeduplicationScope"] = a.deduplication_scope
        out["FifoThroughputLimit"] = a.fifo_throughput_limit
    return out


def select(names: Iterable[str], rendered: Mapping[str, str]) -> dict[str, str]:
    """The attributes asked for (``All`` means every one); an unknown name is SQS's InvalidAttributeName."""
    wanted = list(names)
    for name in wanted:
        if name != "All" and name not in ALL_NAMES:
            raise SqsError.unknown_attribute(name)
    if "All" in wanted:
        return dict(rendered)
    return {n: rendered[n] for n in wanted if n in rendered}


def differing(existing: Mapping[str, str], requested: Mapping[str, str], names: Iterable[str]) -> str | None:
    """The first of ``names`` whose rendered value differs between two queues (CreateQueue idempotency)."""
    for name in names:
        if existing.get(name) != requested.get(name):
            return name
    return None
