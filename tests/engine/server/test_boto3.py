"""Current boto3 (AWS JSON 1.0) against a real ``consumerkit serve``: all 23 operations, replies member by member.

Each test names the operations it covers (``@covers``), which checks that those operations really went over the
wire as JSON, and ``test_every_operation_is_covered`` that the 23 of botocore's model are all named. Replies
are compared whole (less ``ResponseMetadata``), so a member too many is caught as surely as one missing. botocore
does not verify SQS's MD5s, so the tests do, with an implementation of their own (``clients.md5_of_attributes``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.engine.server.clients import ACCOUNT, md5_of_attributes, md5_of_body
from tests.engine.server.serving import Served

REGION = "eu-west-1"
JSON_CONTENT_TYPE = "application/x-amz-json-1.0"
COVERED: dict[str, list[str]] = {}
SENT: list[tuple[str | None, str | None]] = []  # (X-Amz-Target, Content-Type) of every request any client sent


def record(request: Any, **_: Any) -> None:
    headers = {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
    SENT.append((headers.get("x-amz-target"), headers.get("content-type")))


def covers(*operations: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Name the operations a test covers; once it passes, check that they went over the wire, all as JSON."""

    def mark(test: Callable[..., None]) -> Callable[..., None]:
        for operation in operations:
            COVERED.setdefault(operation, []).append(test.__name__)

        @functools.wraps(test)
        def run(*args: Any, **kwargs: Any) -> None:
            SENT.clear()
            test(*args, **kwargs)
            assert SENT and all(content_type == JSON_CONTENT_TYPE for _, content_type in SENT), SENT
            missing = set(operations) - {target.removeprefix("AmazonSQS.") for target, _ in SENT if target}
            assert not missing, f"{test.__name__} claims to cover {sorted(missing)} but never sent them"

        return run

    return mark


class Like:
    """Equal to any string matching a pattern: for ids and handles, whose values are the server's choice."""

    def __init__(self, pattern: str) -> None:
        self.pattern = re.compile(pattern)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and self.pattern.fullmatch(other) is not None

    def __hash__(self) -> int:
        return hash(self.pattern.pattern)

    def __repr__(self) -> str:
        return f"Like({self.pattern.pattern!r})"


MESSAGE_ID = Like(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HANDLE = Like(r"\S{16,}")
DIGITS = Like(r"[0-9]+")


def make_client(url: str, region: str = REGION, **config: Any) -> BaseClient:
    client = boto3.client(
        "sqs",
        endpoint_url=url,
        region_name=region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=30, connect_timeout=5, **config),
    )
    client.meta.events.register("before-send.sqs", record)
    return client


def body_of(reply: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in reply.items() if k != "ResponseMetadata"}


def failure(call: Callable[..., Any], **kwargs: Any) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value


def error_of(error: ClientError) -> tuple[str, str, str | None, int]:
    """(exception class, Error.Code, Error.QueryErrorCode, HTTP status) of a botocore error."""
    details = error.response["Error"]
    return (
        type(error).__name__,
        details["Code"],
        details.get("QueryErrorCode"),
        error.response["ResponseMetadata"]["HTTPStatusCode"],
    )


@pytest.fixture(scope="module")
def sqs(served: Served, aws_env: None) -> BaseClient:
    return make_client(served.url)


@pytest.fixture(scope="module")
def unchecked(served: Served, aws_env: None) -> BaseClient:
    """A client that sends what botocore's own validation would refuse, so the server's checks are reached."""
    return make_client(served.url, parameter_validation=False)


@pytest.fixture
def name() -> str:
    return f"b3-{uuid.uuid4().hex[:12]}"


def test_every_operation_is_covered(sqs: BaseClient) -> None:
    assert sqs.meta.service_model.protocol == "json"
    operations = set(sqs.meta.service_model.operation_names)
    assert len(operations) == 23
    assert set(COVERED) == operations, sorted(operations ^ set(COVERED))


# -- queues --------------------------------------------------------------------------------------------------


@covers("CreateQueue", "GetQueueUrl", "ListQueues", "DeleteQueue")
def test_queue_lifecycle(sqs: BaseClient, served: Served, name: str) -> None:
    url = f"{served.url}/{ACCOUNT}/{name}"
    assert body_of(sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "45"})) == {"QueueUrl": url}
    assert body_of(sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "45"})) == {"QueueUrl": url}
    assert body_of(sqs.get_queue_url(QueueName=name)) == {"QueueUrl": url}
    assert body_of(sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=ACCOUNT)) == {"QueueUrl": url}

    other = sqs.create_queue(QueueName=f"{name}-b")["QueueUrl"]
    assert body_of(sqs.list_queues(QueueNamePrefix=name)) == {"QueueUrls": [url, other]}
    first = body_of(sqs.list_queues(QueueNamePrefix=name, MaxResults=1))
    assert first == {"QueueUrls": [url], "NextToken": Like(r".+")}
    rest = body_of(sqs.list_queues(QueueNamePrefix=name, MaxResults=1, NextToken=first["NextToken"]))
    assert rest == {"QueueUrls": [other]}
    assert body_of(sqs.list_queues(QueueNamePrefix=f"{name}-nothing")) == {}

    conflict = failure(sqs.create_queue, QueueName=name, Attributes={"VisibilityTimeout": "46"})
    assert error_of(conflict) == ("QueueNameExists", "QueueAlreadyExists", "QueueNameExists", 400)
    assert conflict.response["Error"]["Message"] == (
        "A queue already exists with the same name and a different value for attribute VisibilityTimeout"
    )

    assert body_of(sqs.delete_queue(QueueUrl=other)) == {}
    gone = failure(sqs.get_queue_url, QueueName=f"{name}-b")
    assert isinstance(gone, sqs.exceptions.QueueDoesNotExist)
    assert gone.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert error_of(gone) == ("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", 400)
    assert gone.response["Error"]["Message"] == "The specified queue does not exist."
    assert gone.response["Error"]["Type"] == "Sender"
    assert gone.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-query-error"] == (
        "AWS.SimpleQueueService.NonExistentQueue;Sender"
    )
    assert body_of(sqs.list_queues(QueueNamePrefix=name)) == {"QueueUrls": [url]}


@covers("GetQueueAttributes", "SetQueueAttributes")
def test_queue_attributes(sqs: BaseClient, name: str) -> None:
    before = int(time.time())
    url = sqs.create_queue(
        QueueName=name, Attributes={"VisibilityTimeout": "45", "ReceiveMessageWaitTimeSeconds": "2"}
    )["QueueUrl"]
    attributes = body_of(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]))["Attributes"]
    assert attributes == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesDelayed": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
        "CreatedTimestamp": DIGITS,
        "DelaySeconds": "0",
        "LastModifiedTimestamp": DIGITS,
        "MaximumMessageSize": "1048576",
        "MessageRetentionPeriod": "345600",
        "QueueArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
        "ReceiveMessageWaitTimeSeconds": "2",
        "SqsManagedSseEnabled": "true",
        "VisibilityTimeout": "45",
    }
    assert before <= int(attributes["CreatedTimestamp"]) <= time.time() + 1  # epoch seconds, not milliseconds

    assert (
        body_of(sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "5", "VisibilityTimeout": "7"}))
        == {}
    )
    some = body_of(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["DelaySeconds", "VisibilityTimeout"]))
    assert some == {"Attributes": {"DelaySeconds": "5", "VisibilityTimeout": "7"}}

    unknown = failure(sqs.get_queue_attributes, QueueUrl=url, AttributeNames=["NoSuchAttribute"])
    assert error_of(unknown) == ("InvalidAttributeName", "InvalidAttributeName", "InvalidAttributeName", 400)
    assert unknown.response["Error"]["Message"] == "Unknown Attribute NoSuchAttribute."
    bad = failure(sqs.set_queue_attributes, QueueUrl=url, Attributes={"VisibilityTimeout": "43201"})
    assert error_of(bad)[1:] == ("InvalidAttributeValue", "InvalidAttributeValue", 400)


def test_queue_arn_names_the_region_of_the_signature(served: Served, aws_env: None, name: str) -> None:
    ireland, sydney = make_client(served.url, "eu-west-1"), make_client(served.url, "ap-southeast-2")
    url = ireland.create_queue(QueueName=name)["QueueUrl"]
    for client, region in ((ireland, "eu-west-1"), (sydney, "ap-southeast-2")):
        arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        assert arn == f"arn:aws:sqs:{region}:{ACCOUNT}:{name}"


def test_queue_urls_use_the_address_the_client_used(served: Served, aws_env: None, name: str) -> None:
    by_name = make_client(f"http://localhost:{served.port}")
    by_address = make_client(served.url)
    assert by_name.create_queue(QueueName=name)["QueueUrl"] == f"http://localhost:{served.port}/{ACCOUNT}/{name}"
    assert by_name.list_queues(QueueNamePrefix=name)["QueueUrls"] == [
        f"http://localhost:{served.port}/{ACCOUNT}/{name}"
    ]
    assert by_address.get_queue_url(QueueName=name)["QueueUrl"] == f"{served.url}/{ACCOUNT}/{name}"


# -- messages ------------------------------------------------------------------------------------------------

# Outside the BMP (emoji, musical symbol, the last valid code point of plane 16), XML-special, and the allowed
# control characters: boto3 escapes astral characters as surrogate pairs in JSON, which the server must join.
BODY = "naïve 😀 𝄞 \U0010fffd ✓ <b>&amp;</b> ' \" \t\r\n end"
ATTRIBUTES: dict[str, dict[str, Any]] = {
    "kind": {"DataType": "String", "StringValue": "invoice ✓ 😀"},
    "amount": {"DataType": "Number", "StringValue": "-1.5E3"},
    "count": {"DataType": "Number.int", "StringValue": "7"},
    "blob": {"DataType": "Binary", "BinaryValue": bytes(range(256))},
    "image": {"DataType": "Binary.png", "BinaryValue": b"\x89PNG\r\n\x1a\n"},
}
TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"


@covers("SendMessage", "ReceiveMessage", "ChangeMessageVisibility", "DeleteMessage")
def test_message_round_trip(sqs: BaseClient, name: str) -> None:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sent = body_of(
        sqs.send_message(
            QueueUrl=url,
            MessageBody=BODY,
            MessageAttributes=ATTRIBUTES,
            MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": TRACE}},
        )
    )
    trace_md5 = md5_of_attributes({"AWSTraceHeader": {"DataType": "String", "StringValue": TRACE}})
    assert sent == {
        "MD5OfMessageBody": md5_of_body(BODY),
        "MD5OfMessageAttributes": md5_of_attributes(ATTRIBUTES),
        "MD5OfMessageSystemAttributes": trace_md5,
        "MessageId": MESSAGE_ID,
    }

    sent_at = time.time() * 1000
    received = body_of(
        sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=5,
            VisibilityTimeout=30,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        )
    )
    assert received == {
        "Messages": [
            {
                "MessageId": sent["MessageId"],
                "ReceiptHandle": HANDLE,
                "MD5OfBody": md5_of_body(BODY),
                "Body": BODY,
                "Attributes": {
                    "SenderId": ACCOUNT,
                    "SentTimestamp": DIGITS,
                    "ApproximateReceiveCount": "1",
                    "ApproximateFirstReceiveTimestamp": DIGITS,
                    "AWSTraceHeader": TRACE,
                },
                "MD5OfMessageAttributes": md5_of_attributes(ATTRIBUTES),
                "MessageAttributes": ATTRIBUTES,
            }
        ]
    }
    message = received["Messages"][0]
    assert abs(int(message["Attributes"]["SentTimestamp"]) - sent_at) < 10_000  # epoch milliseconds

    handle = message["ReceiptHandle"]
    assert body_of(sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)) == {}
    again = sqs.receive_message(
        QueueUrl=url,
        WaitTimeSeconds=5,
        MessageAttributeNames=["kind", "blob"],
        MessageSystemAttributeNames=["ApproximateReceiveCount"],
    )["Messages"]
    chosen = {k: ATTRIBUTES[k] for k in ("kind", "blob")}
    assert again == [
        {
            "MessageId": sent["MessageId"],
            "ReceiptHandle": HANDLE,
            "MD5OfBody": md5_of_body(BODY),
            "Body": BODY,
            "Attributes": {"ApproximateReceiveCount": "2"},
            "MD5OfMessageAttributes": md5_of_attributes(chosen),
            "MessageAttributes": chosen,
        }
    ]
    assert again[0]["ReceiptHandle"] != handle  # every receive issues a new handle

    assert body_of(sqs.delete_message(QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"])) == {}
    counts = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert counts == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


@covers("SendMessage", "ReceiveMessage")
def test_body_size_counts_utf8_bytes(sqs: BaseClient, name: str) -> None:
    """1 MiB of four-byte characters is the largest body; one byte more is refused, with SQS's wording."""
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    largest = "😀" * (1024 * 1024 // 4)
    assert sqs.send_message(QueueUrl=url, MessageBody=largest)["MD5OfMessageBody"] == md5_of_body(largest)
    error = failure(sqs.send_message, QueueUrl=url, MessageBody=largest + "x")
    assert error_of(error) == ("ClientError", "InvalidParameterValue", "InvalidParameterValueException", 400)
    assert error.response["Error"]["Message"] == (
        "One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes."
    )
    (message,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
    assert message["Body"] == largest
    assert message["MD5OfBody"] == md5_of_body(largest)


@covers("SendMessageBatch", "ReceiveMessage")
def test_send_batch_reports_failures_per_entry(sqs: BaseClient, name: str) -> None:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    number = {"n": {"DataType": "Number", "StringValue": "1"}}
    reply = body_of(
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": "first", "MessageBody": "one 😀", "MessageAttributes": number},
                {"Id": "late", "MessageBody": "too late", "DelaySeconds": 901},
                {"Id": "second", "MessageBody": "two", "DelaySeconds": 0},
                {"Id": "bell", "MessageBody": "ding \x07"},
                {
                    "Id": "empty-attr",
                    "MessageBody": "x",
                    "MessageAttributes": {"e": {"DataType": "String", "StringValue": ""}},
                },
            ],
        )
    )
    assert reply == {
        "Successful": [
            {
                "Id": "first",
                "MessageId": MESSAGE_ID,
                "MD5OfMessageBody": md5_of_body("one 😀"),
                "MD5OfMessageAttributes": md5_of_attributes(number),
            },
            {"Id": "second", "MessageId": MESSAGE_ID, "MD5OfMessageBody": md5_of_body("two")},
        ],
        "Failed": [
            {
                "Id": "late",
                "SenderFault": True,
                "Code": "InvalidParameterValue",
                "Message": "Value 901 for parameter DelaySeconds is invalid. Reason: Must be between 0 and 900, "
                "if provided.",
            },
            {"Id": "bell", "SenderFault": True, "Code": "InvalidMessageContents", "Message": Like(r".*U\+0007.*")},
            {
                "Id": "empty-attr",
                "SenderFault": True,
                "Code": "InvalidParameterValue",
                # the wording is pinned by test_empty_attribute_wording
                "Message": Like(r".*Message \(user\) attribute 'e' must contain a non-empty value of type 'String'\."),
            },
        ],
    }
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=5)["Messages"]
    while len(received) < 2:  # a standard queue may return fewer than it holds
        received += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=5).get("Messages", [])
    assert sorted(m["Body"] for m in received) == ["one 😀", "two"]


@covers("SendMessageBatch", "DeleteMessageBatch", "ChangeMessageVisibilityBatch")
def test_batch_request_errors(unchecked: BaseClient, name: str) -> None:
    url = unchecked.create_queue(QueueName=name)["QueueUrl"]
    cases = [
        ([], "EmptyBatchRequest", Like("There should be at least one .* in the request.")),  # see below
        (
            [{"Id": f"e{i}", "MessageBody": "m"} for i in range(11)],
            "TooManyEntriesInBatchRequest",
            "Maximum number of entries per request are 10. You have sent 11.",
        ),
        (
            [{"Id": "x", "MessageBody": "1"}, {"Id": "x", "MessageBody": "2"}],
            "BatchEntryIdsNotDistinct",
            "Id x repeated.",
        ),
        (
            [{"Id": "not valid!", "MessageBody": "1"}],
            "InvalidBatchEntryId",
            "A batch entry id can only contain alphanumeric characters, hyphens and underscores. "
            "It can be at most 80 letters long.",
        ),
        (
            [{"Id": f"e{i}", "MessageBody": "x" * (1024 * 1024 // 10 + 1)} for i in range(10)],
            "BatchRequestTooLong",
            "Batch requests cannot be longer than 1048576 bytes. You have sent 1048580 bytes.",
        ),
    ]
    for entries, shape, message in cases:
        error = failure(unchecked.send_message_batch, QueueUrl=url, Entries=entries)
        assert error_of(error) == (shape, f"AWS.SimpleQueueService.{shape}", shape, 400)
        assert error.response["Error"]["Message"] == message
    empty_delete = failure(unchecked.delete_message_batch, QueueUrl=url, Entries=[])
    assert error_of(empty_delete)[0] == "EmptyBatchRequest"
    repeated = [{"Id": "x", "ReceiptHandle": "h"}, {"Id": "x", "ReceiptHandle": "h"}]
    assert error_of(failure(unchecked.change_message_visibility_batch, QueueUrl=url, Entries=repeated))[0] == (
        "BatchEntryIdsNotDistinct"
    )
    assert unchecked.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"
    ] == {"ApproximateNumberOfMessages": "0"}


def test_empty_batch_wording(unchecked: BaseClient, name: str) -> None:
    url = unchecked.create_queue(QueueName=name)["QueueUrl"]
    error = failure(unchecked.send_message_batch, QueueUrl=url, Entries=[])
    assert error.response["Error"]["Message"] == (
        "There should be at least one SendMessageBatchRequestEntry in the request."
    )


def test_empty_attribute_wording(sqs: BaseClient, name: str) -> None:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    empty = {"ErrorDetails": {"DataType": "String", "StringValue": ""}}
    error = failure(sqs.send_message, QueueUrl=url, MessageBody="x", MessageAttributes=empty)
    assert error.response["Error"] == {
        "Type": "Sender",
        "Code": "InvalidParameterValue",
        "QueryErrorCode": "InvalidParameterValueException",
        "Message": "Message (user) attribute 'ErrorDetails' must contain a non-empty value of type 'String'.",
    }


@covers("ReceiveMessage", "ChangeMessageVisibilityBatch", "DeleteMessageBatch", "GetQueueAttributes")
def test_acknowledge_in_batches(sqs: BaseClient, name: str) -> None:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": f"m{i}", "MessageBody": f"body {i}"} for i in range(3)])
    messages: list[dict[str, Any]] = []
    while len(messages) < 3:
        messages += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=5).get("Messages", [])
    handles = {m["Body"]: m["ReceiptHandle"] for m in messages}

    changed = body_of(
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": "back", "ReceiptHandle": handles["body 0"], "VisibilityTimeout": 0},
                {"Id": "keep", "ReceiptHandle": handles["body 1"], "VisibilityTimeout": 600},
                {"Id": "bogus", "ReceiptHandle": "not-a-receipt-handle", "VisibilityTimeout": 10},
            ],
        )
    )
    invalid = 'The input receipt handle "not-a-receipt-handle" is not a valid receipt handle.'
    failed = [{"Id": "bogus", "SenderFault": True, "Code": "ReceiptHandleIsInvalid", "Message": invalid}]
    assert changed == {"Successful": [{"Id": "back"}, {"Id": "keep"}], "Failed": failed}
    counts = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert counts == {"ApproximateNumberOfMessages": "1", "ApproximateNumberOfMessagesNotVisible": "2"}

    deleted = body_of(
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": "a", "ReceiptHandle": handles["body 1"]},
                {"Id": "b", "ReceiptHandle": handles["body 2"]},
                {"Id": "bogus", "ReceiptHandle": "not-a-receipt-handle"},
            ],
        )
    )
    assert deleted == {"Successful": [{"Id": "a"}, {"Id": "b"}], "Failed": failed}
    (left,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
    assert left["Body"] == "body 0"


@covers("PurgeQueue")
def test_purge_once_a_minute(sqs: BaseClient, name: str) -> None:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "a"}, {"Id": "b", "MessageBody": "b"}])
    assert body_of(sqs.purge_queue(QueueUrl=url)) == {}
    assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    again = failure(sqs.purge_queue, QueueUrl=url)
    assert isinstance(again, sqs.exceptions.PurgeQueueInProgress)
    assert error_of(again) == (
        "PurgeQueueInProgress",
        "AWS.SimpleQueueService.PurgeQueueInProgress",
        "PurgeQueueInProgress",
        403,
    )
    assert again.response["Error"]["Message"] == f"Only one PurgeQueue operation on {name} is allowed every 60 seconds."


@covers("TagQueue", "UntagQueue", "ListQueueTags")
def test_tags(sqs: BaseClient, name: str) -> None:
    url = sqs.create_queue(QueueName=name, tags={"team": "billing"})["QueueUrl"]
    assert body_of(sqs.list_queue_tags(QueueUrl=url)) == {"Tags": {"team": "billing"}}
    assert body_of(sqs.tag_queue(QueueUrl=url, Tags={"env": "test ✓", "team": "payments"})) == {}
    assert body_of(sqs.list_queue_tags(QueueUrl=url)) == {"Tags": {"team": "payments", "env": "test ✓"}}
    assert body_of(sqs.untag_queue(QueueUrl=url, TagKeys=["team", "absent"])) == {}
    assert body_of(sqs.list_queue_tags(QueueUrl=url)) == {"Tags": {"env": "test ✓"}}
    sqs.untag_queue(QueueUrl=url, TagKeys=["env"])
    assert body_of(sqs.list_queue_tags(QueueUrl=url)) == {}


@covers("AddPermission", "RemovePermission")
def test_permissions(sqs: BaseClient, name: str) -> None:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
    reply = sqs.add_permission(
        QueueUrl=url,
        Label="share",
        AWSAccountIds=["111122223333", "444455556666"],
        Actions=["SendMessage", "ReceiveMessage"],
    )
    assert body_of(reply) == {}
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    (statement,) = policy["Statement"]
    assert statement == {
        "Sid": "share",
        "Effect": "Allow",
        "Principal": {"AWS": ["arn:aws:iam::111122223333:root", "arn:aws:iam::444455556666:root"]},
        "Action": ["SQS:SendMessage", "SQS:ReceiveMessage"],
        "Resource": arn,
    }
    too_many = failure(
        sqs.add_permission,
        QueueUrl=url,
        Label="wide",
        AWSAccountIds=["111122223333"],
        Actions=[f"Action{i}" for i in range(8)],
    )
    assert isinstance(too_many, sqs.exceptions.OverLimit)
    assert error_of(too_many) == ("OverLimit", "OverLimit", "OverLimit", 403)
    assert too_many.response["Error"]["Message"] == "8 Actions were found, maximum allowed is 7."

    assert body_of(sqs.remove_permission(QueueUrl=url, Label="share")) == {}
    assert "Policy" not in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


# -- dead-letter queues and message move tasks ----------------------------------------------------------------


@covers("ListDeadLetterSourceQueues", "StartMessageMoveTask", "ListMessageMoveTasks", "CancelMessageMoveTask")
def test_redrive_and_move_tasks(sqs: BaseClient, name: str) -> None:
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}-dlq"
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    source = sqs.create_queue(QueueName=name, Attributes={"RedrivePolicy": policy})["QueueUrl"]
    assert body_of(sqs.list_dead_letter_source_queues(QueueUrl=dlq)) == {"queueUrls": [source]}
    assert body_of(sqs.list_dead_letter_source_queues(QueueUrl=source)) == {"queueUrls": []}

    sqs.send_message_batch(QueueUrl=source, Entries=[{"Id": f"p{i}", "MessageBody": f"poison {i}"} for i in range(4)])
    seen = 0
    while seen < 4:  # the first receive of each, made visible again at once ...
        seen += len(
            sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
        )
    # ... so the next receive exceeds maxReceiveCount and moves them all to the DLQ
    assert "Messages" not in sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10)
    dlq_count = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    assert dlq_count == {"ApproximateNumberOfMessages": "4"}

    started = body_of(sqs.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=1))
    assert started == {"TaskHandle": Like(r"\S+")}
    second = failure(sqs.start_message_move_task, SourceArn=dlq_arn)
    assert error_of(second)[1] == "InvalidParameterValue"
    listed = body_of(sqs.list_message_move_tasks(SourceArn=dlq_arn))
    assert listed == {
        "Results": [
            {
                "TaskHandle": started["TaskHandle"],
                "Status": "RUNNING",
                "SourceArn": dlq_arn,
                "MaxNumberOfMessagesPerSecond": 1,
                "ApproximateNumberOfMessagesMoved": listed["Results"][0]["ApproximateNumberOfMessagesMoved"],
                "ApproximateNumberOfMessagesToMove": 4,
                "StartedTimestamp": listed["Results"][0]["StartedTimestamp"],
            }
        ]
    }
    assert listed["Results"][0]["ApproximateNumberOfMessagesMoved"] in range(4)
    assert abs(listed["Results"][0]["StartedTimestamp"] - time.time() * 1000) < 10_000  # epoch milliseconds

    cancelled = body_of(sqs.cancel_message_move_task(TaskHandle=started["TaskHandle"]))
    assert cancelled == {"ApproximateNumberOfMessagesMoved": cancelled["ApproximateNumberOfMessagesMoved"]}
    moved_before_cancel = cancelled["ApproximateNumberOfMessagesMoved"]
    assert moved_before_cancel in range(4)
    (after,) = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
    assert after["Status"] in ("CANCELLING", "CANCELLED")
    assert "TaskHandle" not in after  # only a running task has one

    # unlimited: moves what is left back to the source queue at once
    sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}")
    latest, earlier = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10)["Results"]
    assert latest["Status"] == "COMPLETED"
    assert latest["ApproximateNumberOfMessagesMoved"] == 4 - moved_before_cancel
    assert latest["DestinationArn"] == f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
    assert earlier["Status"] == after["Status"]
    bodies: list[str] = []
    while len(bodies) < 4:
        got = sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, WaitTimeSeconds=5).get("Messages", [])
        bodies += [m["Body"] for m in got]
    assert sorted(bodies) == [f"poison {i}" for i in range(4)]

    unknown = failure(sqs.cancel_message_move_task, TaskHandle=base64.b64encode(b"no such task").decode())
    assert isinstance(unknown, sqs.exceptions.ResourceNotFoundException)
    assert error_of(unknown) == (
        "ResourceNotFoundException",
        "ResourceNotFoundException",
        "ResourceNotFoundException",
        404,
    )
    nowhere = failure(sqs.list_message_move_tasks, SourceArn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}-none")
    assert error_of(nowhere)[1:] == ("ResourceNotFoundException", "ResourceNotFoundException", 404)


# -- FIFO ---------------------------------------------------------------------------------------------------


@covers("CreateQueue", "SendMessage", "ReceiveMessage", "DeleteMessage")
def test_fifo_groups_and_deduplication(sqs: BaseClient, name: str) -> None:
    url = sqs.create_queue(
        QueueName=f"{name}.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    sent = [
        body_of(sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group))
        for body, group in (("a1", "group-a"), ("a2", "group-a"), ("b1", "group-b"))
    ]
    for reply, body in zip(sent, ("a1", "a2", "b1"), strict=True):
        assert reply == {"MD5OfMessageBody": md5_of_body(body), "MessageId": MESSAGE_ID, "SequenceNumber": DIGITS}
    sequences = [int(reply["SequenceNumber"]) for reply in sent]
    assert sequences == sorted(sequences) and len(set(sequences)) == 3
    duplicate = body_of(sqs.send_message(QueueUrl=url, MessageBody="a1", MessageGroupId="group-a"))
    assert duplicate == sent[0]  # within 5 minutes the same content is the same message

    first = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=1, MessageSystemAttributeNames=["All"], ReceiveRequestAttemptId="try-1"
    )["Messages"]
    assert [m["Body"] for m in first] == ["a1"]
    assert first[0]["Attributes"] == {
        "SenderId": ACCOUNT,
        "SentTimestamp": DIGITS,
        "ApproximateReceiveCount": "1",
        "ApproximateFirstReceiveTimestamp": DIGITS,
        "MessageGroupId": "group-a",
        "MessageDeduplicationId": hashlib.sha256(b"a1").hexdigest(),
        "SequenceNumber": sent[0]["SequenceNumber"],
    }
    # while a1 is in flight, group-a is blocked: only b1 comes
    rest = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in rest] == ["b1"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]] == ["a2"]

    missing = failure(sqs.send_message, QueueUrl=url, MessageBody="no group")
    assert error_of(missing) == ("ClientError", "MissingParameter", "MissingRequiredParameterException", 400)
    assert missing.response["Error"]["Message"] == "The request must contain the parameter MessageGroupId."
    delayed = failure(sqs.send_message, QueueUrl=url, MessageBody="x", MessageGroupId="g", DelaySeconds=2)
    assert error_of(delayed)[1] == "InvalidParameterValue"
    assert delayed.response["Error"]["Message"] == (
        "Value 2 for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid "
        "for this queue type."
    )


# -- errors -------------------------------------------------------------------------------------------------

NO_QUEUE_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("send_message", {"MessageBody": "x"}),
    ("receive_message", {"WaitTimeSeconds": 0}),
    ("get_queue_attributes", {"AttributeNames": ["All"]}),
    ("set_queue_attributes", {"Attributes": {"DelaySeconds": "1"}}),
    ("purge_queue", {}),
    ("delete_queue", {}),
    ("list_queue_tags", {}),
    ("delete_message", {"ReceiptHandle": "h"}),
]


@covers("SendMessage", "ReceiveMessage", "GetQueueAttributes", "PurgeQueue", "DeleteQueue", "ListQueueTags")
def test_queue_does_not_exist_on_every_queue_operation(sqs: BaseClient, served: Served) -> None:
    url = f"{served.url}/{ACCOUNT}/b3-no-such-queue"
    for method, kwargs in NO_QUEUE_CALLS:
        error = failure(getattr(sqs, method), QueueUrl=url, **kwargs)
        assert isinstance(error, sqs.exceptions.QueueDoesNotExist), method
        assert error.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue", method
        assert error_of(error)[2:] == ("QueueDoesNotExist", 400), method


@covers("ReceiveMessage", "ChangeMessageVisibility", "DeleteMessage", "SendMessage", "CreateQueue")
def test_invalid_parameters(sqs: BaseClient, unchecked: BaseClient, name: str) -> None:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    value_errors = [
        (
            sqs.receive_message,
            {"MaxNumberOfMessages": 11},
            "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.",
        ),
        (
            sqs.receive_message,
            {"MaxNumberOfMessages": 0},
            "Value 0 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.",
        ),
        (
            sqs.receive_message,
            {"WaitTimeSeconds": 21},
            "Value 21 for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.",
        ),
        (
            sqs.send_message,
            {"MessageBody": "x", "DelaySeconds": 901},
            "Value 901 for parameter DelaySeconds is invalid. Reason: Must be between 0 and 900, if provided.",
        ),
    ]
    for call, kwargs, message in value_errors:
        error = failure(call, QueueUrl=url, **kwargs)
        assert error_of(error) == ("ClientError", "InvalidParameterValue", "InvalidParameterValueException", 400)
        assert error.response["Error"]["Message"] == message
        assert error.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-query-error"] == "InvalidParameterValue;Sender"

    invalid_body = failure(sqs.send_message, QueueUrl=url, MessageBody="nul \x00 here")
    assert error_of(invalid_body) == ("InvalidMessageContents", "InvalidMessageContents", "InvalidMessageContents", 400)
    empty_body = failure(unchecked.send_message, QueueUrl=url, MessageBody="")
    assert error_of(empty_body)[1] in ("MissingParameter", "InvalidParameterValue")
    receipt = failure(sqs.delete_message, QueueUrl=url, ReceiptHandle="not-a-receipt-handle")
    assert error_of(receipt) == ("ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", 400)
    visibility = failure(sqs.change_message_visibility, QueueUrl=url, ReceiptHandle="nope", VisibilityTimeout=10)
    assert error_of(visibility)[0] == "ReceiptHandleIsInvalid"
    bad_name = failure(sqs.create_queue, QueueName="has space")
    assert error_of(bad_name)[1] == "InvalidParameterValue"
    missing = failure(unchecked.get_queue_url)
    assert error_of(missing) == ("ClientError", "MissingParameter", "MissingRequiredParameterException", 400)
    assert missing.response["Error"]["Message"] == "The request must contain the parameter QueueName."
