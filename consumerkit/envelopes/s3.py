"""What S3 puts on a queue when a bucket's event notification targets it: ``Records`` of object events.

S3 writes an object's key URL-encoded, as a form would (``red flower.jpg`` arrives as ``red+flower.jpg``,
a literal ``+`` as ``%2B``, non-ASCII as UTF-8 escapes); :class:`S3Object` holds it decoded, ready for
``GetObject``. When a notification is configured, S3 first sends one ``s3:TestEvent``, which has no records:
it decodes to an :class:`S3Event` whose ``test`` is set, so a handler can return early and let it be deleted.

The same events published through SNS (S3 → SNS → SQS) arrive inside an SNS envelope: annotate the handler
with ``SnsNotification[S3Event]``.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from datetime import datetime

from consumerkit.envelopes._fields import Fields, parse

__all__ = ["S3Bucket", "S3Event", "S3Object", "S3Record", "S3TestEvent", "decode_key"]

KIND = "S3 event"
TEST_EVENT = "s3:TestEvent"
# AWS: compare the major version for equality; minor versions only add fields, which are ignored here.
EVENT_MAJOR_VERSION = "2"


@dataclass(frozen=True, slots=True)
class S3Bucket:
    name: str
    arn: str


@dataclass(frozen=True, slots=True)
class S3Object:
    """The object an event is about. ``key`` is decoded; deletes carry no ``size`` nor ``etag``, and
    ``version_id`` is only there on a versioned bucket. ``sequencer`` orders the events of one key."""

    key: str
    size: int | None = None
    etag: str | None = None
    version_id: str | None = None
    sequencer: str | None = None


@dataclass(frozen=True, slots=True)
class S3Record:
    """One object event: ``event_name`` is S3's type without the ``s3:`` prefix, as ``ObjectCreated:Put``
    or ``ObjectRemoved:Delete``."""

    event_version: str
    event_source: str
    aws_region: str
    event_time: datetime
    event_name: str
    bucket: S3Bucket
    object: S3Object
    configuration_id: str | None = None

    @property
    def created(self) -> bool:
        return self.event_name.startswith("ObjectCreated:")

    @property
    def removed(self) -> bool:
        return self.event_name.startswith("ObjectRemoved:")


@dataclass(frozen=True, slots=True)
class S3TestEvent:
    """The message S3 sends once when a notification is set up, to show that it can reach the queue."""

    bucket: str
    time: datetime
    service: str = "Amazon S3"
    request_id: str | None = None
    host_id: str | None = None


@dataclass(frozen=True, slots=True)
class S3Event:
    """One S3 notification: its ``records``, or, for the set-up test, none and ``test`` set."""

    records: tuple[S3Record, ...]
    test: S3TestEvent | None = None

    @property
    def is_test(self) -> bool:
        return self.test is not None

    @classmethod
    def from_body(cls, body: str) -> S3Event:
        """Decode an SQS body S3 wrote; raises PayloadError naming the field missing or of the wrong type."""
        fields = parse(body, KIND)
        if "Records" not in fields.data and fields.data.get("Event") == TEST_EVENT:
            return cls((), _test_event(fields))
        if "Records" not in fields.data and fields.data.get("Type") == "Notification":
            raise fields.error("Records", "is missing: this is an SNS envelope, annotate SnsNotification[S3Event]")
        records = fields.array("Records")
        if not records:
            raise fields.error("Records", "needs at least one record")
        return cls(tuple(_record(Fields(item, KIND, f"Records[{n}]")) for n, item in enumerate(records)))


def decode_key(key: str) -> str:
    """An object key as S3 wrote it in an event (form-encoded) back to the key itself."""
    return urllib.parse.unquote_plus(key, errors="strict")


def _record(fields: Fields) -> S3Record:
    version = fields.text("eventVersion")
    if version.split(".")[0] != EVENT_MAJOR_VERSION:
        raise fields.error("eventVersion", f"needs major version {EVENT_MAJOR_VERSION} (2.x)")
    source, region = fields.text("eventSource"), fields.text("awsRegion")
    time, name = fields.time("eventTime"), fields.text("eventName")  # in the document's order, as errors are
    s3 = fields.object("s3")
    bucket = s3.object("bucket")
    return S3Record(
        event_version=version,
        event_source=source,
        aws_region=region,
        event_time=time,
        event_name=name,
        bucket=S3Bucket(bucket.text("name"), bucket.text("arn")),
        object=_object(s3.object("object")),
        configuration_id=s3.optional_text("configurationId"),
    )


def _object(fields: Fields) -> S3Object:
    try:
        key = decode_key(fields.text("key"))
    except UnicodeDecodeError:
        raise fields.error("key", "needs percent-escapes of UTF-8") from None
    return S3Object(
        key=key,
        size=fields.optional_count("size"),
        etag=fields.optional_text("eTag"),
        version_id=fields.optional_text("versionId"),
        sequencer=fields.optional_text("sequencer"),
    )


def _test_event(fields: Fields) -> S3TestEvent:
    return S3TestEvent(
        bucket=fields.text("Bucket"),
        time=fields.time("Time"),
        service=fields.optional_text("Service") or "Amazon S3",
        request_id=fields.optional_text("RequestId"),
        host_id=fields.optional_text("HostId"),
    )
