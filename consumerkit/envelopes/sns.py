"""What SNS puts on an SQS queue it delivers to: the notification envelope around the published message.

Without raw message delivery (SNS's default for SQS subscriptions), the SQS body is a JSON document: the
published ``Message`` as a string, the topic, the publish time, the signature fields and the ``MessageAttributes``.
With raw message delivery on, the body *is* the published message and its attributes arrive as SQS message
attributes: annotate the handler with the inner type itself (``Order``, ``S3Event``, ``str``) instead.

The signature is not verified. That check exists for HTTP(S) subscriptions, where anyone on the internet can
POST a look-alike; an SQS queue only holds what its access policy let in, and the policy of a queue subscribed
to a topic admits ``sns.amazonaws.com`` for that topic's ARN (``aws:SourceArn``). Verifying would also mean
fetching the signing certificate over the network for each new one. :meth:`SnsNotification.string_to_sign`
gives the exact text SNS signed, for a deployment that wants to check anyway.

FIFO topics sign nothing: their notifications carry a ``SequenceNumber`` and no ``Signature``,
``SignatureVersion`` or ``SigningCertURL`` at all, so those three are optional here (``None`` when absent).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from consumerkit.envelopes._fields import Fields, parse
from consumerkit.errors import PayloadError

__all__ = ["SnsAttribute", "SnsNotification"]

T = TypeVar("T")
KIND = "SNS notification"
# What else SNS may write in Type; none of them is a published message.
_OTHER_TYPES = ("SubscriptionConfirmation", "UnsubscribeConfirmation")
_NO_ATTRIBUTES: Mapping[str, SnsAttribute] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class SnsAttribute:
    """One of the publisher's message attributes. ``data_type`` is ``String``, ``String.Array``, ``Number`` or
    ``Binary``; a Binary value is base64 in the envelope and decoded into ``binary_value``, any other stays text
    in ``string_value`` (a ``String.Array`` is its JSON array, as SNS sends it)."""

    data_type: str
    string_value: str | None = None
    binary_value: bytes | None = None


@dataclass(frozen=True, slots=True)
class SnsNotification(Generic[T]):
    """An SNS ``Notification`` as delivered to SQS. ``message`` is the published text, ``payload`` that text
    decoded: annotate a handler with ``SnsNotification[Order]`` and ``payload`` is an ``Order`` (any payload
    type a handler may take, an ``S3Event`` included); a bare ``SnsNotification`` leaves it the text."""

    message_id: str
    topic_arn: str
    message: str
    payload: T
    timestamp: datetime
    unsubscribe_url: str
    signature_version: str | None = None  # the three signature fields: None from a FIFO topic, which signs nothing
    signature: str | None = None
    signing_cert_url: str | None = None
    subject: str | None = None
    message_attributes: Mapping[str, SnsAttribute] = field(default_factory=lambda: _NO_ATTRIBUTES)
    sequence_number: str | None = None  # FIFO topics only
    timestamp_text: str = field(default="", repr=False, compare=False)  # as signed, for string_to_sign

    @classmethod
    def from_body(cls, body: str, payload: Callable[[str], T] | None = None) -> SnsNotification[T]:
        """Decode an SQS body; ``payload`` decodes the inner message (the runtime passes the one for ``T``).
        Raises PayloadError naming the field that is missing or of the wrong type."""
        fields = parse(body, KIND)
        _check_type(fields)
        message = fields.text("Message")
        stamp = fields.text("Timestamp")
        return cls(
            message_id=fields.text("MessageId"),
            topic_arn=fields.text("TopicArn"),
            message=message,
            payload=_inner(message, payload),
            timestamp=fields.time("Timestamp"),
            unsubscribe_url=fields.text("UnsubscribeURL"),
            signature_version=fields.optional_text("SignatureVersion"),
            signature=fields.optional_text("Signature"),
            signing_cert_url=fields.optional_text("SigningCertURL"),
            subject=fields.optional_text("Subject"),
            message_attributes=_attributes(fields.optional_object("MessageAttributes")),
            sequence_number=fields.optional_text("SequenceNumber"),
            timestamp_text=stamp,
        )

    def string_to_sign(self) -> bytes | None:
        """The text SNS signed: each of Message, MessageId, Subject (when there is one), Timestamp, TopicArn and
        Type, name then value, one per line. ``signature`` is its base64 RSA signature, over SHA1 for
        ``signature_version`` 1 and SHA256 for 2, by the certificate at ``signing_cert_url``.

        None when the notification has no signature (a FIFO topic's), rather than a PayloadError: such an
        envelope is well formed, SNS just signed nothing, so it is for the caller to accept or reject it."""
        if self.signature is None:
            return None
        pairs = [("Message", self.message), ("MessageId", self.message_id)]
        if self.subject is not None:
            pairs.append(("Subject", self.subject))
        pairs += [("Timestamp", self.timestamp_text), ("TopicArn", self.topic_arn), ("Type", "Notification")]
        return "".join(f"{name}\n{value}\n" for name, value in pairs).encode()


def _check_type(fields: Fields) -> None:
    kind = fields.optional_text("Type")
    if kind is None:
        raise fields.error(
            "Type", "is missing: not an SNS envelope (with raw message delivery, annotate the inner type instead)"
        )
    if kind != "Notification":
        shown = repr(kind) if kind in _OTHER_TYPES else "another type"
        raise fields.error("Type", f"needs 'Notification', got {shown}")


def _inner(message: str, payload: Callable[[str], Any] | None) -> Any:
    if payload is None:
        return message
    try:
        return payload(message)
    except PayloadError as error:
        raise PayloadError(f"{KIND}: field 'Message': {error}") from None


def _attributes(fields: Fields | None) -> Mapping[str, SnsAttribute]:
    if fields is None or not fields.data:
        return _NO_ATTRIBUTES
    return MappingProxyType({name: _attribute(fields.object(name)) for name in fields.data})


def _attribute(fields: Fields) -> SnsAttribute:
    data_type = fields.text("Type")
    value = fields.text("Value")
    if data_type != "Binary":
        return SnsAttribute(data_type, string_value=value)
    try:
        return SnsAttribute(data_type, binary_value=base64.b64decode(value, validate=True))
    except binascii.Error:
        raise fields.error("Value", "needs base64 for a Binary attribute") from None
