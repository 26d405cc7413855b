"""Reading an envelope's JSON field by field, so that every mistake names its path and the type it needed.

The errors name fields and JSON types, never values: a PayloadError is logged, and message bodies stay out
of logs.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from consumerkit.errors import PayloadError

_JSON_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),  # before int: a bool is an int to Python, not to JSON
    (int, "number"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type, as an error reports it."""
    if value is None:
        return "null"
    return next((name for kind, name in _JSON_TYPES if isinstance(value, kind)), type(value).__name__)


def parse(body: str, kind: str) -> Fields:
    """The body as one JSON object; ``kind`` ("SNS notification") opens every error about it."""
    try:
        data = json.loads(body)
    except ValueError as error:
        raise PayloadError(f"{kind}: body is not JSON: {error}") from None
    return Fields(data, kind, "")


class Fields:
    """One JSON object inside an envelope, at ``path`` (``Records[0].s3``)."""

    __slots__ = ("data", "kind", "path")

    def __init__(self, data: object, kind: str, path: str) -> None:
        if not isinstance(data, dict):
            where = f"field {path!r}" if path else "the body"
            raise PayloadError(f"{kind}: {where} needs a JSON object, got {json_type(data)}")
        self.data: dict[str, Any] = data
        self.kind = kind
        self.path = path

    def where(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def error(self, name: str, problem: str) -> PayloadError:
        return PayloadError(f"{self.kind}: field {self.where(name)!r} {problem}")

    def _get(self, name: str, kind: type, needs: str, *, required: bool) -> Any:
        value = self.data.get(name)
        if value is None:
            if required:
                raise self.error(name, "is missing")
            return None
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise self.error(name, f"needs {needs}, got {json_type(value)}")
        return value

    def text(self, name: str) -> str:
        value: str = self._get(name, str, "a string", required=True)
        return value

    def optional_text(self, name: str) -> str | None:
        """A string that may be absent (or null, as S3 writes some fields)."""
        value: str | None = self._get(name, str, "a string", required=False)
        return value

    def optional_count(self, name: str) -> int | None:
        value: int | None = self._get(name, int, "a whole number", required=False)
        if value is not None and value < 0:
            raise self.error(name, "needs a whole number of at least 0")
        return value

    def time(self, name: str) -> datetime:
        """An ISO 8601 time with its offset (AWS writes ``...Z``), as an aware datetime."""
        text = self.text(name)
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise self.error(name, "needs an ISO 8601 time") from None
        if value.tzinfo is None:
            raise self.error(name, "needs an ISO 8601 time with a UTC offset")
        return value

    def object(self, name: str) -> Fields:
        return Fields(self._get(name, dict, "an object", required=True), self.kind, self.where(name))

    def optional_object(self, name: str) -> Fields | None:
        value = self._get(name, dict, "an object", required=False)
        return None if value is None else Fields(value, self.kind, self.where(name))

    def array(self, name: str) -> list[Any]:
        value: list[Any] = self._get(name, list, "an array", required=True)
        return value
