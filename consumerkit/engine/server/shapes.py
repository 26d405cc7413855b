"""SQS's request and response shapes, read from botocore's own model, in both wire spellings.

The server does not hand-write 23 parsers: botocore ships the SQS model that every current SDK is generated
from, so one walker over it turns a request (a JSON document or a query form) into plain Python values with
every type checked, and turns a reply back into XML for the query protocol. A wrong type is refused here with
the field's full path (``Entries.2.DelaySeconds``), before the engine sees it.

The current model is the JSON one, which lost the query protocol's element names; ``_QUERY_NAMES`` restores
them from the last query-protocol model (botocore 1.34.89, SQS_SEMANTICS.md §3).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

from consumerkit.engine.errors import SqsError
from consumerkit.engine.validation import NOT_XML_CHAR

__all__ = ["decode_json", "decode_query", "encode_xml", "operation", "operation_names", "xml_text"]

# Query element names (struct member or shape → name), from the query model's locationName fields.
_QUERY_NAMES: dict[str, str] = {
    "QueueAttributeMap": "Attribute",
    "MessageSystemAttributeMap": "Attribute",
    "TagMap": "Tag",
    "MessageBodyAttributeMap": "MessageAttribute",
    "MessageBodySystemAttributeMap": "MessageSystemAttribute",
    "AWSAccountIdList": "AWSAccountId",
    "ActionNameList": "ActionName",
    "AttributeNameList": "AttributeName",
    "MessageAttributeNameList": "MessageAttributeName",
    "MessageSystemAttributeList": "MessageSystemAttributeName",
    "QueueUrlList": "QueueUrl",
    "TagKeyList": "TagKey",
    "MessageList": "Message",
    "BatchResultErrorEntryList": "BatchResultErrorEntry",
    "StringList": "StringListValue",
    "BinaryList": "BinaryListValue",
}
_ENTRY_LISTS = (
    "SendMessageBatchRequestEntry",
    "SendMessageBatchResultEntry",
    "DeleteMessageBatchRequestEntry",
    "DeleteMessageBatchResultEntry",
    "ChangeMessageVisibilityBatchRequestEntry",
    "ChangeMessageVisibilityBatchResultEntry",
    "ListMessageMoveTasksResultEntry",
)
_QUERY_NAMES.update({f"{name}List": name for name in _ENTRY_LISTS})
_MAP_PARTS = {"TagMap": ("Key", "Value")}  # every other map spells its entries Name / Value


@cache
def _model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("sqs")


@cache
def operation_names() -> frozenset[str]:
    return frozenset(_model().operation_names)


@cache
def operation(name: str) -> OperationModel:
    return _model().operation_model(name)


# -- JSON: a parsed document in, checked Python values out ------------------------------------------------------


def decode_json(op: OperationModel, document: object) -> dict[str, Any]:
    """The operation's input from a parsed JSON body, every member checked against its shape."""
    shape = op.input_shape
    if shape is None:
        return {}
    return _structure(shape, document, "", _from_json)


def _from_json(shape: Shape, value: object, path: str) -> object:
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        return _structure(shape, value, path + ".", _from_json)
    if kind == "list":
        assert isinstance(shape, ListShape)
        if not isinstance(value, list):
            raise _wrong_type(path, value, "a list")
        return [_from_json(shape.member, item, f"{path}.{i}") for i, item in enumerate(value, 1)]
    if kind == "map":
        assert isinstance(shape, MapShape)
        if not isinstance(value, dict):
            raise _wrong_type(path, value, "a map")
        return {_key(k, path): _from_json(shape.value, v, f"{path}.{k}") for k, v in value.items()}
    return _scalar_json(kind, value, path)


def _scalar_json(kind: str, value: object, path: str) -> object:
    if kind == "string":
        if not isinstance(value, str):
            raise _wrong_type(path, value, "a string")
        return value
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong_type(path, value, "an integer")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _wrong_type(path, value, "a boolean")
        return value
    if kind == "blob":
        if not isinstance(value, str):
            raise _wrong_type(path, value, "a base64 string")
        return _base64(value, path)
    raise _wrong_type(path, value, kind)


def _structure(
    shape: StructureShape, value: object, prefix: str, member: Callable[[Shape, object, str], object]
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _wrong_type(prefix.rstrip(".") or shape.name, value, "an object")
    # Members the model does not know are ignored, as SQS does, so newer clients keep working.
    found = {name: member(shape.members[name], v, prefix + name) for name, v in value.items() if name in shape.members}
    for name in shape.required_members:
        if found.get(name) is None:
            raise SqsError.missing(prefix + name)
    return found


def _key(key: object, path: str) -> str:
    if not isinstance(key, str):  # JSON keys are always strings; a query form's too
        raise _wrong_type(path, key, "a string key")
    return key


def _base64(text: str, path: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SqsError.invalid_value(path, text[:64], "not valid base64.") from None


def _wrong_type(path: str, value: object, expected: str) -> SqsError:
    return SqsError.invalid_value(path, _describe(value), f"must be {expected}.")


def _describe(value: object) -> str:
    """A received value as the client wrote it (JSON spelling: null, true), cut short."""
    if isinstance(value, str | int | float | bool) or value is None:
        return json.dumps(value, ensure_ascii=False)[:64]
    return "[...]" if isinstance(value, list) else "{...}"


# -- query: a flat form in, checked Python values out -----------------------------------------------------------


def decode_query(op: OperationModel, form: Mapping[str, str]) -> dict[str, Any]:
    """The operation's input from a query form (``Attribute.1.Name=...``), checked like a JSON body."""
    shape = op.input_shape
    if shape is None:
        return {}
    return _QueryForm(form).structure(shape, "")


class _QueryForm:
    """Unflattens the query protocol's numbered keys by walking the input shape."""

    def __init__(self, form: Mapping[str, str]) -> None:
        self.form = form
        self.prefixes = {k[:i] for k in form for i, c in enumerate(k) if c == "."} | set(form)

    def present(self, key: str) -> bool:
        return key in self.prefixes

    def structure(self, shape: StructureShape, prefix: str) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name, member in shape.members.items():
            key = prefix + _query_name(name, member)
            if self.present(key):
                found[name] = self.value(member, key)
            elif member.type_name == "list" and self.form.get(prefix + name) == "":
                found[name] = []  # botocore spells an empty list as the bare member name
        for name in shape.required_members:
            if name not in found:
                raise SqsError.missing(prefix + name)
        return found

    def value(self, shape: Shape, key: str) -> object:
        if isinstance(shape, StructureShape):
            return self.structure(shape, key + ".")
        if isinstance(shape, ListShape):
            return [self.value(shape.member, item) for item in self._items(shape, key)]
        if isinstance(shape, MapShape):
            key_part, value_part = _MAP_PARTS.get(shape.name, ("Name", "Value"))
            entries = {}
            for entry in self._numbered(key):
                name = self.form.get(f"{entry}.{key_part}")
                if name is None:
                    raise SqsError.missing(f"{entry}.{key_part}")
                if not self.present(f"{entry}.{value_part}"):
                    raise SqsError.missing(f"{entry}.{value_part}")
                entries[name] = self.value(shape.value, f"{entry}.{value_part}")
            return entries
        return _scalar_query(shape.type_name, self.form.get(key, ""), key)

    def _items(self, shape: ListShape, key: str) -> Iterator[str]:
        if not shape.serialization.get("flattened"):
            key = f"{key}.{_QUERY_NAMES.get(shape.name, 'member')}"
        return self._numbered(key)

    def _numbered(self, key: str) -> Iterator[str]:
        """``key.1``, ``key.2``, ... while they are present: SQS numbers entries from 1 without gaps."""
        n = 1
        while self.present(f"{key}.{n}"):
            yield f"{key}.{n}"
            n += 1


def _query_name(member_name: str, member: Shape) -> str:
    return _QUERY_NAMES.get(member.name, member_name) if member.type_name in ("list", "map") else member_name


def _scalar_query(kind: str, text: str, key: str) -> object:
    if kind == "string":
        return text
    if kind in ("integer", "long"):
        stripped = text.strip()
        if not stripped.lstrip("-").isdigit() or not stripped.isascii():
            raise _wrong_type(key, text, "an integer")
        return int(stripped)
    if kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise _wrong_type(key, text, "true or false")
        return text.lower() == "true"
    if kind == "blob":
        return _base64(text, key)
    raise _wrong_type(key, text, kind)


# -- XML: a reply for the query protocol ------------------------------------------------------------------------

XML_NAMESPACE = "http://queue.amazonaws.com/doc/2012-11-05/"


def encode_xml(op: OperationModel, output: Mapping[str, Any], request_id: str) -> str:
    """The query protocol's reply: ``<OpResponse><OpResult>...</OpResult><ResponseMetadata>``."""
    parts = [f'<?xml version="1.0"?><{op.name}Response xmlns="{XML_NAMESPACE}">']
    if op.output_shape is not None:
        parts.append(f"<{op.name}Result>")
        _xml_members(op.output_shape, output, parts)
        parts.append(f"</{op.name}Result>")
    parts.append(f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{op.name}Response>")
    return "".join(parts)


def _xml_members(shape: Shape, value: Mapping[str, Any], parts: list[str]) -> None:
    assert isinstance(shape, StructureShape)
    for name, member in shape.members.items():
        if value.get(name) is not None:
            _xml(member, _query_name(name, member), value[name], parts)


def _xml(shape: Shape, tag: str, value: Any, parts: list[str]) -> None:
    if isinstance(shape, StructureShape):
        parts.append(f"<{tag}>")
        _xml_members(shape, value, parts)
        parts.append(f"</{tag}>")
    elif isinstance(shape, ListShape):
        item = tag if shape.serialization.get("flattened") else _QUERY_NAMES.get(shape.name, "member")
        if not shape.serialization.get("flattened"):
            parts.append(f"<{tag}>")
        for element in value:
            _xml(shape.member, item, element, parts)
        if not shape.serialization.get("flattened"):
            parts.append(f"</{tag}>")
    elif isinstance(shape, MapShape):
        key_part, value_part = _MAP_PARTS.get(shape.name, ("Name", "Value"))
        for k, v in value.items():
            parts.append(f"<{tag}><{key_part}>{xml_text(k)}</{key_part}>")
            _xml(shape.value, value_part, v, parts)
            parts.append(f"</{tag}>")
    else:
        parts.append(f"<{tag}>{_xml_text(value)}</{tag}>")


def _xml_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return xml_text(str(value))


def xml_text(text: str) -> str:
    """Text as XML 1.0 can carry it. The engine refuses what it would store outside XML's characters, but
    errors quote what clients sent, so every character XML forbids (a control character, a lone surrogate) is
    replaced by U+FFFD here: no reply is ever a document the client's parser rejects. A CR is written as a
    reference, which survives the line-end normalisation a parser does."""
    return escape(NOT_XML_CHAR.sub("\ufffd", text), {'"': "&quot;", "\r": "&#xD;"})
