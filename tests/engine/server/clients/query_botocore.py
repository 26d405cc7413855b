"""All 23 SQS operations through a botocore from before SQS moved to JSON (1.34.89: the query protocol).

Run as ``PYTHONPATH=<dir with botocore 1.34.89> python query_botocore.py URL``. It prints one JSON document, the
summary ``test_clients.py`` asserts on: what each call returned (bytes as base64) and every error as botocore
parsed it. It checks nothing itself beyond what botocore checks (the MD5s of bodies and attributes), so a
failure shows up as a precise difference in the test, not as a traceback here. The ``wire`` part records every
request as sent, to prove that each operation really went over the query protocol.
"""

from __future__ import annotations

import base64
import json
import sys
from typing import Any
from urllib.parse import parse_qs

import botocore
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

wire: list[dict[str, Any]] = []


def record_request(request: Any, **_: Any) -> None:
    """botocore's before-send event: note how each request went out."""
    headers = {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
    body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
    form = parse_qs(body.decode(), keep_blank_values=True)
    wire.append(
        {
            "content_type": headers.get("content-type"),
            "target": headers.get("x-amz-target"),
            "action": form.get("Action", [None])[0],
            "version": form.get("Version", [None])[0],
        }
    )


def plain(value: Any) -> Any:
    """A botocore reply as JSON can hold it, without ResponseMetadata."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode()}
    return value


def failure(call: Any, **kwargs: Any) -> dict[str, Any]:
    """Make a call that must fail; return how botocore saw the error (or the reply, if it did not fail)."""
    try:
        reply = call(**kwargs)
    except ClientError as error:
        return {
            "exception": type(error).__name__,
            "code": error.response["Error"].get("Code"),
            "type": error.response["Error"].get("Type"),
            "message": error.response["Error"].get("Message"),
            "status": error.response["ResponseMetadata"]["HTTPStatusCode"],
        }
    return {"unexpected_success": plain(reply)}


def main(url: str) -> dict[str, Any]:
    session = botocore.session.get_session()
    sqs = session.create_client(
        "sqs",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=30, connect_timeout=5),
    )
    sqs.meta.events.register("before-send.sqs", record_request)
    out: dict[str, Any] = {
        "botocore": botocore.__version__,
        "protocol": sqs.meta.service_model.protocol,
        "operations": sorted(sqs.meta.service_model.operation_names),
    }

    # -- queues, attributes, tags, permissions
    dlq = sqs.create_queue(QueueName="q-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    jobs = sqs.create_queue(
        QueueName="q-jobs", Attributes={"VisibilityTimeout": "45", "DelaySeconds": "0"}, tags={"team": "billing"}
    )["QueueUrl"]
    out["create_queue"] = {"dlq": dlq, "jobs": jobs}
    out["create_queue_again"] = sqs.create_queue(QueueName="q-jobs", Attributes={"VisibilityTimeout": "45"})["QueueUrl"]
    out["create_queue_conflict"] = failure(sqs.create_queue, QueueName="q-jobs", Attributes={"VisibilityTimeout": "46"})
    out["get_queue_url"] = sqs.get_queue_url(QueueName="q-jobs")["QueueUrl"]
    out["list_queues"] = plain(sqs.list_queues(QueueNamePrefix="q-"))
    out["list_queues_page"] = plain(sqs.list_queues(QueueNamePrefix="q-", MaxResults=1))
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    out["set_queue_attributes"] = plain(
        sqs.set_queue_attributes(QueueUrl=jobs, Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": "40"})
    )
    out["get_queue_attributes"] = plain(sqs.get_queue_attributes(QueueUrl=jobs, AttributeNames=["All"]))
    out["get_queue_attributes_some"] = plain(
        sqs.get_queue_attributes(QueueUrl=jobs, AttributeNames=["VisibilityTimeout", "RedrivePolicy"])
    )
    out["list_dead_letter_source_queues"] = plain(sqs.list_dead_letter_source_queues(QueueUrl=dlq))
    sqs.tag_queue(QueueUrl=jobs, Tags={"env": "test", "cost-centre": "42"})
    out["tags_after_tag"] = plain(sqs.list_queue_tags(QueueUrl=jobs))
    sqs.untag_queue(QueueUrl=jobs, TagKeys=["team"])
    out["tags_after_untag"] = plain(sqs.list_queue_tags(QueueUrl=jobs))
    out["add_permission"] = plain(
        sqs.add_permission(
            QueueUrl=jobs,
            Label="share",
            AWSAccountIds=["111122223333", "444455556666"],
            Actions=["SendMessage", "ReceiveMessage"],
        )
    )
    out["policy"] = sqs.get_queue_attributes(QueueUrl=jobs, AttributeNames=["Policy"]).get("Attributes", {})
    out["remove_permission"] = plain(sqs.remove_permission(QueueUrl=jobs, Label="share"))
    out["policy_after_remove"] = sqs.get_queue_attributes(QueueUrl=jobs, AttributeNames=["Policy"]).get(
        "Attributes", {}
    )

    # -- messages with attributes of every type (botocore checks the MD5s of body and attributes)
    attributes = {
        "kind": {"DataType": "String", "StringValue": "invoice ✓"},
        "amount": {"DataType": "Number", "StringValue": "-12.50"},
        "count": {"DataType": "Number.int", "StringValue": "7"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xfe\xff"},
    }
    body = "Grüße <&> 😀 \r\n\t"
    out["send_message"] = plain(sqs.send_message(QueueUrl=jobs, MessageBody=body, MessageAttributes=attributes))
    received = sqs.receive_message(
        QueueUrl=jobs,
        MaxNumberOfMessages=10,
        WaitTimeSeconds=1,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
        VisibilityTimeout=30,
    )
    out["receive_message"] = plain(received)
    handle = received["Messages"][0]["ReceiptHandle"]
    out["change_message_visibility"] = plain(
        sqs.change_message_visibility(QueueUrl=jobs, ReceiptHandle=handle, VisibilityTimeout=60)
    )
    out["delete_message"] = plain(sqs.delete_message(QueueUrl=jobs, ReceiptHandle=handle))

    # -- batches, each with one entry that fails on its own
    out["send_message_batch"] = plain(
        sqs.send_message_batch(
            QueueUrl=jobs,
            Entries=[
                {
                    "Id": "a",
                    "MessageBody": "first",
                    "MessageAttributes": {"n": {"DataType": "Number", "StringValue": "1"}},
                },
                {"Id": "b", "MessageBody": "second"},
                {"Id": "late", "MessageBody": "too late", "DelaySeconds": 901},
            ],
        )
    )
    batch = sqs.receive_message(QueueUrl=jobs, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["n"])
    while len(batch.get("Messages", [])) < 2:  # a receive may return fewer than are there, as on SQS
        more = sqs.receive_message(QueueUrl=jobs, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        batch.setdefault("Messages", []).extend(more.get("Messages", []))
    out["receive_batch_bodies"] = sorted(m["Body"] for m in batch["Messages"])
    handles = {m["Body"]: m["ReceiptHandle"] for m in batch["Messages"]}
    out["change_message_visibility_batch"] = plain(
        sqs.change_message_visibility_batch(
            QueueUrl=jobs,
            Entries=[
                {"Id": "a", "ReceiptHandle": handles["first"], "VisibilityTimeout": 120},
                {"Id": "bad", "ReceiptHandle": "not-a-receipt-handle", "VisibilityTimeout": 10},
            ],
        )
    )
    out["delete_message_batch"] = plain(
        sqs.delete_message_batch(
            QueueUrl=jobs,
            Entries=[
                {"Id": "a", "ReceiptHandle": handles["first"]},
                {"Id": "b", "ReceiptHandle": handles["second"]},
                {"Id": "bad", "ReceiptHandle": "not-a-receipt-handle"},
            ],
        )
    )
    out["batch_ids_not_distinct"] = failure(
        sqs.send_message_batch,
        QueueUrl=jobs,
        Entries=[{"Id": "x", "MessageBody": "1"}, {"Id": "x", "MessageBody": "2"}],
    )
    out["batch_too_many"] = failure(
        sqs.send_message_batch, QueueUrl=jobs, Entries=[{"Id": f"e{i}", "MessageBody": "m"} for i in range(11)]
    )

    # -- FIFO
    fifo = sqs.create_queue(
        QueueName="q-orders.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    out["fifo_send"] = [
        plain(sqs.send_message(QueueUrl=fifo, MessageBody=f"order-{n}", MessageGroupId="customer-1")) for n in (1, 2)
    ]
    out["fifo_duplicate"] = plain(sqs.send_message(QueueUrl=fifo, MessageBody="order-1", MessageGroupId="customer-1"))
    out["fifo_receive"] = plain(
        sqs.receive_message(
            QueueUrl=fifo, MaxNumberOfMessages=10, AttributeNames=["All"], ReceiveRequestAttemptId="attempt-1"
        )
    )
    out["fifo_missing_group"] = failure(sqs.send_message, QueueUrl=fifo, MessageBody="no group")

    # -- dead-letter redrive: maxReceiveCount 1, so the second receive moves the message to the DLQ
    for n in range(3):
        sqs.send_message(QueueUrl=jobs, MessageBody=f"poison-{n}")
    seen = 0
    while seen < 3:
        got = sqs.receive_message(QueueUrl=jobs, MaxNumberOfMessages=10, VisibilityTimeout=0)
        seen += len(got.get("Messages", []))
    out["jobs_after_redrive"] = sqs.receive_message(QueueUrl=jobs, MaxNumberOfMessages=10).get("Messages", [])
    dlq_counts = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
    out["dlq_count"] = dlq_counts["Attributes"]["ApproximateNumberOfMessages"]
    task = sqs.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=1)
    out["start_message_move_task"] = plain(task)
    out["start_second_task"] = failure(sqs.start_message_move_task, SourceArn=dlq_arn)
    out["list_message_move_tasks"] = plain(sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10))
    out["cancel_message_move_task"] = plain(sqs.cancel_message_move_task(TaskHandle=task["TaskHandle"]))
    out["list_after_cancel"] = plain(sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10))
    out["cancel_unknown_task"] = failure(sqs.cancel_message_move_task, TaskHandle="bm8tc3VjaC10YXNr")
    out["move_from_non_dlq"] = failure(sqs.start_message_move_task, SourceArn=dlq_arn.replace("q-dlq", "q-nothing"))

    # -- purge, delete, and the errors clients match on
    out["purge_queue"] = plain(sqs.purge_queue(QueueUrl=jobs))
    out["purge_again"] = failure(sqs.purge_queue, QueueUrl=jobs)
    out["missing_queue"] = failure(sqs.get_queue_url, QueueName="q-no-such-queue")
    out["send_to_missing_queue"] = failure(
        sqs.send_message, QueueUrl=url + "/000000000000/q-no-such-queue", MessageBody="x"
    )
    out["too_many_messages"] = failure(sqs.receive_message, QueueUrl=jobs, MaxNumberOfMessages=11)
    out["wait_too_long"] = failure(sqs.receive_message, QueueUrl=jobs, WaitTimeSeconds=21)
    out["unknown_attribute"] = failure(sqs.get_queue_attributes, QueueUrl=jobs, AttributeNames=["NoSuchAttribute"])
    out["invalid_receipt"] = failure(sqs.delete_message, QueueUrl=jobs, ReceiptHandle="not-a-receipt-handle")
    out["invalid_body"] = failure(sqs.send_message, QueueUrl=jobs, MessageBody="bell \x07")
    out["too_many_actions"] = failure(
        sqs.add_permission,
        QueueUrl=jobs,
        Label="wide",
        AWSAccountIds=["111122223333"],
        Actions=[
            "SendMessage",
            "ReceiveMessage",
            "DeleteMessage",
            "ChangeMessageVisibility",
            "GetQueueAttributes",
            "GetQueueUrl",
            "ListDeadLetterSourceQueues",
            "PurgeQueue",
        ],
    )
    out["delete_queue"] = plain(sqs.delete_queue(QueueUrl=fifo))
    out["deleted_queue_url"] = failure(sqs.get_queue_url, QueueName="q-orders.fifo")
    out["wire"] = wire
    return out


if __name__ == "__main__":
    json.dump(main(sys.argv[1]), sys.stdout, indent=1, sort_keys=True)
