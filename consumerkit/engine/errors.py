"""SQS's error codes, as the engine raises them.

One exception type, :class:`SqsError`, carries everything a wire protocol needs to pass an error on unchanged:
the JSON shape name (``__type``), the legacy query code (``x-amzn-query-error`` and the XML ``Code``), the HTTP
status and whether the sender is at fault. The table of shapes follows botocore's SQS model and the last
query-protocol model (see SQS_SEMANTICS.md §4); factories below build the common messages with the exact
wording SQS uses, so clients that match on text keep working.
"""

from __future__ import annotations

from dataclasses import dataclass

from consumerkit.errors import BackendError

__all__ = ["ErrorSpec", "SqsError"]


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    """How one SQS error is spelled on each wire protocol."""

    shape: str
    query_code: str
    status: int = 400
    sender_fault: bool = True


def _spec(shape: str, query_code: str | None = None, status: int = 400) -> ErrorSpec:
    return ErrorSpec(shape, query_code or shape, status)


_Q = "AWS.SimpleQueueService."

SPECS: dict[str, ErrorSpec] = {
    s.shape: s
    for s in (
        _spec("QueueDoesNotExist", _Q + "NonExistentQueue"),
        _spec("QueueNameExists", "QueueAlreadyExists"),
        _spec("QueueDeletedRecently", _Q + "QueueDeletedRecently"),
        _spec("PurgeQueueInProgress", _Q + "PurgeQueueInProgress", 403),
        _spec("OverLimit", "OverLimit", 403),
        _spec("MessageNotInflight", _Q + "MessageNotInflight"),
        _spec("BatchEntryIdsNotDistinct", _Q + "BatchEntryIdsNotDistinct"),
        _spec("BatchRequestTooLong", _Q + "BatchRequestTooLong"),
        _spec("EmptyBatchRequest", _Q + "EmptyBatchRequest"),
        _spec("InvalidBatchEntryId", _Q + "InvalidBatchEntryId"),
        _spec("TooManyEntriesInBatchRequest", _Q + "TooManyEntriesInBatchRequest"),
        _spec("UnsupportedOperation", _Q + "UnsupportedOperation"),
        _spec("ResourceNotFoundException", "ResourceNotFoundException", 404),
        _spec("ReceiptHandleIsInvalid"),
        _spec("InvalidAttributeName"),
        _spec("InvalidAttributeValue"),
        _spec("InvalidIdFormat"),
        _spec("InvalidMessageContents"),
        _spec("InvalidParameterValueException", "InvalidParameterValue"),
        _spec("MissingRequiredParameterException", "MissingParameter"),
        _spec("InvalidAddress"),
        _spec("InvalidSecurity"),
        _spec("RequestThrottled", "RequestThrottled"),
        ErrorSpec("AccessDenied", "AccessDenied", 403),
        ErrorSpec("InvalidClientTokenId", "InvalidClientTokenId", 403),
        ErrorSpec("SignatureDoesNotMatch", "SignatureDoesNotMatch", 403),
        _spec("IncompleteSignature"),  # a malformed Authorization header (AWS answers 400, not 403)
        ErrorSpec("InternalError", "InternalError", 500, sender_fault=False),
        # Refusals of the HTTP server itself, before a request reaches an operation.
        _spec("SerializationException"),
        _spec("UnknownOperationException"),
        _spec("InvalidAction"),
        _spec("RequestEntityTooLarge", status=413),
        _spec("RequestTimeout", status=408),
    )
}


class SqsError(BackendError):
    """An SQS error: ``code`` is the query code clients match on (``QueueDoesNotExist`` →
    ``AWS.SimpleQueueService.NonExistentQueue``), ``shape`` the JSON ``__type`` name."""

    def __init__(self, shape: str, message: str) -> None:
        super().__init__(message)
        self.spec = SPECS[shape]
        self.message = message

    @property
    def shape(self) -> str:
        return self.spec.shape

    @property
    def code(self) -> str:
        return self.spec.query_code

    @property
    def status(self) -> int:
        return self.spec.status

    @property
    def sender_fault(self) -> bool:
        return self.spec.sender_fault

    def __repr__(self) -> str:
        return f"SqsError({self.shape!r}, {self.message!r})"

    # Factories for the errors whose wording SQS fixes; each names the parameter and the limit.

    @classmethod
    def invalid_value(cls, param: str, value: object, reason: str) -> SqsError:
        return cls(
            "InvalidParameterValueException",
            f"Value {_shown(value)} for parameter {param} is invalid. Reason: {reason}",
        )

    @classmethod
    def invalid_parameters(cls, reason: str) -> SqsError:
        return cls("InvalidParameterValueException", f"One or more parameters are invalid. Reason: {reason}")

    @classmethod
    def missing(cls, param: str) -> SqsError:
        return cls("MissingRequiredParameterException", f"The request must contain the parameter {param}.")

    @classmethod
    def invalid_receipt(cls, handle: str) -> SqsError:
        return cls("ReceiptHandleIsInvalid", f'The input receipt handle "{handle}" is not a valid receipt handle.')

    @classmethod
    def not_for_queue_type(cls, param: str, value: object) -> SqsError:
        return cls.invalid_value(param, value, "The request include parameter that is not valid for this queue type.")

    @classmethod
    def no_queue(cls) -> SqsError:
        return cls("QueueDoesNotExist", "The specified queue does not exist.")

    @classmethod
    def invalid_attribute_value(cls, name: str, reason: str) -> SqsError:
        return cls("InvalidAttributeValue", f"Invalid value for the parameter {name}. Reason: {reason}")

    @classmethod
    def unknown_attribute(cls, name: str) -> SqsError:
        return cls("InvalidAttributeName", f"Unknown Attribute {name}.")


def _shown(value: object) -> str:
    """A value as an error message can quote it: a huge integer would not even convert to text."""
    if isinstance(value, int) and value.bit_length() > 128:
        return f"<an integer of {value.bit_length()} bits>"
    try:
        text = str(value)
    except ValueError:  # a container holding such an integer
        return f"<a {type(value).__name__}>"
    return text if len(text) <= 256 else text[:253] + "..."
