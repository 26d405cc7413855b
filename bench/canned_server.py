"""A canned SQS server that answers at once: the ceiling of an SQS client in ``bench/wire.py``.

Run: ``python bench/canned_server.py --port 0``; prints ``listening on http://127.0.0.1:PORT`` as its first
line on stdout, and stops on SIGTERM or SIGINT.

It speaks SQS's AWS JSON 1.0 protocol (``X-Amz-Target: AmazonSQS.<Action>``) over HTTP/1.1 keep-alive on a raw
asyncio protocol, with no SQS rules at all. Its answers are still valid and honest, so the client pays the cost
it would pay against a real server: a batch send echoes each entry's ``Id`` with a message id and the MD5 of
that entry's body; a receive hands back up to ``MaxNumberOfMessages`` of the bodies sent so far (each once, at
once, never waiting, with its MD5 and an 80-character receipt handle like the engine's); a batch delete reports
every entry as deleted. CreateQueue and GetQueueUrl answer with a URL; any other action with ``{}``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import signal
import sys
from collections import deque
from collections.abc import Callable
from typing import Any

CONTENT_TYPE = b"application/x-amz-json-1.0"
ACCOUNT = "000000000000"
TARGET_PREFIX = "AmazonSQS."
MAX_HEADER_BYTES = 64 * 1024


class CannedSqs:
    """The state behind the answers: a counter for ids and the bodies sent and not yet received."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.counter = 0
        self.pending: deque[tuple[str, str]] = deque()  # (body, md5 of body)
        self.actions: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "SendMessageBatch": self.send_message_batch,
            "SendMessage": self.send_message,
            "ReceiveMessage": self.receive_message,
            "DeleteMessageBatch": self.delete_message_batch,
            "CreateQueue": self.queue_url,
            "GetQueueUrl": self.queue_url,
        }

    def next_id(self) -> int:
        self.counter += 1
        return self.counter

    def message_id(self) -> str:
        return f"00000000-0000-4000-8000-{self.next_id():012x}"

    def _send(self, body: str) -> tuple[str, str]:
        md5 = hashlib.md5(body.encode(), usedforsecurity=False).hexdigest()
        self.pending.append((body, md5))
        return self.message_id(), md5

    def send_message_batch(self, request: dict[str, Any]) -> dict[str, Any]:
        successful = []
        for entry in request.get("Entries", ()):
            message_id, md5 = self._send(entry["MessageBody"])
            successful.append({"Id": entry["Id"], "MessageId": message_id, "MD5OfMessageBody": md5})
        return {"Successful": successful, "Failed": []}

    def send_message(self, request: dict[str, Any]) -> dict[str, Any]:
        message_id, md5 = self._send(request["MessageBody"])
        return {"MessageId": message_id, "MD5OfMessageBody": md5}

    def receive_message(self, request: dict[str, Any]) -> dict[str, Any]:
        wanted = int(request.get("MaxNumberOfMessages", 1))
        messages = []
        pending = self.pending
        for _ in range(min(wanted, len(pending))):
            body, md5 = pending.popleft()
            n = self.next_id()
            messages.append(
                {
                    "MessageId": f"00000000-0000-4000-8000-{n:012x}",
                    "ReceiptHandle": f"{n:080x}",
                    "MD5OfBody": md5,
                    "Body": body,
                }
            )
        return {"Messages": messages} if messages else {}

    def delete_message_batch(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"Successful": [{"Id": entry["Id"]} for entry in request.get("Entries", ())], "Failed": []}

    def queue_url(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"QueueUrl": f"{self.base_url}/{ACCOUNT}/{request.get('QueueName', 'queue')}"}

    def answer(self, target: str, body: bytes) -> tuple[int, bytes]:
        """Status and JSON body for one request."""
        action = self.actions.get(target.removeprefix(TARGET_PREFIX))
        if action is None:
            return 200, b"{}"
        try:
            request = json.loads(body) if body else {}
            result = action(request)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            error = {"__type": "com.amazonaws.sqs#InvalidParameterValue", "message": f"canned server: {exc!r}"}
            return 400, json.dumps(error).encode()
        return 200, json.dumps(result, separators=(",", ":")).encode()


class HttpProtocol(asyncio.Protocol):
    """Minimal HTTP/1.1: Content-Length bodies, keep-alive, pipelining; anything else is refused."""

    def __init__(self, sqs: CannedSqs) -> None:
        self.sqs = sqs
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None and self._one_request():
            pass

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def _one_request(self) -> bool:
        """Answer the first complete request in the buffer; False when there is none (yet)."""
        buffer = self.buffer
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > MAX_HEADER_BYTES:
                self._refuse(b"431 Request Header Fields Too Large")
            return False
        lines = bytes(buffer[:end]).split(b"\r\n")
        length = 0
        target = ""
        close = lines[0].endswith(b"HTTP/1.0")
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"x-amz-target":
                target = value.strip().decode()
            elif name == b"connection":
                close = value.strip().lower() == b"close"
            elif name == b"transfer-encoding" or (name == b"expect" and b"100" in value):
                self._refuse(b"501 Not Implemented")
                return False
        start = end + 4
        if len(buffer) < start + length:
            return False
        body = bytes(buffer[start : start + length])
        del buffer[: start + length]
        status, payload = self.sqs.answer(target, body)
        assert self.transport is not None
        self.transport.write(
            b"HTTP/1.1 %s\r\nContent-Type: %s\r\nx-amzn-RequestId: %s\r\nContent-Length: %d\r\n%s\r\n%s"
            % (
                b"200 OK" if status == 200 else b"400 Bad Request",
                CONTENT_TYPE,
                b"00000000-0000-4000-8000-%012x" % self.sqs.next_id(),
                len(payload),
                b"Connection: close\r\n" if close else b"",
                payload,
            )
        )
        if close:
            self.transport.close()
            return False
        return True

    def _refuse(self, status: bytes) -> None:
        assert self.transport is not None
        self.transport.write(b"HTTP/1.1 %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" % status)
        self.transport.close()
        self.buffer.clear()


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    sqs = CannedSqs("")
    server = await loop.create_server(lambda: HttpProtocol(sqs), host, port, backlog=4096)
    bound = server.sockets[0].getsockname()[1]
    sqs.base_url = f"http://{host}:{bound}"
    print(f"listening on {sqs.base_url}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 (the default): the OS picks a free port")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port))
    sys.exit(0)
