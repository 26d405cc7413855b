"""Bodies as SNS and S3 write them, field for field, built here so each test can break exactly one field."""

from __future__ import annotations

import base64
import json
from typing import Any

TOPIC = "arn:aws:sns:eu-west-1:210987654321:video-orders"
SUBSCRIPTION = f"{TOPIC}:5e0c1b1e-2f6a-4c61-9d55-0f1c9a7b3d21"
FIFO_TOPIC = f"{TOPIC}.fifo"
SIGNATURE_FIELDS = ("SignatureVersion", "Signature", "SigningCertURL")


def sns(message: str, **fields: Any) -> dict[str, Any]:
    """An SNS Notification envelope around ``message``; ``fields`` replace or (as None) remove its fields."""
    envelope: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": "9b4c2e0a-7d1f-5a3e-b8c6-1e2d3f4a5b6c",
        "TopicArn": TOPIC,
        "Subject": "order placed",
        "Message": message,
        "Timestamp": "2024-11-05T09:30:12.345Z",
        "SignatureVersion": "1",
        "Signature": base64.b64encode(b"not a real signature").decode(),
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem",
        "UnsubscribeURL": f"https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={SUBSCRIPTION}",
        "MessageAttributes": {
            "tenant": {"Type": "String", "Value": "acme"},
            "priority": {"Type": "Number", "Value": "3"},
            "thumbprint": {"Type": "Binary", "Value": base64.b64encode(b"\x00\xffraw").decode()},
        },
    }
    return _replaced(envelope, fields)


def sns_fifo(message: str, **fields: Any) -> dict[str, Any]:
    """A FIFO topic's Notification as SNS delivers it to a FIFO queue: a ``SequenceNumber``, no ``Subject``
    (FIFO publishes rarely set one), and none of the signature fields, since SNS signs nothing from a FIFO
    topic. The message group travels as the SQS message's ``MessageGroupId``, not in the envelope."""
    envelope: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": "2f7d0c4e-8a1b-5c6d-9e0f-3a4b5c6d7e8f",
        "SequenceNumber": "10000000000000004000",
        "TopicArn": FIFO_TOPIC,
        "Message": message,
        "Timestamp": "2024-11-05T09:30:12.345Z",
        "UnsubscribeURL": f"https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={FIFO_TOPIC}:"
        "7c1e4a2b-9d3f-4e5a-8b6c-1d2e3f4a5b6c",
        "MessageAttributes": {"tenant": {"Type": "String", "Value": "acme"}},
    }
    return _replaced(envelope, fields)


def s3_record(key: str = "uploads/red+flower.jpg", **fields: Any) -> dict[str, Any]:
    """One ObjectCreated:Put record, key as S3 encodes it; ``fields`` as in :func:`sns`."""
    record: dict[str, Any] = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "eu-west-1",
        "eventTime": "2024-11-05T09:31:00.120Z",
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLEUSER"},
        "requestParameters": {"sourceIPAddress": "203.0.113.7"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "new-uploads",
            "bucket": {
                "name": "media-inbox",
                "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                "arn": "arn:aws:s3:::media-inbox",
            },
            "object": {
                "key": key,
                "size": 1048576,
                "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                "versionId": "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY",
                "sequencer": "0A1B2C3D4E5F678901",
            },
        },
    }
    return _replaced(record, fields)


def s3_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records or [s3_record()])}


def s3_test_event() -> dict[str, Any]:
    return {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2024-11-05T09:00:00.001Z",
        "Bucket": "media-inbox",
        "RequestId": "5582815E1AEA5ADF",
        "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR",
    }


def body(data: object) -> str:
    return json.dumps(data)


def _replaced(data: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """Apply overrides, nested ones as ``s3__object__size``; a None value removes the field."""
    for dotted, value in fields.items():
        *parents, name = dotted.split("__")
        target = data
        for parent in parents:
            target = target[parent]
        if value is None:
            target.pop(name, None)
        else:
            target[name] = value
    return data
