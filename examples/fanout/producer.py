"""Puts on a local queue what SNS and S3 would: there is no SNS nor S3 here, so this stands in for both.

An SNS topic subscribed by an SQS queue (without raw message delivery) wraps each published message in a
Notification envelope; an S3 bucket whose event notifications target a queue sends a ``Records`` document per
event, and one ``s3:TestEvent`` when the notification is set up. The bodies built here have the same fields.
The signature is a stand-in: consumerkit does not verify it (see docs/handlers.md, "Messages from SNS and S3").
"""

from __future__ import annotations

import base64
import json
import urllib.parse
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from consumerkit.backends import Backend, OutgoingMessage

REGION = "eu-west-1"
ACCOUNT = "123456789012"
SNS_HOST = f"https://sns.{REGION}.amazonaws.com"


def topic_arn(topic: str) -> str:
    return f"arn:aws:sns:{REGION}:{ACCOUNT}:{topic}"


def _now() -> str:
    """AWS's time format in these documents: UTC, milliseconds, a ``Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sns_envelope(topic: str, message: str, subject: str | None = None, attributes: Mapping[str, str] = {}) -> str:
    """The SQS body SNS delivers for one publish of ``message`` to ``topic``, with String attributes."""
    arn = topic_arn(topic)
    envelope: dict[str, object] = {"Type": "Notification", "MessageId": str(uuid.uuid4()), "TopicArn": arn}
    if subject is not None:
        envelope["Subject"] = subject
    envelope |= {
        "Message": message,
        "Timestamp": _now(),
        "SignatureVersion": "2",
        "Signature": base64.b64encode(b"stand-in: the local producer does not sign").decode(),
        "SigningCertURL": f"{SNS_HOST}/SimpleNotificationService-local.pem",
        "UnsubscribeURL": f"{SNS_HOST}/?Action=Unsubscribe&SubscriptionArn={arn}:{uuid.uuid4()}",
    }
    if attributes:
        envelope["MessageAttributes"] = {k: {"Type": "String", "Value": v} for k, v in attributes.items()}
    return json.dumps(envelope)


def s3_notification(bucket: str, key: str, size: int, *, event: str = "ObjectCreated:Put") -> str:
    """The body S3 sends for one object event; it writes the key form-encoded (a space as ``+``)."""
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": _now(),
        "eventName": event,
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "fanout-example",
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {
                "key": urllib.parse.quote_plus(key, safe="/"),
                "size": size,
                "eTag": uuid.uuid5(uuid.NAMESPACE_URL, f"{bucket}/{key}").hex,
                "sequencer": f"{uuid.uuid4().int % 16**18:018X}",
            },
        },
    }
    return json.dumps({"Records": [record]})


def s3_test_event(bucket: str) -> str:
    """What S3 sends once, when the bucket's notification to the queue is configured."""
    return json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": _now(), "Bucket": bucket})


async def send(backend: Backend, queue_url: str, bodies: Sequence[str]) -> None:
    """Send ``bodies`` (at most ten: one batch); a refused one is an error, never skipped."""
    _, failed = await backend.send_message_batch(queue_url, [OutgoingMessage(b, str(n)) for n, b in enumerate(bodies)])
    if failed:
        raise RuntimeError(f"{len(failed)} messages refused: {failed[0].code}: {failed[0].message}")
