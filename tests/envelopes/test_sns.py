"""SnsNotification: the envelope SNS delivers to SQS, decoded field by field, with the inner message typed."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from consumerkit import PayloadError, S3Event, SnsAttribute, SnsNotification
from consumerkit.payloads import text_decoder
from tests.envelopes.samples import FIFO_TOPIC, SIGNATURE_FIELDS, TOPIC, body, s3_event, sns, sns_fifo


@dataclass
class Order:
    order: str
    copies: int = 1


def test_a_notification_is_decoded_with_its_attributes() -> None:
    notification = SnsNotification.from_body(body(sns('{"order": "A-1"}')))
    assert notification.topic_arn == TOPIC
    assert notification.message_id == "9b4c2e0a-7d1f-5a3e-b8c6-1e2d3f4a5b6c"
    assert notification.subject == "order placed"
    assert notification.message == notification.payload == '{"order": "A-1"}'  # bare: the payload is the text
    assert notification.timestamp == datetime(2024, 11, 5, 9, 30, 12, 345000, tzinfo=UTC)
    assert notification.signature_version == "1"
    assert notification.signature is not None
    assert notification.signing_cert_url is not None and notification.signing_cert_url.endswith(".pem")
    assert "Action=Unsubscribe" in notification.unsubscribe_url
    assert notification.sequence_number is None
    assert dict(notification.message_attributes) == {
        "tenant": SnsAttribute("String", string_value="acme"),
        "priority": SnsAttribute("Number", string_value="3"),
        "thumbprint": SnsAttribute("Binary", binary_value=b"\x00\xffraw"),
    }


def test_optional_fields_may_be_absent() -> None:
    notification = SnsNotification.from_body(body(sns("hi", Subject=None, MessageAttributes=None)))
    assert notification.subject is None
    assert dict(notification.message_attributes) == {}
    fifo = SnsNotification.from_body(body(sns("hi", SequenceNumber="10000000000000003000")))
    assert fifo.sequence_number == "10000000000000003000"


def test_the_inner_message_is_decoded_by_the_payload_rules() -> None:
    decode = text_decoder(SnsNotification[Order], "test")
    notification = decode(body(sns('{"order": "A-1", "copies": 2}')))
    assert notification.payload == Order("A-1", 2)
    wrapped_s3 = text_decoder(SnsNotification[S3Event], "test")(body(sns(body(s3_event()))))
    assert wrapped_s3.payload.records[0].object.key == "uploads/red flower.jpg"


def test_an_inner_message_that_does_not_fit_names_the_message_field() -> None:
    decode = text_decoder(SnsNotification[Order], "test")
    with pytest.raises(PayloadError, match=r"SNS notification: field 'Message': body does not fit Order"):
        decode(body(sns('{"sku": "A-1"}')))
    with pytest.raises(PayloadError, match=r"field 'Message': body is not JSON"):
        decode(body(sns("plain text")))


def test_a_fifo_topics_notification_has_no_signature() -> None:
    notification = SnsNotification.from_body(body(sns_fifo('{"order": "A-1"}')))
    assert notification.topic_arn == FIFO_TOPIC
    assert notification.sequence_number == "10000000000000004000"
    assert notification.subject is None
    assert (notification.signature, notification.signature_version, notification.signing_cert_url) == (None,) * 3
    assert notification.string_to_sign() is None  # nothing was signed, so no text claims to be


@pytest.mark.parametrize("name", SIGNATURE_FIELDS)
def test_each_signature_field_may_be_absent(name: str) -> None:
    notification = SnsNotification.from_body(body(sns("hi", **{name: None})))
    absent = {"SignatureVersion": "signature_version", "Signature": "signature", "SigningCertURL": "signing_cert_url"}
    assert getattr(notification, absent[name]) is None


REQUIRED = ["Type", "MessageId", "TopicArn", "Message", "Timestamp", "UnsubscribeURL"]


@pytest.mark.parametrize("name", REQUIRED)
def test_a_missing_required_field_is_named(name: str) -> None:
    with pytest.raises(PayloadError, match=rf"SNS notification: field '{name}' is missing"):
        SnsNotification.from_body(body(sns("hi", **{name: None})))


@pytest.mark.parametrize("name", [*REQUIRED, *SIGNATURE_FIELDS, "Subject", "SequenceNumber"])
@pytest.mark.parametrize("wrong", [7, True, ["x"], {"x": 1}], ids=["number", "boolean", "array", "object"])
def test_a_field_of_the_wrong_type_is_named(name: str, wrong: Any) -> None:
    with pytest.raises(PayloadError, match=rf"field '{name}' needs a string, got (number|boolean|array|object)$"):
        SnsNotification.from_body(body(sns("hi", **{name: wrong})))


@pytest.mark.parametrize(
    ("fields", "wording"),
    [
        ({"Timestamp": "yesterday"}, "field 'Timestamp' needs an ISO 8601 time"),
        ({"Timestamp": "2024-11-05T09:30:12"}, "field 'Timestamp' needs an ISO 8601 time with a UTC offset"),
        ({"Type": "SubscriptionConfirmation"}, "field 'Type' needs 'Notification', got 'SubscriptionConfirmation'"),
        ({"Type": "Gossip"}, "field 'Type' needs 'Notification', got another type"),
        ({"MessageAttributes": []}, "field 'MessageAttributes' needs an object, got array"),
        ({"MessageAttributes": {"a": "b"}}, "field 'MessageAttributes.a' needs an object, got string"),
        ({"MessageAttributes": {"a": {"Value": "b"}}}, "field 'MessageAttributes.a.Type' is missing"),
        ({"MessageAttributes": {"a": {"Type": "String"}}}, "field 'MessageAttributes.a.Value' is missing"),
        ({"MessageAttributes": {"a": {"Type": "Binary", "Value": "%%"}}}, "'MessageAttributes.a.Value' needs base64"),
    ],
)
def test_malformed_fields_are_named(fields: dict[str, Any], wording: str) -> None:
    with pytest.raises(PayloadError, match=wording):
        SnsNotification.from_body(body(sns("hi", **fields)))


@pytest.mark.parametrize(
    ("text", "wording"),
    [
        ("{not json", "SNS notification: body is not JSON"),
        ("[1, 2]", "SNS notification: the body needs a JSON object, got array"),
        (body({"order": "A-1"}), "field 'Type' is missing: not an SNS envelope .*raw message delivery"),
    ],
)
def test_a_body_that_is_no_envelope_says_so(text: str, wording: str) -> None:
    with pytest.raises(PayloadError, match=wording):
        SnsNotification.from_body(text)


def test_errors_never_quote_the_body() -> None:
    secret = "card 4111-1111-1111-1111"
    for broken in (sns(secret, Timestamp=secret), sns(secret, Type=secret), sns(secret, Signature=[secret])):
        with pytest.raises(PayloadError) as caught:
            SnsNotification.from_body(body(broken))
        assert secret not in str(caught.value)


def test_string_to_sign_is_what_sns_signs() -> None:
    envelope = sns("hello\nworld")
    signed = SnsNotification.from_body(body(envelope)).string_to_sign()
    expected = "".join(
        f"{name}\n{envelope[name]}\n" for name in ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
    )
    assert signed == expected.encode()
    no_subject = SnsNotification.from_body(body(sns("hi", Subject=None))).string_to_sign()
    assert b"Subject\n" not in no_subject and no_subject.startswith(b"Message\nhi\nMessageId\n")


def test_binary_attributes_round_trip_any_bytes() -> None:
    raw = bytes(range(256))
    attributes = {"blob": {"Type": "Binary", "Value": base64.b64encode(raw).decode()}}
    notification = SnsNotification.from_body(json.dumps(sns("hi", MessageAttributes=attributes)))
    assert notification.message_attributes["blob"].binary_value == raw
