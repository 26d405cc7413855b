"""S3Event: S3's event notifications, keys decoded, the set-up test event recognised, SNS-wrapped ones too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from consumerkit import PayloadError, S3Bucket, S3Event, S3Object, SnsNotification
from consumerkit.envelopes.s3 import decode_key
from consumerkit.payloads import text_decoder
from tests.envelopes.samples import body, s3_event, s3_record, s3_test_event, sns


def test_a_put_event_is_decoded() -> None:
    event = S3Event.from_body(body(s3_event()))
    assert not event.is_test and event.test is None
    (record,) = event.records
    assert (record.event_version, record.event_source, record.aws_region) == ("2.1", "aws:s3", "eu-west-1")
    assert record.event_time == datetime(2024, 11, 5, 9, 31, 0, 120000, tzinfo=UTC)
    assert record.event_name == "ObjectCreated:Put" and record.created and not record.removed
    assert record.bucket == S3Bucket("media-inbox", "arn:aws:s3:::media-inbox")
    assert record.object == S3Object(
        key="uploads/red flower.jpg",
        size=1048576,
        etag="d41d8cd98f00b204e9800998ecf8427e",
        version_id="3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY",
        sequencer="0A1B2C3D4E5F678901",
    )
    assert record.configuration_id == "new-uploads"


def test_a_delete_has_no_size_nor_etag() -> None:
    deleted = s3_record(eventName="ObjectRemoved:Delete", s3__object__size=None, s3__object__eTag=None)
    (record,) = S3Event.from_body(body(s3_event(deleted))).records
    assert record.removed and record.object.size is None and record.object.etag is None


def test_several_records_keep_their_order() -> None:
    keys = [s3_record(f"frame-{n}.png") for n in range(3)]
    records = S3Event.from_body(body(s3_event(*keys))).records
    assert [r.object.key for r in records] == ["frame-0.png", "frame-1.png", "frame-2.png"]


@pytest.mark.parametrize(
    ("encoded", "key"),
    [
        ("red+flower.jpg", "red flower.jpg"),  # S3 writes a space as '+'
        ("a%2Bb.txt", "a+b.txt"),  # and a literal '+' escaped
        ("caf%C3%A9/%E6%97%A5%E6%9C%AC.mov", "café/日本.mov"),  # non-ASCII as UTF-8 escapes
        ("100%25+done%3F.txt", "100% done?.txt"),
        ("plain/path-to_file.v2", "plain/path-to_file.v2"),
    ],
)
def test_keys_are_decoded(encoded: str, key: str) -> None:
    assert decode_key(encoded) == key
    (record,) = S3Event.from_body(body(s3_event(s3_record(encoded)))).records
    assert record.object.key == key


def test_a_key_of_bad_utf8_escapes_is_named() -> None:
    with pytest.raises(PayloadError, match=r"field 'Records\[0\]\.s3\.object\.key' needs percent-escapes of UTF-8"):
        S3Event.from_body(body(s3_event(s3_record("bad%FF.txt"))))


def test_the_test_event_is_recognised() -> None:
    event = S3Event.from_body(body(s3_test_event()))
    assert event.is_test and event.records == ()
    assert event.test is not None
    assert (event.test.bucket, event.test.service) == ("media-inbox", "Amazon S3")
    assert event.test.request_id == "5582815E1AEA5ADF"
    assert event.test.time == datetime(2024, 11, 5, 9, 0, 0, 1000, tzinfo=UTC)


def test_a_test_event_without_its_bucket_is_named() -> None:
    broken = {k: v for k, v in s3_test_event().items() if k != "Bucket"}
    with pytest.raises(PayloadError, match="S3 event: field 'Bucket' is missing"):
        S3Event.from_body(body(broken))


def test_events_through_sns_are_decoded_inside_the_envelope() -> None:
    decode = text_decoder(SnsNotification[S3Event], "test")
    wrapped = decode(body(sns(body(s3_event()), Subject="Amazon S3 Notification", MessageAttributes=None)))
    assert wrapped.subject == "Amazon S3 Notification"
    assert wrapped.payload.records[0].object.key == "uploads/red flower.jpg"
    assert decode(body(sns(body(s3_test_event())))).payload.is_test
    with pytest.raises(PayloadError, match=r"field 'Message': S3 event: field 'Records\[0\]\.awsRegion' is missing"):
        decode(body(sns(body(s3_event(s3_record(awsRegion=None))))))


def test_an_sns_envelope_given_to_s3event_points_at_the_right_annotation() -> None:
    with pytest.raises(PayloadError, match=r"this is an SNS envelope, annotate SnsNotification\[S3Event\]"):
        S3Event.from_body(body(sns(body(s3_event()))))


REQUIRED = ["eventVersion", "eventSource", "awsRegion", "eventTime", "eventName", "s3", "s3__bucket",
            "s3__bucket__name", "s3__bucket__arn", "s3__object", "s3__object__key"]  # fmt: skip


@pytest.mark.parametrize("name", REQUIRED)
def test_a_missing_required_field_is_named(name: str) -> None:
    path = rf"Records\[0\]\.{name.replace('__', '.')}"
    with pytest.raises(PayloadError, match=rf"S3 event: field '{path}' is missing"):
        S3Event.from_body(body(s3_event(s3_record(**{name: None}))))


TEXTS = [n for n in REQUIRED if n not in ("s3", "s3__bucket", "s3__object")]


@pytest.mark.parametrize(
    ("name", "wrong", "needs"),
    [(n, 5, "a string") for n in TEXTS]
    + [(n, "x", "an object") for n in ("s3", "s3__bucket", "s3__object")]
    + [
        ("s3__object__size", "1024", "a whole number"),
        ("s3__object__size", True, "a whole number"),
        ("s3__object__size", 1.5, "a whole number"),
        ("s3__object__eTag", 7, "a string"),
        ("s3__object__versionId", [], "a string"),
        ("s3__object__sequencer", {}, "a string"),
    ],
)
def test_a_field_of_the_wrong_type_is_named(name: str, wrong: Any, needs: str) -> None:
    path = rf"Records\[0\]\.{name.replace('__', '.')}"
    with pytest.raises(PayloadError, match=rf"S3 event: field '{path}' needs {needs}, got "):
        S3Event.from_body(body(s3_event(s3_record(**{name: wrong}))))


@pytest.mark.parametrize(
    ("data", "wording"),
    [
        ({"Records": []}, "field 'Records' needs at least one record"),
        ({"Records": "x"}, "field 'Records' needs an array, got string"),
        ({"Records": [3]}, r"field 'Records\[0\]' needs a JSON object, got number"),
        ({"Event": "s3:Other"}, "field 'Records' is missing"),
        ({"Records": [s3_record(s3__object__size=-1)]}, "'Records\\[0\\].s3.object.size' needs a whole number of at"),
        ({"Records": [s3_record(eventVersion="3.0")]}, r"'Records\[0\]\.eventVersion' needs major version 2"),
        ({"Records": [s3_record(eventTime="soon")]}, r"'Records\[0\]\.eventTime' needs an ISO 8601 time"),
        ({"Records": [s3_record(), s3_record(eventName=None)]}, r"'Records\[1\]\.eventName' is missing"),
    ],
)
def test_malformed_events_are_named(data: dict[str, Any], wording: str) -> None:
    with pytest.raises(PayloadError, match=wording):
        S3Event.from_body(body(data))
