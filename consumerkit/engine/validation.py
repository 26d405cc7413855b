"""Checks on every client input, with SQS's error codes and wording.

Each function raises :class:`SqsError` naming the parameter, the value and the limit, or returns the
validated value. Nothing here touches state, so the engine validates a whole request before it changes
anything and a rejected request leaves the queue exactly as it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence, Set
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from consumerkit.engine import model as m
from consumerkit.engine.errors import SqsError
from consumerkit.engine.model import MessageAttributeValue

T = TypeVar("T")

_QUEUE_NAME = re.compile(rf"[A-Za-z0-9_-]{{1,{m.MAX_QUEUE_NAME}}}")
_BATCH_ID = re.compile(rf"[A-Za-z0-9_-]{{1,{m.MAX_BATCH_ID_LENGTH}}}")
_ATTR_NAME = re.compile(rf"[A-Za-z0-9_.\-]{{1,{m.MAX_ATTRIBUTE_NAME}}}")
# Characters SQS accepts in a body or string attribute: XML 1.0's Char production, since what SQS stores comes
# back inside XML replies. NOT_XML_CHAR finds one outside it: a control character, a lone surrogate, U+FFFE.
NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
VALID_CHARS = "#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"
# MessageGroupId / MessageDeduplicationId: alphanumerics and punctuation.
_TOKEN = re.compile(rf"[!-~]{{1,{m.MAX_FIFO_TOKEN}}}")
_DATA_TYPES = ("String", "Number", "Binary")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_SYSTEM_ATTRIBUTE_NAMES = frozenset(
    (
        "All",
        "SenderId",
        "SentTimestamp",
        "ApproximateReceiveCount",
        "ApproximateFirstReceiveTimestamp",
        "SequenceNumber",
        "MessageDeduplicationId",
        "MessageGroupId",
        "AWSTraceHeader",
        "DeadLetterQueueSourceArn",
    )
)


# Types. The engine is also fed what a wire protocol decoded, so a value of the wrong type is SQS's
# InvalidParameterValue naming the parameter, never a Python TypeError from deeper down.


def text(param: str, value: object) -> str:
    if not isinstance(value, str):
        raise SqsError.invalid_value(param, value, "Must be a string.")
    return value


def optional_text(param: str, value: object) -> str | None:
    return None if value is None else text(param, value)


def texts(param: str, value: object) -> tuple[str, ...]:
    """A list of strings (a lone string is not one: it would read as a list of characters)."""
    if (
        isinstance(value, str | bytes)
        or not isinstance(value, Sequence | Set)
        or not all(isinstance(v, str) for v in value)
    ):
        raise SqsError.invalid_value(param, value, "Must be a list of strings.")
    return tuple(value)


def text_map(param: str, value: object) -> dict[str, str]:
    """A map of strings to strings, as SQS's attribute and tag maps are on the wire."""
    if not isinstance(value, Mapping):
        raise SqsError.invalid_value(param, value, "Must be a map of names to strings.")
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise SqsError.invalid_value(param, value, f"Entry {key!r} must map a string to a string.")
        out[key] = item
    return out


def entries(param: str, value: object, kind: type[T]) -> list[T]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence) or not all(isinstance(v, kind) for v in value):
        raise SqsError.invalid_value(param, value, f"Must be a list of {kind.__name__}.")
    return list(value)


def queue_name(name: str, *, fifo: bool) -> str:
    base = name[:-5] if name.endswith(".fifo") else name
    if fifo:
        if not name.endswith(".fifo") or not base or len(name) > m.MAX_QUEUE_NAME or not _QUEUE_NAME.fullmatch(base):
            raise SqsError.invalid_parameters(
                "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, "
                "must end with .fifo suffix and be 1 to 80 in length."
            )
    elif not _QUEUE_NAME.fullmatch(name):
        raise SqsError.invalid_parameters(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
            if not name.endswith(".fifo")
            else "The name of a standard queue cannot end with .fifo; set the FifoQueue attribute for a FIFO queue."
        )
    return name


def is_queue_name(name: str) -> bool:
    """Whether ``name`` can name a queue at all, standard or FIFO. A URL or ARN ending in anything else names no
    queue, so it is QueueDoesNotExist without a look-up, and text no name may hold never reaches a store."""
    base = name.removesuffix(".fifo")
    return len(name) <= m.MAX_QUEUE_NAME and _QUEUE_NAME.fullmatch(base) is not None


def invalid_char(text: str) -> str | None:
    """Where ``text`` holds a character SQS does not accept, as an error can say it (``U+0001 at position 3``)."""
    bad = NOT_XML_CHAR.search(text)
    return None if bad is None else f"U+{ord(bad.group()):04X} at position {bad.start()}"


def escaped(text: str) -> str:
    """``text`` with each character SQS does not accept spelled ``\\uXXXX``, so an error can quote it safely."""
    return NOT_XML_CHAR.sub(lambda bad: f"\\u{ord(bad.group()):04x}", text)


def stored_text(param: str, value: str, what: str) -> str:
    """Text SQS keeps and hands back as it is (tag keys and values, permission labels): the characters a message
    body may hold, as anything else could not come back in the query protocol's XML replies."""
    where = invalid_char(value)
    if where is not None:
        raise SqsError.invalid_value(
            param, escaped(value), f"The {what} has an invalid character, {where}. Valid characters are {VALID_CHARS}."
        )
    return value


def int_param(param: str, value: object, low: int, high: int) -> int:
    """An integer request parameter within [low, high]; SQS's wording for the ones it defines."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        reason = f"Must be between {low} and {high}, if provided."
        if param == "WaitTimeSeconds":
            reason = f"Must be >= {low} and <= {high}, if provided."
        raise SqsError.invalid_value(param, value, reason)
    return value


def body(text: str, param: str = "MessageBody") -> str:
    if not isinstance(text, str) or text == "":
        raise SqsError.missing(param)
    bad = NOT_XML_CHAR.search(text)
    if bad:
        raise SqsError(
            "InvalidMessageContents",
            f"Invalid characters found in {param} at position {bad.start()} (U+{ord(bad.group()):04X}). "
            f"Valid unicode characters are {VALID_CHARS}",
        )
    return text


def message_attributes(attributes: Mapping[str, MessageAttributeValue]) -> int:
    """Validate user attributes; return their size in bytes as SQS counts it toward the message size."""
    if not isinstance(attributes, Mapping) or not all(
        isinstance(k, str) and isinstance(v, MessageAttributeValue) for k, v in attributes.items()
    ):
        raise SqsError.invalid_parameters("MessageAttributes must map names to MessageAttributeValue.")
    if len(attributes) > m.MAX_MESSAGE_ATTRIBUTES:
        raise SqsError.invalid_parameters(
            f"Number of message attributes [{len(attributes)}] exceeds the allowed maximum "
            f"[{m.MAX_MESSAGE_ATTRIBUTES}]."
        )
    size = 0
    for name, value in attributes.items():
        _attribute_name(name)
        size += len(name.encode()) + _attribute_value(name, value)
    return size


def _attribute_name(name: str) -> None:
    lowered = name.lower()
    if (
        not _ATTR_NAME.fullmatch(name)
        or lowered.startswith(("aws.", "amazon."))
        or name.startswith(".")
        or name.endswith(".")
        or ".." in name
    ):
        raise SqsError.invalid_parameters(
            f"Message (user) attribute name '{name}' is invalid: 1 to 256 characters of A-Z, a-z, 0-9, "
            "'_', '-' and '.'; no leading, trailing or consecutive periods; no 'AWS.' or 'Amazon.' prefix."
        )


def _attribute_value(name: str, value: MessageAttributeValue) -> int:
    if (
        not isinstance(value.data_type, str)
        or not isinstance(value.string_value, str | None)
        or not isinstance(value.binary_value, bytes | None)
    ):
        raise SqsError.invalid_parameters(
            f"Message (user) attribute '{name}' must have a string DataType, a string StringValue or bytes BinaryValue."
        )
    data_type = value.data_type or ""
    base = data_type.split(".", 1)[0]
    if base not in _DATA_TYPES or len(data_type) > 256 or NOT_XML_CHAR.search(data_type):
        raise SqsError.invalid_parameters(
            f"The type of message (user) attribute '{name}' is invalid. You must use only the following "
            "supported type prefixes: Binary, Number, String."
        )
    if base == "Binary":
        if not value.binary_value or value.string_value is not None:
            raise SqsError(
                "InvalidParameterValueException",
                f"Message (user) attribute '{name}' must contain a non-empty value of type 'Binary'.",
            )
        return len(data_type) + len(value.binary_value)
    if not value.string_value or value.binary_value is not None:
        # As recorded against SQS, without the "One or more parameters are invalid" preamble
        raise SqsError(
            "InvalidParameterValueException",
            f"Message (user) attribute '{name}' must contain a non-empty value of type '{base}'.",
        )
    if base == "Number":
        _number(name, value.string_value)
    else:
        body(value.string_value, f"message attribute '{name}'")
    return len(data_type) + len(value.string_value.encode())


def _number(name: str, text: str) -> None:
    try:
        number = Decimal(text) if _NUMBER.fullmatch(text) else Decimal("NaN")
    except InvalidOperation:
        number = Decimal("NaN")
    digits = len(number.as_tuple().digits) if number.is_finite() else 0
    if not number.is_finite() or digits > 38 or not Decimal("-1e128") <= number <= Decimal("1e126"):
        raise SqsError.invalid_parameters(
            f"Can't cast the value of message (user) attribute '{name}' to a number: numbers hold up to 38 "
            "digits, from -10^128 to 10^126."
        )


def message_size(body_text: str, attributes_size: int, limit: int) -> None:
    if len(body_text) * 4 > limit or attributes_size:  # cheap bound before encoding a large body
        size = len(body_text.encode()) + attributes_size
        if size > limit:
            raise SqsError.invalid_parameters(f"Message must be shorter than {limit} bytes.")


def fifo_token(value: str, param: str = "MessageGroupId") -> str:
    """A MessageGroupId, MessageDeduplicationId or ReceiveRequestAttemptId: 1 to 128 printable ASCII characters."""
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        raise SqsError.invalid_value(
            param,
            value,
            f"{param} can only include alphanumeric and punctuation characters. 1 to 128 in length.",
        )
    return value


def batch_ids(ids: Sequence[str], entry: str) -> None:
    """The rules every batch call shares: 1..10 entries, well-formed and distinct ids. ``entry`` is the
    operation's entry type, which SQS names when there is none (``SendMessageBatchRequestEntry``)."""
    if not ids:
        raise SqsError("EmptyBatchRequest", f"There should be at least one {entry} in the request.")
    if len(ids) > m.MAX_BATCH_ENTRIES:
        raise SqsError(
            "TooManyEntriesInBatchRequest",
            f"Maximum number of entries per request are {m.MAX_BATCH_ENTRIES}. You have sent {len(ids)}.",
        )
    seen: set[str] = set()
    for entry_id in ids:
        if not isinstance(entry_id, str) or not _BATCH_ID.fullmatch(entry_id):
            raise SqsError(
                "InvalidBatchEntryId",
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. "
                "It can be at most 80 letters long.",
            )
        if entry_id in seen:
            raise SqsError("BatchEntryIdsNotDistinct", f"Id {entry_id} repeated.")
        seen.add(entry_id)


def batch_size(total: int) -> None:
    if total > m.MAX_BATCH_BYTES:
        raise SqsError(
            "BatchRequestTooLong",
            f"Batch requests cannot be longer than {m.MAX_BATCH_BYTES} bytes. You have sent {total} bytes.",
        )


def system_attribute_names(names: Iterable[str]) -> frozenset[str]:
    wanted = frozenset(texts("MessageSystemAttributeNames", names))
    for name in wanted:
        if name not in _SYSTEM_ATTRIBUTE_NAMES:
            raise SqsError.unknown_attribute(name)
    return wanted


def trace_header(value: str | None) -> str | None:
    if value is not None:
        body(value, "AWSTraceHeader")
    return value
