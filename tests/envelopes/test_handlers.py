"""Typed envelope handlers on a real worker, on every backend: each kind decoded, a malformed one dead-lettered."""

from __future__ import annotations

from dataclasses import dataclass

import anyio

from consumerkit import App, FixedBackoff, Message, PayloadError, S3Event, SnsNotification
from consumerkit.backends import Backend, OutgoingMessage
from tests.envelopes.samples import body, s3_event, s3_record, s3_test_event, sns, sns_fifo
from tests.runtime.harness import WAIT, running, send, url_of


@dataclass
class Order:
    order: str
    copies: int = 1


async def _dead_letters(backend: Backend, queue: str, count: int) -> list[str]:
    url = await backend.get_queue_url(f"{queue}-dlq")
    found: list[str] = []
    with anyio.fail_after(WAIT):
        while len(found) < count:
            got = await backend.receive_messages(url, max_messages=10, wait_seconds=20, visibility_timeout=30)
            found += [m.body for m in got]
    return found


async def test_each_kind_reaches_its_typed_handler(backend: Backend, queue_name: str) -> None:
    orders, uploads, relayed = f"{queue_name}-orders", f"{queue_name}-uploads", f"{queue_name}-relayed"
    app = App()
    for queue in (orders, uploads, relayed):
        app.queue(queue, dead_letter=f"{queue}-dlq", max_receives=1)
    seen: list[object] = []

    @app.handler(orders, retry=FixedBackoff(0))
    async def order(note: SnsNotification[Order], message: Message) -> None:
        seen.append((note.payload, note.message_attributes["tenant"].string_value, message.queue))

    @app.handler(uploads, retry=FixedBackoff(0))
    def upload(event: S3Event) -> None:  # a sync handler decodes the same way
        seen.append("test" if event.is_test else [r.object.key for r in event.records])

    @app.handler(relayed, retry=FixedBackoff(0))
    async def relay(note: SnsNotification[S3Event]) -> None:
        seen.append(("via sns", [r.object.key for r in note.payload.records]))

    async with running(app, backend) as (supervisor, outcomes):
        await send(backend, url_of(supervisor, orders), body(sns('{"order": "A-1", "copies": 2}')))
        await send(backend, url_of(supervisor, uploads), body(s3_test_event()), body(s3_event(s3_record("a+b%2B.mov"))))
        await send(backend, url_of(supervisor, relayed), body(sns(body(s3_event(s3_record("caf%C3%A9.png"))))))
        await outcomes.wait(4)
    assert outcomes.kinds() == ["success"] * 4
    assert (Order("A-1", 2), "acme", orders) in seen
    assert "test" in seen and ["a b+.mov"] in seen and ("via sns", ["café.png"]) in seen


async def test_a_fifo_topics_unsigned_notification_reaches_its_handler(backend: Backend, queue_name: str) -> None:
    fifo = f"{queue_name}.fifo"  # SNS FIFO topics deliver to FIFO queues only
    app = App()
    seen: list[object] = []

    @app.handler(fifo, retry=FixedBackoff(0))
    async def order(note: SnsNotification[Order], message: Message) -> None:
        seen.append((note.payload, note.sequence_number, note.signature, note.string_to_sign(), message.group_id))

    envelope = OutgoingMessage(body(sns_fifo('{"order": "A-1"}')), group_id="tenant-acme", deduplication_id="A-1")
    async with running(app, backend) as (supervisor, outcomes):
        _, failed = await backend.send_message_batch(url_of(supervisor, fifo), [envelope])
        assert not failed, failed
        await outcomes.wait(1)
    assert outcomes.kinds() == ["success"], [str(o.error) for o in outcomes.items]
    assert seen == [(Order("A-1"), "10000000000000004000", None, None, "tenant-acme")]


async def test_a_malformed_envelope_is_a_payload_error_and_dead_lettered(backend: Backend, queue_name: str) -> None:
    app = App()
    app.queue(queue_name, dead_letter=f"{queue_name}-dlq", max_receives=1)
    called: list[object] = []

    @app.handler(queue_name, retry=FixedBackoff(0))
    async def relay(note: SnsNotification[S3Event]) -> None:
        called.append(note)

    bad = [body(sns(body(s3_event(s3_record(eventTime=None))))), body(s3_event()), "{not json"]
    async with running(app, backend) as (supervisor, outcomes):
        await send(backend, url_of(supervisor, queue_name), *bad)
        await outcomes.wait(3)
        dead = await _dead_letters(backend, queue_name, 3)
    assert called == []
    assert outcomes.kinds() == ["error"] * 3
    assert all(isinstance(o.error, PayloadError) for o in outcomes.items)
    errors = sorted(str(o.error) for o in outcomes.items)
    assert any("field 'Message': S3 event: field 'Records[0].eventTime' is missing" in e for e in errors), errors
    assert any("field 'Type' is missing" in e for e in errors), errors
    assert sorted(dead) == sorted(bad)
