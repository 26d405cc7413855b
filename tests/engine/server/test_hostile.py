"""Hostile and broken input over raw sockets: each gets a clear 4xx in the caller's protocol, and the server goes on.

Raw sockets, because SDKs cannot send most of this. A request with an ``X-Amz-Target`` header is answered in AWS
JSON (``__type`` in the body, the legacy code in ``x-amzn-query-error``); any other in the query protocol (an XML
``ErrorResponse``). After every test, ``keeps_serving`` makes one normal call in each protocol.

The server has no command-line flag for its body timeout (``ServerConfig.body_timeout``, 60 s), so the served
process is only shown to keep serving others while one client stalls; the timeout itself (408 RequestTimeout) is
tested on the same server class run in-process with a short timeout.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web

from consumerkit.engine import Engine
from consumerkit.engine.server import ServerConfig, SqsServer
from consumerkit.engine.server.serve import SHUTDOWN_GRACE
from tests.engine.server.serving import Served, consumerkit_serve

JSON_TYPE = "application/x-amz-json-1.0"
FORM_TYPE = "application/x-www-form-urlencoded"
NS = {"sqs": "http://queue.amazonaws.com/doc/2012-11-05/"}
MAX_BODY = 8 * 1024 * 1024  # the server's default cap on a request body
Established = Callable[[int], tuple[list[Any], list[Any]]]  # the ``established`` fixture of conftest.py


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json_error(self) -> tuple[str, str]:
        """(``__type`` shape, ``x-amzn-query-error``) of an AWS JSON error reply, checked for its form."""
        assert 400 <= self.status < 500, self
        assert self.headers["content-type"] == JSON_TYPE, self
        document = json.loads(self.body)
        assert document.keys() == {"__type", "message"}, document
        assert document["__type"].startswith("com.amazonaws.sqs#"), document
        assert isinstance(document["message"], str) and document["message"], document
        return document["__type"].removeprefix("com.amazonaws.sqs#"), self.headers["x-amzn-query-error"]

    def query_error(self) -> str:
        """The ``Code`` of a query-protocol XML error reply, checked for its form."""
        assert 400 <= self.status < 500, self
        assert self.headers["content-type"] == "text/xml", self
        root = ET.fromstring(self.body)
        assert root.tag == f"{{{NS['sqs']}}}ErrorResponse", self.body
        assert root.findtext("sqs:Error/sqs:Type", namespaces=NS) == "Sender"
        assert root.findtext("sqs:Error/sqs:Message", namespaces=NS)
        assert root.findtext("sqs:RequestId", namespaces=NS)
        return root.findtext("sqs:Error/sqs:Code", namespaces=NS) or ""


def read_reply(sock: socket.socket) -> Reply:
    """One HTTP response from a socket: status line, headers, and a body of Content-Length bytes."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before a complete reply: {data[:200]!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return Reply(int(status_line.split()[1]), headers, body)


def exchange(port: int, raw: bytes, timeout: float = 10) -> Reply:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        return read_reply(sock)


def request(port: int, body: bytes, headers: dict[str, str], *, length: int | None = None, path: str = "/") -> bytes:
    """A POST, as bytes; ``length`` announces a Content-Length other than the body's."""
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if "Transfer-Encoding" not in headers:
        lines.append(f"Content-Length: {len(body) if length is None else length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def json_request(port: int, target: str | None, body: bytes, **kwargs: Any) -> bytes:
    headers = {"Content-Type": JSON_TYPE}
    if target is not None:
        headers["X-Amz-Target"] = target
    return request(port, body, headers, **kwargs)


def query_request(port: int, body: bytes, **kwargs: Any) -> bytes:
    return request(port, body, {"Content-Type": FORM_TYPE}, **kwargs)


def call_json(port: int, operation: str, members: dict[str, Any]) -> Reply:
    return exchange(port, json_request(port, f"AmazonSQS.{operation}", json.dumps(members).encode()))


@pytest.fixture(autouse=True)
def keeps_serving(served: Served) -> Iterator[None]:
    yield
    assert served.process.poll() is None, "the server died"
    listed = call_json(served.port, "ListQueues", {})
    assert listed.status == 200 and isinstance(json.loads(listed.body), dict), listed
    queried = exchange(served.port, query_request(served.port, b"Action=ListQueues&Version=2012-11-05"))
    assert queried.status == 200 and ET.fromstring(queried.body).tag == f"{{{NS['sqs']}}}ListQueuesResponse"


@pytest.fixture(scope="module")
def queue_url(served: Served) -> str:
    reply = call_json(served.port, "CreateQueue", {"QueueName": "hostile"})
    assert reply.status == 200, reply
    url: str = json.loads(reply.body)["QueueUrl"]
    return url


# -- AWS JSON ---------------------------------------------------------------------------------------------------

NOT_JSON = {
    "truncated": b'{"QueueNamePrefix": "x"',
    "trailing garbage": b'{"QueueNamePrefix": "x"} x',
    "single quotes": b"{'QueueNamePrefix': 'x'}",
    "invalid UTF-8": b'{"QueueNamePrefix": "\xff\xfe"}',
    "nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
    "object nested 50,000 deep": b'{"QueueNamePrefix": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001,
    "an integer of 5,000 digits": b'{"MaxResults": 1' + b"0" * 5000 + b"}",
}


@pytest.mark.parametrize("body", NOT_JSON.values(), ids=NOT_JSON.keys())
def test_body_that_is_not_json(served: Served, body: bytes) -> None:
    reply = exchange(served.port, json_request(served.port, "AmazonSQS.ListQueues", body))
    assert reply.status == 400
    assert reply.json_error() == ("SerializationException", "SerializationException;Sender")


@pytest.mark.parametrize("body", [b"[]", b'"ListQueues"', b"42", b"null", b"true"])
def test_json_that_is_not_an_object(served: Served, body: bytes) -> None:
    reply = exchange(served.port, json_request(served.port, "AmazonSQS.ListQueues", body))
    assert reply.status == 400
    assert reply.json_error() == ("SerializationException", "SerializationException;Sender")
    assert b"must be a JSON object" in reply.body


WRONG_TYPES = [
    ("CreateQueue", {"QueueName": 123}, "Value 123 for parameter QueueName is invalid. Reason: must be a string."),
    (
        "GetQueueUrl",
        {"QueueName": ["a"]},
        "Value [...] for parameter QueueName is invalid. Reason: must be a string.",
    ),
    ("ReceiveMessage", {"QueueUrl": 5}, "Value 5 for parameter QueueUrl is invalid. Reason: must be a string."),
    ("ReceiveMessage", {"QueueUrl": "q", "MaxNumberOfMessages": "10"}, 'Value "10" for parameter MaxNumberOfMessages'),
    ("ReceiveMessage", {"QueueUrl": "q", "WaitTimeSeconds": 1.5}, "Value 1.5 for parameter WaitTimeSeconds"),
    ("ReceiveMessage", {"QueueUrl": "q", "VisibilityTimeout": True}, "for parameter VisibilityTimeout is invalid"),
    ("ReceiveMessage", {"QueueUrl": "q", "MaxNumberOfMessages": 10**400}, "Value <an integer of 1329 bits> for"),
    ("SendMessageBatch", {"QueueUrl": "q", "Entries": {"Id": "a"}}, "parameter Entries is invalid. Reason: must be"),
    ("SendMessageBatch", {"QueueUrl": "q", "Entries": [{"Id": "a", "MessageBody": 1}]}, "Entries.1.MessageBody"),
    ("CreateQueue", {"QueueName": "q", "Attributes": ["VisibilityTimeout"]}, "parameter Attributes is invalid."),
    ("CreateQueue", {"QueueName": "q", "Attributes": {"DelaySeconds": 5}}, "parameter Attributes.DelaySeconds"),
    (
        "SendMessage",
        {"QueueUrl": "q", "MessageBody": "x", "MessageAttributes": {"a": {"DataType": "Binary", "BinaryValue": "!!"}}},
        "not valid base64",
    ),
]


@pytest.mark.parametrize(("operation", "members", "message"), WRONG_TYPES)
def test_member_of_the_wrong_type(served: Served, operation: str, members: dict[str, Any], message: str) -> None:
    reply = call_json(served.port, operation, members)
    assert reply.status == 400
    assert reply.json_error() == ("InvalidParameterValueException", "InvalidParameterValue;Sender")
    assert message in json.loads(reply.body)["message"]


def test_missing_member(served: Served) -> None:
    reply = call_json(served.port, "SendMessage", {"MessageBody": "x"})
    assert reply.json_error() == ("MissingRequiredParameterException", "MissingParameter;Sender")
    assert json.loads(reply.body)["message"] == "The request must contain the parameter QueueUrl."


def test_lone_surrogate_in_a_body(served: Served, queue_url: str) -> None:
    """JSON can spell a character SQS does not allow (an unpaired surrogate); it must not reach the store."""
    body = b'{"QueueUrl": "%s", "MessageBody": "half a pair: \\ud83d"}' % queue_url.encode()
    reply = exchange(served.port, json_request(served.port, "AmazonSQS.SendMessage", body))
    assert reply.json_error() == ("InvalidMessageContents", "InvalidMessageContents;Sender")


@pytest.mark.parametrize("target", ["AmazonSQS.DoesNotExist", "DynamoDB_20120810.ListTables", "", "AmazonSQS."])
def test_unknown_target(served: Served, target: str) -> None:
    reply = exchange(served.port, json_request(served.port, target, b"{}"))
    assert reply.status == 400
    assert reply.json_error() == ("UnknownOperationException", "UnknownOperationException;Sender")


# -- query ----------------------------------------------------------------------------------------------------

QUERY_ERRORS = [
    ("unknown action", b"Action=DoesNotExist&Version=2012-11-05", "InvalidAction"),
    ("missing action", b"Version=2012-11-05&QueueName=x", "MissingParameter"),
    ("empty action", b"Action=&Version=2012-11-05", "MissingParameter"),
    ("invalid UTF-8", b"Action=ListQueues&QueueNamePrefix=\xff\xfe", "InvalidParameterValue"),
    ("percent-encoded invalid UTF-8", b"Action=ListQueues&QueueNamePrefix=%ff%fe", "InvalidParameterValue"),
    ("10,001 fields", b"Action=ListQueues&" + b"&".join(b"f%d=1" % i for i in range(10_001)), "InvalidParameterValue"),
    ("not an integer", b"Action=ReceiveMessage&QueueUrl=q&MaxNumberOfMessages=ten", "InvalidParameterValue"),
    ("map entry without a value", b"Action=CreateQueue&QueueName=q&Attribute.1.Name=DelaySeconds", "MissingParameter"),
    ("missing parameter", b"Action=CreateQueue&Version=2012-11-05", "MissingParameter"),
    ("markup in a name", b"Action=CreateQueue&QueueName=%3Cb%3E%26amp%3B", "InvalidParameterValue"),
]


@pytest.mark.parametrize(("body", "code"), [(b, c) for _, b, c in QUERY_ERRORS], ids=[n for n, _, _ in QUERY_ERRORS])
def test_query_errors(served: Served, body: bytes, code: str) -> None:
    reply = exchange(served.port, query_request(served.port, body))
    assert reply.status == 400
    assert reply.query_error() == code


ECHOED = [
    ("control character in an action", b"Action=%01bad&Version=2012-11-05", "InvalidAction"),
    (
        "NUL in an attribute name",
        b"Action=GetQueueAttributes&QueueUrl={url}&AttributeName.1=%00",
        "InvalidAttributeName",
    ),
    ("U+FFFE in a label", b"Action=RemovePermission&QueueUrl={url}&Label=%EF%BF%BE", "InvalidParameterValue"),
]


@pytest.mark.parametrize(("body", "code"), [(b, c) for _, b, c in ECHOED], ids=[n for n, _, _ in ECHOED])
def test_an_error_quoting_what_xml_cannot_carry_is_still_xml(
    served: Served, queue_url: str, body: bytes, code: str
) -> None:
    """Errors quote what the client sent; a character XML 1.0 forbids comes back as U+FFFD, in a valid document."""
    reply = exchange(served.port, query_request(served.port, body.replace(b"{url}", queue_url.encode())))
    assert reply.status == 400
    assert reply.query_error() == code  # parses the body as XML
    if code == "InvalidAction":
        assert "The action \ufffdbad is not valid" in reply.body.decode()


@pytest.mark.parametrize("text", ["%01", "%00", "%ED%A0%BD", "%EF%BF%BE"], ids=["U+0001", "NUL", "surrogate", "U+FFFE"])
def test_tags_and_labels_xml_cannot_carry_are_refused(served: Served, queue_url: str, text: str) -> None:
    """Stored, they could never be listed again in XML (botocore 1.34.89's ListQueueTags failed to parse)."""
    url = queue_url.encode()
    for form in (
        b"Action=TagQueue&QueueUrl=%s&Tag.1.Key=k%s&Tag.1.Value=v" % (url, text.encode()),
        b"Action=TagQueue&QueueUrl=%s&Tag.1.Key=k&Tag.1.Value=v%s" % (url, text.encode()),
        b"Action=AddPermission&QueueUrl=%s&Label=l%s&AWSAccountId.1=111122223333&ActionName.1=SendMessage"
        % (url, text.encode()),
    ):
        reply = exchange(served.port, query_request(served.port, form))
        assert reply.status == 400, reply
        assert reply.query_error() == "InvalidParameterValue"
    listed = exchange(served.port, query_request(served.port, b"Action=ListQueueTags&QueueUrl=%s" % url))
    assert listed.status == 200
    assert ET.fromstring(listed.body).find("sqs:ListQueueTagsResult/sqs:Tag", NS) is None


def test_query_on_a_missing_queue_path(served: Served) -> None:
    """Old SDKs name the queue by the URL path; a missing one is SQS's legacy NonExistentQueue, in XML."""
    reply = exchange(served.port, query_request(served.port, b"Action=GetQueueAttributes", path="/000000000000/none"))
    assert reply.status == 400
    assert reply.query_error() == "AWS.SimpleQueueService.NonExistentQueue"
    assert b"The specified queue does not exist for this wsdl version." in reply.body


# -- size, time and HTTP itself -------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["json", "query"])
def test_oversized_body_is_refused_on_its_announced_length(served: Served, protocol: str) -> None:
    """Only the headers are sent: the 413 must come back without the server waiting for 100 MB."""
    head = (
        json_request(served.port, "AmazonSQS.SendMessage", b"", length=100_000_000)
        if protocol == "json"
        else query_request(served.port, b"", length=100_000_000)
    )
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
        sock.sendall(head)
        reply = read_reply(sock)  # the socket's 5 s timeout fails the test if the server waits for the body
    assert reply.status == 413
    if protocol == "json":
        assert reply.json_error() == ("RequestEntityTooLarge", "RequestEntityTooLarge;Sender")
    else:
        assert reply.query_error() == "RequestEntityTooLarge"
    assert b"100000000" in reply.body


def test_oversized_chunked_body(served: Served) -> None:
    """No length announced: the server counts as the chunks arrive and stops at its limit."""
    head = json_request(served.port, "AmazonSQS.ListQueues", b"").replace(
        b"Content-Length: 0", b"Transfer-Encoding: chunked"
    )
    chunk = b"%x\r\n%s\r\n" % (1024 * 1024, b" " * (1024 * 1024))
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        sock.sendall(head)

        def send_body() -> None:
            try:
                for _ in range(MAX_BODY // (1024 * 1024) + 4):
                    sock.sendall(chunk)
                sock.sendall(b"0\r\n\r\n")
            except OSError:
                pass  # the server may stop reading once it has refused the request

        sender = threading.Thread(target=send_body, daemon=True)
        sender.start()
        reply = read_reply(sock)
        sock.shutdown(socket.SHUT_RDWR)
        sender.join(timeout=10)
    assert reply.status == 413
    assert reply.json_error() == ("RequestEntityTooLarge", "RequestEntityTooLarge;Sender")


def test_a_stalled_client_does_not_hold_up_others(served: Served) -> None:
    body = json.dumps({"QueueNamePrefix": "x" * 100}).encode()
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as stalled:
        half = json_request(served.port, "AmazonSQS.ListQueues", body)
        stalled.sendall(half[: len(half) - len(body) // 2])  # headers and half the body, then nothing
        for _ in range(3):
            assert call_json(served.port, "ListQueues", {}).status == 200
        readable, _, _ = select.select([stalled], [], [], 0)
        assert not readable, "the server answered a request whose body has not arrived"


HEADER_TIMEOUT = 1.0


def closed_after_408(sock: socket.socket) -> None:
    """The server answered ``sock`` with SQS's RequestTimeout, then closed it."""
    reply = read_reply(sock)
    assert reply.status == 408
    assert reply.query_error() == "RequestTimeout"
    assert reply.headers["connection"] == "close"
    assert sock.recv(1) == b"", "the server left the connection open after its 408"


def test_headers_that_never_arrive_are_answered_408_and_closed() -> None:
    """Before its headers are complete there is no request to time out, so each new connection has
    ``--header-timeout`` seconds to send them: one that sends nothing and one that trickles a header byte at a
    time are both answered 408 and closed once it passes, and never hold a socket (a file descriptor) for long."""
    with consumerkit_serve("--header-timeout", str(HEADER_TIMEOUT)) as server:
        head = json_request(server.port, "AmazonSQS.ListQueues", b"{}")
        started = time.monotonic()  # before connecting: the server's clock for each starts once it accepts
        idle = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        trickling = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        with idle, trickling:
            assert call_json(server.port, "ListQueues", {}).status == 200  # others are served while these hang
            sent = 0
            # one byte each time the server has still said nothing after 0.1 s; never the blank line ending the headers
            while not select.select([trickling], [], [], 0.1)[0]:
                assert time.monotonic() - started < HEADER_TIMEOUT + 4, "the trickling client is still connected"
                if sent < len(head) - 4:
                    trickling.sendall(head[sent : sent + 1])
                    sent += 1
            assert sent >= 3, "the server answered before the client had trickled anything"
            closed_after_408(trickling)
            closed_after_408(idle)
            assert HEADER_TIMEOUT <= time.monotonic() - started < HEADER_TIMEOUT + 4
            assert call_json(server.port, "ListQueues", {}).status == 200


@pytest.mark.parametrize(
    ("version", "host_header"),
    [("HTTP/1.0", None), ("HTTP/1.1", "evil/x?"), ("HTTP/1.1", "")],
    ids=["HTTP/1.0 without Host", "Host refused", "empty Host"],
)
def test_queue_urls_without_a_usable_host_name_the_port_bound(
    served: Served, version: str, host_header: str | None
) -> None:
    """The server was started with ``--port 0``: with no Host to echo, URLs carry the port the system chose."""
    body = json.dumps({"QueueName": "hostless"}).encode()
    lines = [f"POST / {version}", f"Content-Type: {JSON_TYPE}", "X-Amz-Target: AmazonSQS.CreateQueue"]
    lines += [] if host_header is None else [f"Host: {host_header}"]
    lines += [f"Content-Length: {len(body)}", "Connection: close"]
    reply = exchange(served.port, ("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    assert reply.status == 200, reply
    assert json.loads(reply.body)["QueueUrl"] == f"http://127.0.0.1:{served.port}/000000000000/hostless"


GARBAGE = {
    "binary request line": b"\x00\xff\xfe\x80 garbage\r\n\r\n",
    "TLS handshake on the HTTP port": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(64),
    "header line of 20,000 bytes": b"POST / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n",
    "negative Content-Length": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    "Content-Length and chunked": (
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ),
    "bad chunk size": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n",
}


@pytest.mark.parametrize("raw", GARBAGE.values(), ids=GARBAGE.keys())
def test_malformed_http(served: Served, raw: bytes) -> None:
    """Not HTTP the server can parse, so no SQS protocol to answer in: HTTP's own 400, and the server goes on."""
    reply = exchange(served.port, raw)
    assert reply.status == 400
    assert reply.body


# -- the body timeout, on the server class in-process (the CLI has no flag for it) -----------------------------


@pytest.fixture
async def impatient_server() -> AsyncIterator[int]:
    async with Engine.open("memory://") as engine:
        app = SqsServer(engine, ServerConfig(port=0, body_timeout=1.0)).application()
        runner = web.AppRunner(app, handler_cancellation=True)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        try:
            yield runner.addresses[0][1]
        finally:
            await runner.cleanup()


async def exchange_async(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        return int(status_line.split()[1]), headers, body
    finally:
        writer.close()


async def test_a_body_that_stalls_times_out(impatient_server: int) -> None:
    port = impatient_server
    body = json.dumps({"QueueName": "slow"}).encode()
    json_half = json_request(port, "AmazonSQS.CreateQueue", body)[: -len(body) // 2]
    query_half = query_request(port, b"Action=CreateQueue&QueueName=slow")[:-10]
    started = time.monotonic()
    stalled = [asyncio.create_task(exchange_async(port, half)) for half in (json_half, query_half)]
    # meanwhile, other clients are served at once
    status, _, reply = await exchange_async(port, json_request(port, "AmazonSQS.ListQueues", b"{}"))
    assert (status, reply) == (200, b"{}")
    assert not any(task.done() for task in stalled)

    (json_status, json_headers, json_body), (query_status, _, query_body) = await asyncio.wait_for(
        asyncio.gather(*stalled), 10
    )
    assert time.monotonic() - started >= 1.0
    assert json_status == 408
    assert json_headers["x-amzn-query-error"] == "RequestTimeout;Sender"
    assert json.loads(json_body)["__type"] == "com.amazonaws.sqs#RequestTimeout"
    assert query_status == 408
    assert ET.fromstring(query_body).findtext("sqs:Error/sqs:Code", namespaces=NS) == "RequestTimeout"


# -- stopping -------------------------------------------------------------------------------------------------


def open_long_polls(port: int, established: Established, count: int) -> list[socket.socket]:
    """``count`` JSON long polls (WaitTimeSeconds=20) on a new queue, returned once the server holds them all."""
    url = json.loads(call_json(port, "CreateQueue", {"QueueName": "stopping"}).body)["QueueUrl"]
    body = json.dumps({"QueueUrl": url, "WaitTimeSeconds": 20}).encode()
    polls = [socket.create_connection(("127.0.0.1", port), timeout=15) for _ in range(count)]
    for sock in polls:
        sock.sendall(json_request(port, "AmazonSQS.ReceiveMessage", body))
    deadline = time.monotonic() + 10
    while True:  # no event to wait on: poll the kernel's view until the server has read every request
        ours, theirs = established(port)
        if len(ours) >= count and all(s.rx_queue == 0 for s in ours) and all(s.tx_queue == 0 for s in theirs):
            break
        assert time.monotonic() < deadline, "the server did not read the long polls"
        time.sleep(0.02)
    assert call_json(port, "ListQueues", {}).status == 200  # a round trip: the server got past the polls
    assert not select.select(polls, [], [], 0)[0], "a long poll returned before any message was sent"
    return polls


def stop(server: Served) -> float:
    """SIGTERM the server; return how long it took to exit, which must be with status 0."""
    started = time.monotonic()
    os.kill(server.process.pid, signal.SIGTERM)
    assert server.process.wait(timeout=15) == 0
    return time.monotonic() - started


def test_sigterm_answers_parked_long_polls_empty_and_exits_0_promptly(established: Established) -> None:
    """Stopping does not drop parked long polls: each gets SQS's empty ReceiveMessage reply, as if its wait
    had run out, and the server exits well inside the grace it gives requests under way."""
    with consumerkit_serve("--backend", "memory://") as server:
        polls = open_long_polls(server.port, established, 20)
        try:
            assert stop(server) < SHUTDOWN_GRACE
            for sock in polls:
                reply = read_reply(sock)
                assert (reply.status, json.loads(reply.body)) == (200, {})
        finally:
            for sock in polls:
                sock.close()
