"""A first look at the bundled SQS engine: no AWS account, no server.

Creates a queue with a dead-letter queue in a SQLite file, sends a few video jobs (one of them poison),
works through them like a worker would, and shows where each ended up. Run it with ``make run``; run it
twice and the queues are still there, because the SQLite store is durable.
"""

from __future__ import annotations

import json
import os

import anyio

from consumerkit.engine import DeleteEntry, Engine, SendEntry

STORE = os.environ.get("CONSUMERKIT_STORE", "sqlite:///.consumerkit/queues.db")


def encode(job: dict[str, str]) -> str:
    """Stands in for the real work: an ffmpeg encode. A job without a source fails every time."""
    if "source" not in job:
        raise ValueError("job has no source video")
    return job["source"].replace(".mov", ".mp4")


async def main() -> None:
    async with Engine.open(STORE) as sqs:
        dlq = await sqs.create_queue("videos-dlq")
        dlq_arn = (await sqs.get_queue_attributes(dlq, ["QueueArn"]))["QueueArn"]
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
        queue = await sqs.create_queue("videos", {"RedrivePolicy": redrive, "VisibilityTimeout": "60"})
        jobs = [{"source": f"clip-{i}.mov"} for i in range(4)] + [{"broken": "yes"}]
        await sqs.send_message_batch(queue, [SendEntry(json.dumps(j), id=f"job{i}") for i, j in enumerate(jobs)])
        print(f"store {STORE}: sent {len(jobs)} jobs to {queue}")

        while messages := await sqs.receive_message(queue, max_messages=10, attribute_names=["All"]):
            done = []
            for message in messages:
                count = message.attributes["ApproximateReceiveCount"]
                try:
                    output = encode(json.loads(message.body))
                except ValueError as error:
                    print(f"  {message.message_id[:8]} attempt {count}: failed ({error}); retry at once")
                    await sqs.change_message_visibility(queue, message.receipt_handle, 0)
                else:
                    print(f"  {message.message_id[:8]} attempt {count}: encoded -> {output}")
                    done.append(DeleteEntry(f"d{len(done)}", message.receipt_handle))
            if done:
                await sqs.delete_message_batch(queue, done)

        for name, url in (("videos", queue), ("videos-dlq", dlq)):
            stats = await sqs.queue_stats(url)
            print(f"{name}: {stats.visible} waiting, {stats.in_flight} in flight")
        for message in await sqs.receive_message(dlq, max_messages=10, attribute_names=["All"]):
            source = message.attributes["DeadLetterQueueSourceArn"]
            print(f"dead-lettered after 3 receives: {message.body} (from {source})")
            await sqs.delete_message(dlq, message.receipt_handle)


if __name__ == "__main__":
    anyio.run(main)
