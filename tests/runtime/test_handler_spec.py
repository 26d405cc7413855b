"""Handlers are validated when registered: a mistake names the handler, the field, the value and the range."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import pytest
from pydantic import BaseModel

from consumerkit import App, ConfigError, HandlerSpec, Message, PayloadError
from consumerkit.backends import QueueMessage
from consumerkit.payloads import inspect_handler


async def handler(message: Message) -> None:
    pass


@pytest.mark.parametrize(
    ("options", "wording"),
    [
        ({"concurrency": 0}, "concurrency=0 is out of range: an integer in 1..100000"),
        ({"visibility_timeout": 43_201}, "visibility_timeout=43201 is out of range: an integer in 1..43200"),
        ({"batch_size": 11}, "batch_size=11 is out of range: an integer in 1..10"),
        ({"wait_seconds": 21}, "wait_seconds=21 is out of range: an integer in 1..20"),
        ({"wait_seconds": 0}, "wait_seconds=0 is out of range: an integer in 1..20"),
        ({"visibility_timeout": 30, "heartbeat_interval": 30}, "heartbeat_interval=30 is out of range: 0.001..27"),
        ({"max_duration": 50_000}, "max_duration=50000 is out of range: 1..43200 seconds"),
        ({"timeout": 0}, "timeout=0 is out of range"),
        ({"concurrency": True}, "concurrency=True"),
    ],
)
def test_limits(options: dict[str, Any], wording: str) -> None:
    with pytest.raises(ConfigError, match="handler 'handler': " + wording.replace(".", r"\.")):
        HandlerSpec("videos", handler, **options)


def test_defaults_follow_the_heartbeat_recipe() -> None:
    spec = HandlerSpec("videos", handler)
    assert (spec.visibility_timeout, spec.interval, spec.max_duration) == (120, 60, 43_200 - 300)
    assert spec.name == "handler"


def test_one_handler_per_queue() -> None:
    app = App()
    app.handler("videos")(handler)
    with pytest.raises(ConfigError, match="queue 'videos' already has a handler"):
        app.handler("videos", name="other")(handler)


@dataclasses.dataclass
class Job:
    source: str


class Model(BaseModel):
    source: str
    width: int = 1280


def message(body: str) -> Message:
    return Message(QueueMessage("id-1", "rh", body), "videos", None)  # type: ignore[arg-type]


def test_payload_types_decode_the_body() -> None:
    async def by_dataclass(job: Job) -> None: ...
    async def by_model(job: Model, message: Message) -> None: ...
    async def by_dict(data: dict[str, Any]) -> None: ...
    def by_text(body: str) -> None: ...

    assert inspect_handler(by_dataclass, "x", batch=False).decode(message('{"source": "a"}')) == Job("a")  # type: ignore[misc]
    signature = inspect_handler(by_model, "x", batch=False)
    assert signature.with_message and signature.is_async
    assert signature.decode(message('{"source": "a"}')) == Model(source="a")  # type: ignore[misc]
    assert inspect_handler(by_dict, "x", batch=False).decode(message('{"a": 1}')) == {"a": 1}  # type: ignore[misc]
    text = inspect_handler(by_text, "x", batch=False)
    assert not text.is_async and text.decode(message("plain")) == "plain"  # type: ignore[misc]


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", '{"other": 1}'])
def test_a_body_that_does_not_fit_is_a_payload_error(body: str) -> None:
    async def by_dataclass(job: Job) -> None: ...
    async def by_model(job: Model) -> None: ...

    for func in (by_dataclass, by_model):
        with pytest.raises(PayloadError, match="message id-1"):
            inspect_handler(func, "x", batch=False).decode(message(body))  # type: ignore[misc]


def test_signature_mistakes_are_config_errors() -> None:
    async def none() -> None: ...
    async def three(a: Message, b: Message, c: Message) -> None: ...
    async def odd(value: complex) -> None: ...
    async def batch_of_one(message: Message) -> None: ...

    for func, batch, wording in [
        (none, False, "takes 0 required arguments"),
        (three, False, "takes 3 required arguments"),
        (odd, False, "cannot decode a message into <class 'complex'>"),
        (batch_of_one, True, "a batch handler takes list"),
    ]:
        with pytest.raises(ConfigError, match=wording):
            HandlerSpec("videos", func, batch=batch)


def test_batch_payloads() -> None:
    async def jobs(items: list[Job]) -> None: ...

    signature = inspect_handler(jobs, "x", batch=True)
    assert signature.payload_type is Job


def test_the_cap_warning_scales_with_a_short_max_duration() -> None:
    assert HandlerSpec("videos", handler).warning_lead == 600
    assert HandlerSpec("videos", handler, max_duration=100).warning_lead == 10


def test_a_dict_payload_must_be_a_json_object() -> None:
    async def by_dict(data: dict[str, Any]) -> None: ...

    with pytest.raises(PayloadError, match="needs a JSON object, got list"):
        inspect_handler(by_dict, "x", batch=False).decode(message("[1, 2]"))  # type: ignore[misc]


def test_an_async_function_behind_a_plain_decorator_is_async() -> None:
    def logged(func: Any) -> Any:
        @functools.wraps(func)
        def wrapper(*args: Any) -> Any:
            return func(*args)

        return wrapper

    @logged
    async def encode(message: Message) -> None: ...

    assert HandlerSpec("videos", encode).signature.is_async


def test_required_keyword_only_parameters_are_refused() -> None:
    async def needs_tenant(message: Message, *, tenant: str) -> None: ...

    with pytest.raises(ConfigError, match=r"keyword-only parameters \['tenant'\] need defaults"):
        HandlerSpec("videos", needs_tenant)
