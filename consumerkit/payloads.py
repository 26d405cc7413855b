"""Typed payloads: a handler parameter annotated with a dataclass or a pydantic model gets the decoded body.

The decoder is chosen once, at registration, from the handler's signature; decoding happens per message. A body
that does not decode raises :class:`~consumerkit.errors.PayloadError`, which the supervisor treats as any handler
failure: retried with back-off, then dead-lettered by the queue's redrive policy. A bad message never stops the
worker and is never dropped.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import inspect
import json
import typing
from collections.abc import Callable
from typing import Any

from consumerkit.errors import ConfigError, PayloadError
from consumerkit.message import Message

__all__ = ["Signature", "inspect_handler"]

Decoder = Callable[[Message], Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Signature:
    """How to call a handler: ``decode`` turns a message into its first argument; ``with_message`` says whether a
    second parameter takes the :class:`Message` itself; ``is_async`` whether it is a coroutine function."""

    decode: Decoder | None  # None: the argument is the Message itself
    with_message: bool
    is_async: bool
    payload_type: object


def _body(message: Message) -> str:
    return message.body


def _loads(message: Message) -> Any:
    try:
        return json.loads(message.body)
    except ValueError as error:
        raise PayloadError(f"message {message.id}: body is not JSON: {error}") from None


def _json_of(kind: type) -> Decoder:
    def decode(message: Message) -> Any:
        data = _loads(message)
        if not isinstance(data, kind):
            raise PayloadError(f"message {message.id}: needs a JSON {_JSON_NAMES[kind]}, got {type(data).__name__}")
        return data

    return decode


_JSON_NAMES: dict[type, str] = {dict: "object", list: "array"}


def _dataclass_decoder(cls: type) -> Decoder:
    def decode(message: Message) -> Any:
        data = _loads(message)
        if not isinstance(data, dict):
            raise PayloadError(f"message {message.id}: {cls.__name__} needs a JSON object, got {type(data).__name__}")
        try:
            return cls(**data)
        except TypeError as error:
            raise PayloadError(f"message {message.id}: body does not fit {cls.__name__}: {error}") from None

    return decode


def _pydantic_decoder(cls: Any) -> Decoder:
    def decode(message: Message) -> Any:
        try:
            return cls.model_validate_json(message.body)
        except ValueError as error:  # pydantic's ValidationError is a ValueError
            raise PayloadError(f"message {message.id}: body does not fit {cls.__name__}: {_described(error)}") from None

    return decode


def _described(error: ValueError) -> str:
    """What was wrong, without the input: pydantic's own message quotes the body, and bodies stay out of logs."""
    errors = getattr(error, "errors", None)
    if not callable(errors):
        return str(error)
    try:
        found = errors(include_input=False, include_url=False)
    except TypeError:
        return type(error).__name__
    return "; ".join(f"{'.'.join(str(part) for part in e.get('loc', ())) or '(body)'}: {e.get('msg')}" for e in found)


def decoder_for(annotation: object, where: str) -> Decoder | None:
    """The decoder for one payload type; None for ``Message`` (or no annotation)."""
    if annotation in (inspect.Parameter.empty, Message):
        return None
    if annotation is str:
        return _body
    origin = typing.get_origin(annotation) or annotation
    if origin in (dict, list):
        return _json_of(origin)
    if origin is object or annotation is Any:
        return _loads
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        return _dataclass_decoder(annotation)
    if callable(getattr(annotation, "model_validate_json", None)):
        return _pydantic_decoder(annotation)
    raise ConfigError(
        f"{where}: cannot decode a message into {annotation!r}; annotate it with Message, str, dict, list, "
        "a dataclass or a pydantic model"
    )


def inspect_handler(func: Callable[..., Any], name: str, *, batch: bool) -> Signature:
    """Read a handler's signature once, at registration, so that a mistake is a ConfigError at start-up."""
    try:
        parameters = list(inspect.signature(func).parameters.values())
        hints = typing.get_type_hints(func)
    except (TypeError, ValueError, NameError) as error:
        raise ConfigError(f"handler {name!r}: cannot read its signature: {error}") from None
    required = [p for p in parameters if p.default is inspect.Parameter.empty and p.kind in _POSITIONAL]
    keyword_only = [p.name for p in parameters if p.default is inspect.Parameter.empty and p.kind is p.KEYWORD_ONLY]
    if keyword_only:
        raise ConfigError(f"handler {name!r}: keyword-only parameters {keyword_only} need defaults; nothing fills them")
    if not 1 <= len(required) <= 2 or len(parameters) < 1:
        raise ConfigError(
            f"handler {name!r}: takes {len(required)} required arguments; it must take 1 (the message or its "
            "payload) or 2 (the payload, then the Message)"
        )
    first = hints.get(parameters[0].name, inspect.Parameter.empty)
    with_message = len(required) == 2
    if batch:
        if typing.get_origin(first) not in _LISTS:
            if first is not inspect.Parameter.empty:
                raise ConfigError(f"handler {name!r}: a batch handler takes list[...], not {first!r}")
            payload: object = Message
        else:
            payload = (typing.get_args(first) or (Message,))[0]
        if with_message:
            raise ConfigError(f"handler {name!r}: a batch handler takes one argument, a list")
    else:
        payload = first
    decode = decoder_for(payload, f"handler {name!r}")
    if decode is None and with_message:
        raise ConfigError(f"handler {name!r}: a second argument is only for typed payloads")
    # a callable object counts by its __call__, a decorated function by what it wraps
    plain = inspect.unwrap(func)
    is_async = any(inspect.iscoroutinefunction(f) for f in (func, plain, type(func).__call__))
    return Signature(decode, with_message, is_async, payload)


_LISTS = (list, collections.abc.Sequence, collections.abc.Iterable)
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
