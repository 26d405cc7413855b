"""A worker fed by SNS and S3: one typed handler per way messages arrive.

* ``order-events`` is subscribed to the ``orders`` SNS topic: each body is an SNS envelope around an order,
  decoded as ``SnsNotification[Order]``;
* ``uploads`` receives the ``media-inbox`` bucket's event notifications: ``S3Event``, its keys decoded, and the
  bucket's set-up test event skipped;
* ``upload-fanout`` gets the same bucket's events through an SNS topic (S3 → SNS → SQS, so that several queues
  can hear of each upload): ``SnsNotification[S3Event]``.

A body that does not decode is a handler failure: retried, then moved to the queue's dead-letter queue. Run it
on its own with ``consumerkit run examples.fanout.worker:app``, or end to end with ``python -m examples.fanout``.
"""

from __future__ import annotations

from dataclasses import dataclass

from consumerkit import App, FixedBackoff, Message, S3Event, SnsNotification

ORDERS, UPLOADS, FANOUT = "order-events", "uploads", "upload-fanout"
QUEUES = (ORDERS, UPLOADS, FANOUT)
MAX_RECEIVES = 2
RETRY = FixedBackoff(0)  # an example should not wait; a real worker keeps the default back-off

app = App()  # $CONSUMERKIT_BACKEND, else sqlite:///.consumerkit/queues.db
for queue in QUEUES:
    app.queue(queue, dead_letter=f"{queue}-dlq", max_receives=MAX_RECEIVES)


@dataclass(frozen=True)
class Order:
    """What the shop publishes to the ``orders`` topic."""

    order_id: str
    video: str
    copies: int = 1


@app.handler(ORDERS, retry=RETRY)
async def order_placed(note: SnsNotification[Order], message: Message) -> None:
    order = note.payload
    tenant = note.message_attributes.get("tenant")
    who = tenant.string_value if tenant else "?"
    print(f"order {order.order_id}: {order.copies} x {order.video} for {who} (topic {note.topic_arn})", flush=True)


@app.handler(UPLOADS, retry=RETRY)
async def uploaded(event: S3Event) -> None:
    if event.test is not None:
        print(f"s3 test event from bucket {event.test.bucket}: skipped", flush=True)
        return  # returning deletes it: S3 sends it once, when the notification is set up
    for record in event.records:
        size = "" if record.object.size is None else f" ({record.object.size} bytes)"
        print(f"s3 {record.event_name}: {record.bucket.name}/{record.object.key}{size}", flush=True)


@app.handler(FANOUT, retry=RETRY)
async def fanned_out(note: SnsNotification[S3Event]) -> None:
    for record in note.payload.records:
        print(f"via sns {note.subject!r}: {record.event_name} {record.bucket.name}/{record.object.key}", flush=True)
