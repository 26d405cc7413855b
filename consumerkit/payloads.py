"""Typed payloads: a handler parameter annotated with a dataclass or a pydantic model gets the decoded body.

The decoder is chosen once, at registration, from the handler's signature; decoding happens per message. A body
that does not decode raises :class:`~consumerkit.errors.PayloadError`, which the supervisor treats as any handler
failure: retried with back-off, then dead-lettered by the queue's redrive policy. A bad message never stops the
worker and is never dropped.

A type may decode itself: a ``from_body(body)`` classmethod is used before any other rule, which is how the
SNS and S3 envelopes of :mod:`consumerkit.envelopes` plug in, and how a user's own envelope does. A generic
one, ``Envelope[Inner]``, is called as ``from_body(body, inner)`` with the text decoder of each type argument,
so that what it wraps is decoded by these same rules. Decoders work on text and raise without the message id;
``decoder_for`` adds it, once, at the outside.
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

__all__ = ["Signature", "inspect_handler", "text_decoder"]

Decoder = Callable[[Message], Any]
TextDecoder = Callable[[str], Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Signature:
    """How to call a handler: ``decode`` turns a message into its first argument; ``with_message`` says whether a
    second parameter takes the :class:`Message` itself; ``is_async`` whether it is a coroutine function."""

    decode: Decoder | None  # None: the argument is the Message itself
    with_message: bool
    is_async: bool
    payload_type: object


def _text(body: str) -> str:
    return body


def _loads(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError as error:
        raise PayloadError(f"body is not JSON: {error}") from None


def _json_of(kind: type) -> TextDecoder:
    def decode(body: str) -> Any:
        data = _loads(body)
        if not isinstance(data, kind):
            raise PayloadError(f"needs a JSON {_JSON_NAMES[kind]}, got {type(data).__name__}")
        return data

    return decode


_JSON_NAMES: dict[type, str] = {dict: "object", list: "array"}


def _dataclass_decoder(cls: type) -> TextDecoder:
    def decode(body: str) -> Any:
        data = _loads(body)
        if not isinstance(data, dict):
            raise PayloadError(f"{cls.__name__} needs a JSON object, got {type(data).__name__}")
        try:
            return cls(**data)
        except TypeError as error:
            raise PayloadError(f"body does not fit {cls.__name__}: {error}") from None

    return decode


def _pydantic_decoder(cls: Any) -> TextDecoder:
    def decode(body: str) -> Any:
        try:
            return cls.model_validate_json(body)
        except ValueError as error:  # pydantic's ValidationError is a ValueError
            raise PayloadError(f"body does not fit {cls.__name__}: {_described(error)}") from None

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


def _hook_decoder(annotation: object, origin: Any, where: str) -> TextDecoder:
    """A type that decodes itself (``from_body``), as the SNS and S3 envelopes do; a generic one such as
    ``SnsNotification[Order]`` also gets one text decoder per type argument, for what it wraps."""
    inner = [text_decoder(arg, f"{where}, inside {origin.__name__}") for arg in typing.get_args(annotation)]
    from_body = origin.from_body

    def decode(body: str) -> Any:
        return from_body(body, *inner)

    return decode


def text_decoder(annotation: object, where: str) -> TextDecoder:
    """The decoder of a body's text into one payload type (anything but ``Message``, which is no text)."""
    if annotation is str:
        return _text
    origin = typing.get_origin(annotation) or annotation
    if callable(getattr(origin, "from_body", None)):
        return _hook_decoder(annotation, origin, where)
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
        "a dataclass, a pydantic model, or a type with a from_body classmethod"
    )


def decoder_for(annotation: object, where: str) -> Decoder | None:
    """The decoder for one payload type; None for ``Message`` (or no annotation). Its errors name the message."""
    if annotation in (inspect.Parameter.empty, Message):
        return None
    decode_text = text_decoder(annotation, where)

    def decode(message: Message) -> Any:
        try:
            return decode_text(message.body)
        except PayloadError as error:
            raise PayloadError(f"message {message.id}: {error}") from None

    return decode


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
