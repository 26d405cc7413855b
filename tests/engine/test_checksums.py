"""The MD5 digests SDKs verify, checked against values recorded from real AWS and an independent encoder.

AWS-recorded digests come from LocalStack's snapshot ``tests/aws/services/sqs/test_sqs.snapshot.json``
(``test_receive_message_message_attribute_names_filters`` and ``test_send_message_with_binary_attributes``),
which LocalStack records against real SQS.
"""

from __future__ import annotations

import hashlib
import struct

import pytest

from consumerkit.engine import Engine, MessageAttributeValue
from consumerkit.engine.checksums import md5_of_attributes, md5_of_body

S = MessageAttributeValue
KENOBI = {"Help.Me": S("String", "Me"), "Hello": S("String", "There"), "General": S("String", "Kenobi")}
TRACEPARENT = b"traceparent\x1e00-774062d6c37081a5a0b9b5b88e30627c-2d2482211f6489da-01"


def aws_md5(attributes: dict[str, MessageAttributeValue]) -> str:
    """AWS's encoding, written out independently: sorted names; name, type and value each preceded by a 4-byte
    big-endian length; a transport byte 1 (String/Number) or 2 (Binary) before the value."""
    out = b""
    for name in sorted(attributes):
        value = attributes[name]
        for part in (name.encode("utf-8"), value.data_type.encode("utf-8")):
            out += struct.pack(">I", len(part)) + part
        if value.binary_value is not None:
            out += b"\x02" + struct.pack(">I", len(value.binary_value)) + value.binary_value
        else:
            data = (value.string_value or "").encode("utf-8")
            out += b"\x01" + struct.pack(">I", len(data)) + data
    return hashlib.md5(out).hexdigest()


@pytest.mark.parametrize("body", ["msg", "héllo wörld", "😀 emoji", "x" * 10_000, "\t\n\r"])
def test_body_md5_is_md5_of_utf8(body: str) -> None:
    assert md5_of_body(body) == hashlib.md5(body.encode("utf-8")).hexdigest()


def test_body_md5_matches_aws_recording() -> None:
    assert md5_of_body("msg") == "6e2baaf3b97dbeef01c0043275f9a0e7"
    assert md5_of_body("test") == "098f6bcd4621d373cade4e832627b4f6"


@pytest.mark.parametrize(
    ("names", "digest"),
    [
        (("General", "Hello", "Help.Me"), "4c360f3fdafd970e05fae2f149d997f5"),
        (("General", "Hello"), "fca026605781cb4126a1e9044df24232"),
        (("Hello",), "a311262e065454b75da111d535b8dacd"),
        (("Hello", "Help.Me"), "83fee93c1bcd8b9a5a923ffacdc636c7"),
    ],
)
def test_string_attributes_md5_matches_aws_recording(names: tuple[str, ...], digest: str) -> None:
    assert md5_of_attributes({n: KENOBI[n] for n in names}) == digest


def test_binary_attribute_md5_matches_aws_recording() -> None:
    attributes = {"attr1": S("Binary", binary_value=TRACEPARENT)}
    assert md5_of_attributes(attributes) == "8cbe4db156db8a94db8b801b7addb984"


def test_attribute_md5_does_not_depend_on_insertion_order() -> None:
    assert md5_of_attributes(dict(reversed(list(KENOBI.items())))) == md5_of_attributes(KENOBI)


@pytest.mark.parametrize(
    "attributes",
    [
        {"n": S("Number", "-12.5e3")},
        {"n": S("Number.int", "42"), "s": S("String.custom", "v")},
        {"ünï": S("String", "välue 😀")},
        {"b": S("Binary.jpg", binary_value=bytes(range(256))), "a": S("String", "x")},
        {f"k{i}": S("String", str(i) * i) for i in range(1, 11)},
    ],
)
def test_attribute_md5_matches_independent_encoding(attributes: dict[str, MessageAttributeValue]) -> None:
    assert md5_of_attributes(attributes) == aws_md5(attributes)


def test_attribute_md5_matches_moto() -> None:
    """moto's SQS computes the same digest with its own code (its authors checked it against the Java SDK)."""
    models = pytest.importorskip("moto.sqs.models")
    attributes = {
        "s": S("String", "hello"),
        "n": S("Number", "3.14"),
        "b": S("Binary", binary_value=b"\x00\x01\xff"),
        "c": S("String.custom", "ünicode"),
    }
    message = models.Message("id", "body")
    message.message_attributes = {
        name: {"DataType": v.data_type, "StringValue": v.string_value}
        if v.binary_value is None
        else {"DataType": v.data_type, "BinaryValue": v.binary_value}
        for name, v in attributes.items()
    }
    assert md5_of_attributes(attributes) == message.attribute_md5


# -- what the engine returns --------------------------------------------------------------------------------


async def test_send_returns_body_and_attribute_md5(engine: Engine, queue: str) -> None:
    sent = await engine.send_message(queue, "msg", attributes=KENOBI)
    assert sent.md5_of_body == "6e2baaf3b97dbeef01c0043275f9a0e7"
    assert sent.md5_of_attributes == "4c360f3fdafd970e05fae2f149d997f5"


async def test_send_without_attributes_has_no_attribute_md5(engine: Engine, queue: str) -> None:
    sent = await engine.send_message(queue, "msg")
    assert sent.md5_of_attributes is None
    assert sent.md5_of_system_attributes is None


async def test_receive_returns_body_md5(engine: Engine, queue: str) -> None:
    await engine.send_message(queue, "héllo")
    [got] = await engine.receive_message(queue)
    assert got.md5_of_body == hashlib.md5("héllo".encode()).hexdigest()


async def test_received_attribute_md5_covers_only_the_returned_attributes(engine: Engine) -> None:
    queue = await engine.create_queue("filters", {"VisibilityTimeout": "0"})
    await engine.send_message(queue, "msg", attributes=KENOBI)
    [every] = await engine.receive_message(queue, message_attribute_names=["All"])
    assert every.md5_of_message_attributes == "4c360f3fdafd970e05fae2f149d997f5"
    [two] = await engine.receive_message(queue, message_attribute_names=["Hello", "General"])
    assert two.md5_of_message_attributes == "fca026605781cb4126a1e9044df24232"
    [one] = await engine.receive_message(queue, message_attribute_names=["Foo", "Hello"])
    assert one.md5_of_message_attributes == "a311262e065454b75da111d535b8dacd"
    [none] = await engine.receive_message(queue)
    assert none.md5_of_message_attributes is None


async def test_binary_attribute_round_trips_with_its_md5(engine: Engine, queue: str) -> None:
    attributes = {"attr1": S("Binary", binary_value=TRACEPARENT)}
    await engine.send_message(queue, "test", attributes=attributes)
    [got] = await engine.receive_message(queue, message_attribute_names=["All"])
    assert got.message_attributes == attributes
    assert got.md5_of_message_attributes == "8cbe4db156db8a94db8b801b7addb984"


async def test_trace_header_has_its_own_system_attribute_md5(engine: Engine, queue: str) -> None:
    """MD5OfMessageSystemAttributes digests AWSTraceHeader as a String attribute, in the same encoding."""
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    sent = await engine.send_message(queue, "msg", trace_header=trace)
    assert sent.md5_of_system_attributes == aws_md5({"AWSTraceHeader": S("String", trace)})
    assert sent.md5_of_attributes is None
