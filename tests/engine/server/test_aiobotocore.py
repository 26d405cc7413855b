"""aiobotocore (what consumerkit itself uses) against a real ``consumerkit serve``: the key paths, and long polls.

The long-poll test holds 1,000 ``ReceiveMessage(WaitTimeSeconds=20)`` open at once against a server process of
its own, then checks that one message wakes exactly one of them. Knowing that the polls are parked needs a signal
from outside the server, which has no "parked receivers" counter on the wire. The test counts, through
aiobotocore's ``before-send`` event, that all 1,000 requests went to the HTTP layer, and reads the kernel's TCP
table (``/proc/net/tcp``, no psutil) until the server holds at least 1,000 established connections with no byte
left unacknowledged on the client side nor unread on the server side. A round trip of a separate small request
then shows that the server's event loop has got past what it read (it handles it in order). Only then does the
test check that none of the polls has returned, and send the message. What this cannot see is a connection made
whose request the client has not yet written: that lasts a couple of event-loop turns, which the polling outlasts,
and the central claim (one message wakes exactly one poll) holds whether or not such a straggler had parked yet.
"""

from __future__ import annotations

import asyncio
import resource
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from tests.engine.server.clients import ACCOUNT, md5_of_attributes, md5_of_body
from tests.engine.server.serving import Served, consumerkit_serve

POLLS = 1000
Established = Callable[[int], tuple[list[Any], list[Any]]]  # the ``established`` fixture of conftest.py


def client(url: str, region: str = "eu-west-1", **config: Any) -> Any:
    settings: dict[str, Any] = {"retries": {"total_max_attempts": 1}, "read_timeout": 40, "connect_timeout": 10}
    return get_session().create_client(
        "sqs",
        endpoint_url=url,
        region_name=region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=AioConfig(**{**settings, **config}),
    )


@pytest.fixture
async def sqs(served: Served, aws_env: None) -> AsyncIterator[Any]:
    async with client(served.url) as sqs:
        assert sqs.meta.service_model.protocol == "json"
        yield sqs


def body_of(reply: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in reply.items() if k != "ResponseMetadata"}


async def test_queue_and_message_round_trip(sqs: Any, served: Served) -> None:
    url = (await sqs.create_queue(QueueName="aio-jobs"))["QueueUrl"]
    assert url == f"{served.url}/{ACCOUNT}/aio-jobs"
    arn = (await sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"]))["Attributes"]["QueueArn"]
    assert arn == f"arn:aws:sqs:eu-west-1:{ACCOUNT}:aio-jobs"

    body = "aiobotocore ✓ 😀 𝄞"
    attributes = {
        "kind": {"DataType": "String", "StringValue": "ünïcode"},
        "n": {"DataType": "Number", "StringValue": "42"},
        "raw": {"DataType": "Binary", "BinaryValue": b"\x00\xff" * 64},
    }
    sent = body_of(await sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attributes))
    assert sent == {
        "MD5OfMessageBody": md5_of_body(body),
        "MD5OfMessageAttributes": md5_of_attributes(attributes),
        "MessageId": sent["MessageId"],
    }
    received = await sqs.receive_message(
        QueueUrl=url, WaitTimeSeconds=5, MessageAttributeNames=["All"], MessageSystemAttributeNames=["SenderId"]
    )
    (message,) = received["Messages"]
    assert message == {
        "MessageId": sent["MessageId"],
        "ReceiptHandle": message["ReceiptHandle"],
        "MD5OfBody": md5_of_body(body),
        "Body": body,
        "Attributes": {"SenderId": ACCOUNT},
        "MD5OfMessageAttributes": md5_of_attributes(attributes),
        "MessageAttributes": attributes,
    }
    assert body_of(await sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])) == {}
    assert "Messages" not in await sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
    assert body_of(await sqs.delete_queue(QueueUrl=url)) == {}


async def test_batch_with_a_failed_entry(sqs: Any) -> None:
    url = (await sqs.create_queue(QueueName="aio-batch"))["QueueUrl"]
    reply = body_of(
        await sqs.send_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": "ok", "MessageBody": "fine"},
                {"Id": "bad", "MessageBody": "x", "DelaySeconds": 901},
            ],
        )
    )
    assert reply == {
        "Successful": [
            {"Id": "ok", "MessageId": reply["Successful"][0]["MessageId"], "MD5OfMessageBody": md5_of_body("fine")}
        ],
        "Failed": [
            {
                "Id": "bad",
                "SenderFault": True,
                "Code": "InvalidParameterValue",
                "Message": "Value 901 for parameter DelaySeconds is invalid. Reason: Must be between 0 and 900, "
                "if provided.",
            }
        ],
    }


async def test_errors(sqs: Any, served: Served) -> None:
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as missing:
        await sqs.get_queue_url(QueueName="aio-no-such-queue")
    assert missing.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert missing.value.response["Error"]["QueryErrorCode"] == "QueueDoesNotExist"
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        await sqs.send_message(QueueUrl=f"{served.url}/{ACCOUNT}/aio-no-such-queue", MessageBody="x")

    url = (await sqs.create_queue(QueueName="aio-errors"))["QueueUrl"]
    with pytest.raises(ClientError) as too_many:
        await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=11)
    assert too_many.value.response["Error"]["Code"] == "InvalidParameterValue"
    await sqs.purge_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.PurgeQueueInProgress) as purge:
        await sqs.purge_queue(QueueUrl=url)
    assert purge.value.response["Error"]["Code"] == "AWS.SimpleQueueService.PurgeQueueInProgress"
    assert purge.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(sqs.exceptions.ResourceNotFoundException) as task:
        await sqs.cancel_message_move_task(TaskHandle="bm8tc3VjaC10YXNr")
    assert task.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


async def test_long_poll_returns_when_a_message_arrives(sqs: Any) -> None:
    url = (await sqs.create_queue(QueueName="aio-wait"))["QueueUrl"]
    poll = asyncio.create_task(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20))
    async with client(sqs.meta.endpoint_url) as sender:
        await sender.send_message(QueueUrl=url, MessageBody="wake up")
    reply = await asyncio.wait_for(poll, 10)  # well before the 20 s wait runs out
    assert [m["Body"] for m in reply["Messages"]] == ["wake up"]


# -- 1,000 long polls ---------------------------------------------------------------------------------------


@pytest.fixture
def crowd_server(aws_env: None) -> Iterator[Served]:
    """A server of its own, so that every connection to it belongs to this test; both ends need a file descriptor
    per poll, so the soft limit is raised (the server inherits it) where the machine's is lower."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * POLLS + 200
    if soft != resource.RLIM_INFINITY and soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            pytest.fail(f"{POLLS} long polls need {wanted} open files; the hard limit is {hard}", pytrace=False)
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    with consumerkit_serve("--backend", "memory://") as server:
        yield server
    assert server.process.returncode == 0


async def until(condition: Callable[[], bool], what: str, within: float = 30) -> None:
    """Poll a condition that has no event to wait on, with a deadline."""
    try:
        async with asyncio.timeout(within):
            while not condition():  # noqa: ASYNC110 - the kernel's TCP table sets no event
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out after {within} s waiting for {what}") from None


async def test_a_thousand_long_polls_one_message_wakes_exactly_one(
    crowd_server: Served, established: Established
) -> None:
    port = crowd_server.port
    sent: list[str] = []

    def all_requests_read() -> bool:
        server, client_side = established(port)
        return (
            len(sent) == POLLS
            and len(server) >= POLLS
            and all(s.rx_queue == 0 for s in server)
            and all(s.tx_queue == 0 for s in client_side)
        )

    async with (
        client(crowd_server.url) as control,
        client(crowd_server.url, max_pool_connections=POLLS + 10) as pollers,
    ):
        url = (await control.create_queue(QueueName="crowd"))["QueueUrl"]
        pollers.meta.events.register("before-send.sqs.ReceiveMessage", lambda **_: sent.append("sent"))
        polls = [
            asyncio.create_task(pollers.receive_message(QueueUrl=url, WaitTimeSeconds=20, MaxNumberOfMessages=1))
            for _ in range(POLLS)
        ]
        try:
            await until(all_requests_read, f"the server to read all {POLLS} long polls")
            counts = await control.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            assert counts["Attributes"] == {"ApproximateNumberOfMessages": "0"}
            assert not [p for p in polls if p.done()], "a long poll returned with no message to return"

            await control.send_message(QueueUrl=url, MessageBody="the one")
            done, _ = await asyncio.wait(polls, timeout=10, return_when=asyncio.FIRST_COMPLETED)
            assert len(done) == 1
            (winner,) = done
            assert [m["Body"] for m in winner.result()["Messages"]] == ["the one"]

            # the server has answered two more requests since: any other poll it woke would have replied by now
            for _ in range(2):
                counts = await control.get_queue_attributes(
                    QueueUrl=url,
                    AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                )
                assert counts["Attributes"] == {
                    "ApproximateNumberOfMessages": "0",
                    "ApproximateNumberOfMessagesNotVisible": "1",
                }
            assert [p for p in polls if p.done()] == [winner], "a message woke more than one long poll"

            # three more messages wake exactly three more, one message each
            await control.send_message_batch(
                QueueUrl=url, Entries=[{"Id": f"m{i}", "MessageBody": f"more {i}"} for i in range(3)]
            )
            waiting = [p for p in polls if p is not winner]
            woken: set[asyncio.Task[Any]] = set()
            while len(woken) < 3:
                done, _ = await asyncio.wait(
                    [p for p in waiting if p not in woken], timeout=10, return_when=asyncio.FIRST_COMPLETED
                )
                assert done, "a sent message did not wake a parked long poll"
                woken |= done
            await control.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            assert len([p for p in polls if p.done()]) == 4
            bodies = sorted(m["Body"] for p in woken for m in p.result()["Messages"])
            assert bodies == ["more 0", "more 1", "more 2"]
        finally:
            for poll in polls:
                poll.cancel()
            await asyncio.gather(*polls, return_exceptions=True)

    # the clients are gone: the server lets go of their connections and goes on serving
    await until(lambda: len(established(port)[0]) == 0, "the server to close the abandoned connections")
    async with client(crowd_server.url) as after:
        assert "Messages" not in await after.receive_message(QueueUrl=url, WaitTimeSeconds=0)
    assert crowd_server.process.poll() is None
