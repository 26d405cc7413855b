"""Real clients in their own processes against a real ``consumerkit serve``, as users will run them.

- botocore 1.34.89, the last release that speaks SQS's legacy **query** protocol (form in, XML out), through all
  23 operations (``clients/query_botocore.py`` prints a summary, asserted on here);
- the AWS CLI (``awscli`` on PyPI, JSON protocol through the botocore it pins) for the everyday commands;
- the JavaScript SDK v3 (``@aws-sdk/client-sqs``, JSON protocol) for a smoke test (``clients/node_sdk.mjs``).

``make test`` installs all three into the venv (``.venv/clients``) before pytest runs; nothing here needs the
network. A missing client fails the test with the command to run, rather than skipping it.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from typing import Any

import pytest

from tests.engine.server.clients import (
    ACCOUNT,
    AWSCLI,
    BOTOCORE_QUERY,
    HERE,
    NODE,
    client_env,
    installed,
    md5_of_attributes,
    md5_of_body,
    run_json,
)
from tests.engine.server.serving import Served

FORM = "application/x-www-form-urlencoded; charset=utf-8"
OPERATIONS = {
    "AddPermission",
    "CancelMessageMoveTask",
    "ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch",
    "CreateQueue",
    "DeleteMessage",
    "DeleteMessageBatch",
    "DeleteQueue",
    "GetQueueAttributes",
    "GetQueueUrl",
    "ListDeadLetterSourceQueues",
    "ListMessageMoveTasks",
    "ListQueueTags",
    "ListQueues",
    "PurgeQueue",
    "ReceiveMessage",
    "RemovePermission",
    "SendMessage",
    "SendMessageBatch",
    "SetQueueAttributes",
    "StartMessageMoveTask",
    "TagQueue",
    "UntagQueue",
}


# -- botocore 1.34.89: the query protocol ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def query(served: Served) -> dict[str, Any]:
    """What clients/query_botocore.py saw, calling all 23 operations over the query protocol."""
    path = installed(BOTOCORE_QUERY / "botocore", "botocore 1.34.89 (query protocol)")
    return run_json(
        [sys.executable, str(HERE / "query_botocore.py"), served.url],
        client_env(PYTHONPATH=str(path.parent)),
    )


def queue_url(served: Served, name: str) -> str:
    return f"{served.url}/{ACCOUNT}/{name}"


def arn(name: str, region: str = "us-east-1") -> str:
    return f"arn:aws:sqs:{region}:{ACCOUNT}:{name}"


def test_old_botocore_sends_every_operation_as_a_query_form(query: dict[str, Any]) -> None:
    assert query["botocore"] == "1.34.89"
    assert query["protocol"] == "query"
    assert set(query["operations"]) == OPERATIONS
    wire = query["wire"]
    assert {request["action"] for request in wire} == OPERATIONS
    assert all(request["content_type"] == FORM for request in wire), wire
    assert all(request["target"] is None and request["version"] == "2012-11-05" for request in wire)


def test_query_queues_attributes_tags_permissions(query: dict[str, Any], served: Served) -> None:
    jobs, dlq = queue_url(served, "q-jobs"), queue_url(served, "q-dlq")
    assert query["create_queue"] == {"dlq": dlq, "jobs": jobs}
    assert query["create_queue_again"] == jobs
    assert query["get_queue_url"] == jobs
    assert query["list_queues"] == {"QueueUrls": [dlq, jobs]}
    assert query["list_queues_page"] == {"QueueUrls": [dlq], "NextToken": query["list_queues_page"]["NextToken"]}
    assert query["list_queues_page"]["NextToken"]
    for empty in ("set_queue_attributes", "add_permission", "remove_permission", "delete_queue", "purge_queue"):
        assert query[empty] == {}, empty

    redrive = {"deadLetterTargetArn": arn("q-dlq"), "maxReceiveCount": 1}
    attributes = query["get_queue_attributes"]["Attributes"]
    assert json.loads(attributes.pop("RedrivePolicy")) == redrive
    assert attributes["CreatedTimestamp"].isdigit() and attributes["LastModifiedTimestamp"].isdigit()
    assert {k: v for k, v in attributes.items() if not k.endswith("Timestamp")} == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesDelayed": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
        "DelaySeconds": "0",
        "MaximumMessageSize": "1048576",
        "MessageRetentionPeriod": "345600",
        "QueueArn": arn("q-jobs"),
        "ReceiveMessageWaitTimeSeconds": "0",
        "SqsManagedSseEnabled": "true",
        "VisibilityTimeout": "40",
    }
    some = query["get_queue_attributes_some"]["Attributes"]
    assert some.keys() == {"VisibilityTimeout", "RedrivePolicy"}
    assert some["VisibilityTimeout"] == "40"
    assert json.loads(some["RedrivePolicy"]) == redrive
    assert query["list_dead_letter_source_queues"] == {"queueUrls": [jobs]}

    assert query["tags_after_tag"] == {"Tags": {"team": "billing", "env": "test", "cost-centre": "42"}}
    assert query["tags_after_untag"] == {"Tags": {"env": "test", "cost-centre": "42"}}
    (statement,) = json.loads(query["policy"]["Policy"])["Statement"]
    assert statement == {
        "Sid": "share",
        "Effect": "Allow",
        "Principal": {"AWS": ["arn:aws:iam::111122223333:root", "arn:aws:iam::444455556666:root"]},
        "Action": ["SQS:SendMessage", "SQS:ReceiveMessage"],
        "Resource": arn("q-jobs"),
    }
    assert query["policy_after_remove"] == {}


def decoded(attributes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Message attributes as the summary carries them (bytes as {"base64": ...}) back to botocore's values."""
    out = {}
    for name, value in attributes.items():
        value = dict(value)
        if "BinaryValue" in value:
            value["BinaryValue"] = base64.b64decode(value["BinaryValue"]["base64"])
        out[name] = value
    return out


def test_query_messages_with_attributes_of_every_type(query: dict[str, Any]) -> None:
    body = "Grüße <&> 😀 \r\n\t"  # what the script sent; XML must keep the \r and the markup characters
    attributes = {
        "kind": {"DataType": "String", "StringValue": "invoice ✓"},
        "amount": {"DataType": "Number", "StringValue": "-12.50"},
        "count": {"DataType": "Number.int", "StringValue": "7"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xfe\xff"},
    }
    sent = query["send_message"]
    assert sent == {
        "MD5OfMessageBody": md5_of_body(body),
        "MD5OfMessageAttributes": md5_of_attributes(attributes),
        "MessageId": sent["MessageId"],
    }
    (message,) = query["receive_message"]["Messages"]
    assert message.pop("ReceiptHandle")
    assert decoded(message.pop("MessageAttributes")) == attributes
    system = message.pop("Attributes")
    assert system.keys() == {"SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"}
    assert system["SenderId"] == ACCOUNT and system["ApproximateReceiveCount"] == "1"
    assert message == {
        "MessageId": sent["MessageId"],
        "MD5OfBody": md5_of_body(body),
        "Body": body,
        "MD5OfMessageAttributes": md5_of_attributes(attributes),
    }
    assert query["change_message_visibility"] == {} and query["delete_message"] == {}


def test_query_batches_report_failures_per_entry(query: dict[str, Any]) -> None:
    number = {"n": {"DataType": "Number", "StringValue": "1"}}
    batch = query["send_message_batch"]
    assert [entry["Id"] for entry in batch["Successful"]] == ["a", "b"]
    first, second = batch["Successful"]
    assert first["MD5OfMessageBody"] == md5_of_body("first")
    assert first["MD5OfMessageAttributes"] == md5_of_attributes(number)
    assert second.keys() == {"Id", "MessageId", "MD5OfMessageBody"}
    assert second["MD5OfMessageBody"] == md5_of_body("second")
    assert batch["Failed"] == [
        {
            "Id": "late",
            "SenderFault": True,  # an XML "true" that botocore turned into a boolean
            "Code": "InvalidParameterValue",
            "Message": "Value 901 for parameter DelaySeconds is invalid. Reason: Must be between 0 and 900, "
            "if provided.",
        }
    ]
    assert query["receive_batch_bodies"] == ["first", "second"]
    invalid = {
        "Id": "bad",
        "SenderFault": True,
        "Code": "ReceiptHandleIsInvalid",
        "Message": 'The input receipt handle "not-a-receipt-handle" is not a valid receipt handle.',
    }
    assert query["change_message_visibility_batch"] == {"Successful": [{"Id": "a"}], "Failed": [invalid]}
    assert query["delete_message_batch"] == {"Successful": [{"Id": "a"}, {"Id": "b"}], "Failed": [invalid]}


def test_query_fifo(query: dict[str, Any]) -> None:
    first, second = query["fifo_send"]
    for reply, body in ((first, "order-1"), (second, "order-2")):
        assert reply.keys() == {"MD5OfMessageBody", "MessageId", "SequenceNumber"}
        assert reply["MD5OfMessageBody"] == md5_of_body(body)
    assert int(first["SequenceNumber"]) < int(second["SequenceNumber"])
    assert query["fifo_duplicate"] == first
    messages = query["fifo_receive"]["Messages"]
    assert [m["Body"] for m in messages] == ["order-1", "order-2"]
    for message, sent in zip(messages, (first, second), strict=True):
        assert message["MessageId"] == sent["MessageId"]
        assert message["Attributes"]["MessageGroupId"] == "customer-1"
        assert message["Attributes"]["SequenceNumber"] == sent["SequenceNumber"]
        assert len(message["Attributes"]["MessageDeduplicationId"]) == 64  # SHA-256 of the body


def test_query_redrive_and_move_tasks(query: dict[str, Any]) -> None:
    assert query["jobs_after_redrive"] == []
    assert query["dlq_count"] == "3"
    handle = query["start_message_move_task"]["TaskHandle"]
    assert handle
    (running,) = query["list_message_move_tasks"]["Results"]
    assert running == {
        "TaskHandle": handle,
        "Status": "RUNNING",
        "SourceArn": arn("q-dlq"),
        "MaxNumberOfMessagesPerSecond": 1,
        "ApproximateNumberOfMessagesMoved": running["ApproximateNumberOfMessagesMoved"],
        "ApproximateNumberOfMessagesToMove": 3,
        "StartedTimestamp": running["StartedTimestamp"],
    }
    assert isinstance(running["StartedTimestamp"], int)  # XML text that botocore read as a long
    moved = query["cancel_message_move_task"]["ApproximateNumberOfMessagesMoved"]
    assert moved in range(4)
    (cancelled,) = query["list_after_cancel"]["Results"]
    assert cancelled["Status"] in ("CANCELLING", "CANCELLED")
    assert "TaskHandle" not in cancelled


ERRORS = {
    # summary key: (botocore exception, Error.Code, HTTP status, message or None)
    "create_queue_conflict": ("QueueNameExists", "QueueAlreadyExists", 400, None),
    "missing_queue": (
        "QueueDoesNotExist",
        "AWS.SimpleQueueService.NonExistentQueue",
        400,
        "The specified queue does not exist for this wsdl version.",
    ),
    "send_to_missing_queue": ("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", 400, None),
    "deleted_queue_url": ("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", 400, None),
    "too_many_messages": (
        "ClientError",
        "InvalidParameterValue",
        400,
        "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.",
    ),
    "wait_too_long": ("ClientError", "InvalidParameterValue", 400, None),
    "unknown_attribute": ("InvalidAttributeName", "InvalidAttributeName", 400, "Unknown Attribute NoSuchAttribute."),
    "invalid_receipt": ("ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", 400, None),
    "invalid_body": ("InvalidMessageContents", "InvalidMessageContents", 400, None),
    "too_many_actions": ("OverLimit", "OverLimit", 403, "8 Actions were found, maximum allowed is 7."),
    "purge_again": (
        "PurgeQueueInProgress",
        "AWS.SimpleQueueService.PurgeQueueInProgress",
        403,
        "Only one PurgeQueue operation on q-jobs is allowed every 60 seconds.",
    ),
    "batch_ids_not_distinct": (
        "BatchEntryIdsNotDistinct",
        "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        400,
        None,
    ),
    "batch_too_many": (
        "TooManyEntriesInBatchRequest",
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        400,
        "Maximum number of entries per request are 10. You have sent 11.",
    ),
    "fifo_missing_group": (
        "ClientError",
        "MissingParameter",
        400,
        "The request must contain the parameter MessageGroupId.",
    ),
    "start_second_task": ("ClientError", "InvalidParameterValue", 400, None),
    "cancel_unknown_task": ("ResourceNotFoundException", "ResourceNotFoundException", 404, None),
    "move_from_non_dlq": ("ResourceNotFoundException", "ResourceNotFoundException", 404, None),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_query_errors(query: dict[str, Any], case: str) -> None:
    exception, code, status, message = ERRORS[case]
    seen = query[case]
    assert "unexpected_success" not in seen, seen
    assert (seen["exception"], seen["code"], seen["status"], seen["type"]) == (exception, code, status, "Sender")
    if message is not None:
        assert seen["message"] == message


# -- the AWS CLI ---------------------------------------------------------------------------------------------


def test_aws_cli(served: Served) -> None:
    path = installed(AWSCLI / "awscli", "the AWS CLI")
    env = client_env(PYTHONPATH=str(path.parent))

    def aws(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "awscli", "--endpoint-url", served.url, "--output", "json", "sqs", *args]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
        assert (done.returncode == 0) == ok, (args, done.returncode, done.stderr[-2000:])
        return done

    def aws_json(*args: str) -> Any:
        out = aws(*args).stdout
        return json.loads(out) if out.strip() else None

    url = queue_url(served, "cli-jobs")
    assert aws_json("create-queue", "--queue-name", "cli-jobs", "--attributes", "VisibilityTimeout=50") == {
        "QueueUrl": url
    }
    attributes = {"kind": {"DataType": "String", "StringValue": "cli ✓"}}
    body = "from the AWS CLI: 😀"
    sent = aws_json(
        "send-message", "--queue-url", url, "--message-body", body, "--message-attributes", json.dumps(attributes)
    )
    assert sent == {
        "MD5OfMessageBody": md5_of_body(body),
        "MD5OfMessageAttributes": md5_of_attributes(attributes),
        "MessageId": sent["MessageId"],
    }
    received = aws_json(
        "receive-message",
        "--queue-url",
        url,
        "--wait-time-seconds",
        "5",
        "--message-attribute-names",
        "All",
        "--attribute-names",
        "ApproximateReceiveCount",
    )
    (message,) = received["Messages"]
    assert message == {
        "MessageId": sent["MessageId"],
        "ReceiptHandle": message["ReceiptHandle"],
        "MD5OfBody": md5_of_body(body),
        "Body": body,
        "Attributes": {"ApproximateReceiveCount": "1"},
        "MD5OfMessageAttributes": md5_of_attributes(attributes),
        "MessageAttributes": attributes,
    }
    assert aws_json("delete-message", "--queue-url", url, "--receipt-handle", message["ReceiptHandle"]) is None
    counts = aws_json("get-queue-attributes", "--queue-url", url, "--attribute-names", "All")["Attributes"]
    assert counts["ApproximateNumberOfMessages"] == "0"
    assert counts["ApproximateNumberOfMessagesNotVisible"] == "0"
    assert counts["VisibilityTimeout"] == "50"
    assert counts["QueueArn"] == arn("cli-jobs")  # the region comes from AWS_DEFAULT_REGION, via the signature
    assert url in aws_json("list-queues", "--queue-name-prefix", "cli-")["QueueUrls"]
    missing = aws("get-queue-url", "--queue-name", "cli-no-such-queue", ok=False)
    assert "An error occurred (AWS.SimpleQueueService.NonExistentQueue) when calling the GetQueueUrl operation: " in (
        missing.stderr
    )


# -- the JavaScript SDK v3 -----------------------------------------------------------------------------------


def test_node_sdk(served: Served) -> None:
    installed(NODE / "node_modules" / "@aws-sdk" / "client-sqs", "@aws-sdk/client-sqs (JavaScript SDK v3)")
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH: the JavaScript SDK test needs Node.js (v20 or later)", pytrace=False)
    out = run_json(["node", str(HERE / "node_sdk.mjs"), served.url, str(NODE)], client_env())
    url = queue_url(served, "node-jobs")
    assert out["queue_url"] == url and out["get_queue_url"] == url
    assert out["queue_arn"] == arn("node-jobs", "eu-central-1")
    body = "hello from node ✓ 🚀"
    assert out["send"]["MD5OfMessageBody"] == md5_of_body(body)  # the SDK checks it too, and would have thrown
    assert out["receive"] == [
        {
            "MessageId": out["send"]["MessageId"],
            "Body": body,
            "MD5OfBody": md5_of_body(body),
            "ReceiveCount": "1",
            "kind": "greeting",
            "blob": [0, 1, 254, 255],
        }
    ]
    assert out["after_delete"] == []
    no_queue = {
        "name": "QueueDoesNotExist",
        "code": "AWS.SimpleQueueService.NonExistentQueue",
        "type": "Sender",
        "status": 400,
        "message": "The specified queue does not exist.",
    }
    assert out["missing_queue"] == no_queue
    assert out["deleted"] == no_queue
    assert out["too_many_messages"]["code"] == "InvalidParameterValue"
    assert out["too_many_messages"]["status"] == 400
