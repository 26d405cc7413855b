"""Start-up: declared queues are created, or brought up to their declaration; missing ones are clear errors."""

from __future__ import annotations

import json

import pytest

from consumerkit import App, ConfigError, Message
from consumerkit.backends import Backend
from tests.runtime.harness import running


async def noop(message: Message) -> None:
    pass


async def redrive(backend: Backend, name: str) -> dict[str, object]:
    url = await backend.get_queue_url(name)
    return dict(json.loads((await backend.get_queue_attributes(url, ["RedrivePolicy"]))["RedrivePolicy"]))


async def test_a_changed_declaration_takes_effect_on_the_next_start(backend: Backend, queue_name: str) -> None:
    for max_receives in (5, 2):
        app = App()
        app.queue(queue_name, dead_letter=f"{queue_name}-dlq", max_receives=max_receives, visibility_timeout=300)
        app.handler(queue_name)(noop)
        async with running(app, backend):
            pass
        assert (await redrive(backend, queue_name))["maxReceiveCount"] == max_receives
    url = await backend.get_queue_url(queue_name)
    assert (await backend.get_queue_attributes(url, ["VisibilityTimeout"]))["VisibilityTimeout"] == "300"


async def test_declared_queues_are_created_whatever_the_handler_order(backend: Backend, queue_name: str) -> None:
    app = App()
    app.handler(f"{queue_name}-dlq", name="dead")(noop)  # the DLQ's handler comes first
    app.handler(queue_name, name="live")(noop)
    app.queue(queue_name, dead_letter=f"{queue_name}-dlq")
    app.queue(f"{queue_name}-other")  # declared, no handler: still created
    async with running(app, backend):
        pass
    assert str((await redrive(backend, queue_name))["deadLetterTargetArn"]).endswith(f":{queue_name}-dlq")
    dlq = await backend.get_queue_url(f"{queue_name}-dlq")
    retention = await backend.get_queue_attributes(dlq, ["MessageRetentionPeriod"])
    assert retention["MessageRetentionPeriod"] == "1209600"
    assert await backend.get_queue_url(f"{queue_name}-other")


async def test_a_missing_queue_is_a_config_error_when_not_creating(backend: Backend, queue_name: str) -> None:
    app = App(create_queues=False)
    app.handler(queue_name)(noop)
    with pytest.raises(ConfigError, match=f"queue '{queue_name}' does not exist; create it, or declare it"):
        await app.serve(backend, handle_signals=False)


async def test_an_undeclared_fifo_queue_is_created_as_one(backend: Backend, queue_name: str) -> None:
    app = App()
    app.handler(f"{queue_name}.fifo")(noop)
    async with running(app, backend):
        pass
    url = await backend.get_queue_url(f"{queue_name}.fifo")
    assert (await backend.get_queue_attributes(url, ["FifoQueue"]))["FifoQueue"] == "true"
