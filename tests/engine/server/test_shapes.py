"""The model-driven codecs: each wire spelling in, the same checked members out; XML replies as SDKs parse them."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from consumerkit.engine.errors import SqsError
from consumerkit.engine.server import shapes


def _op(name: str):  # type: ignore[no-untyped-def]
    return shapes.operation(name)


def test_json_members_are_checked_and_blobs_decoded() -> None:
    params = shapes.decode_json(
        _op("SendMessage"),
        {
            "QueueUrl": "q",
            "MessageBody": "b",
            "DelaySeconds": 5,
            "MessageAttributes": {"x": {"DataType": "Binary", "BinaryValue": "AAE="}},
            "SomethingNew": True,  # members a newer SDK knows and we do not are ignored, as SQS does
        },
    )
    assert params == {
        "QueueUrl": "q",
        "MessageBody": "b",
        "DelaySeconds": 5,
        "MessageAttributes": {"x": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}},
    }


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"QueueUrl": 5, "MessageBody": "b"}, "QueueUrl"),
        ({"QueueUrl": "q", "MessageBody": "b", "DelaySeconds": "5"}, "DelaySeconds"),
        ({"QueueUrl": "q", "MessageBody": "b", "DelaySeconds": True}, "DelaySeconds"),
        ({"QueueUrl": "q", "MessageBody": "b", "MessageAttributes": []}, "MessageAttributes"),
        ({"QueueUrl": "q", "MessageBody": "b", "MessageAttributes": {"x": "y"}}, "MessageAttributes.x"),
        (
            {
                "QueueUrl": "q",
                "MessageBody": "b",
                "MessageAttributes": {"x": {"DataType": "Binary", "BinaryValue": "!"}},
            },
            "MessageAttributes.x.BinaryValue",
        ),
    ],
)
def test_json_wrong_types_name_the_field(document: dict[str, object], path: str) -> None:
    with pytest.raises(SqsError) as caught:
        shapes.decode_json(_op("SendMessage"), document)
    assert caught.value.shape == "InvalidParameterValueException"
    assert f"for parameter {path} is invalid" in caught.value.message


def test_json_missing_members_name_their_path() -> None:
    with pytest.raises(SqsError) as caught:
        shapes.decode_json(_op("DeleteMessageBatch"), {"QueueUrl": "q", "Entries": [{"Id": "a"}]})
    assert caught.value.shape == "MissingRequiredParameterException"
    assert caught.value.message == "The request must contain the parameter Entries.1.ReceiptHandle."


def test_json_document_must_be_an_object() -> None:
    with pytest.raises(SqsError, match=r"Value \[\.\.\.\] for parameter ListQueuesRequest is invalid"):
        shapes.decode_json(_op("ListQueues"), [1, 2])


def test_query_form_unflattens_lists_maps_and_entries() -> None:
    form = {
        "QueueUrl": "q",
        "SendMessageBatchRequestEntry.1.Id": "a",
        "SendMessageBatchRequestEntry.1.MessageBody": "one",
        "SendMessageBatchRequestEntry.1.DelaySeconds": "3",
        "SendMessageBatchRequestEntry.1.MessageAttribute.1.Name": "n",
        "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType": "Number",
        "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue": "7",
        "SendMessageBatchRequestEntry.2.Id": "b",
        "SendMessageBatchRequestEntry.2.MessageBody": "two",
    }
    assert shapes.decode_query(_op("SendMessageBatch"), form) == {
        "QueueUrl": "q",
        "Entries": [
            {
                "Id": "a",
                "MessageBody": "one",
                "DelaySeconds": 3,
                "MessageAttributes": {"n": {"DataType": "Number", "StringValue": "7"}},
            },
            {"Id": "b", "MessageBody": "two"},
        ],
    }


def test_query_form_tags_attributes_and_name_lists() -> None:
    created = shapes.decode_query(
        _op("CreateQueue"),
        {
            "QueueName": "q",
            "Attribute.1.Name": "DelaySeconds",
            "Attribute.1.Value": "5",
            "Tag.1.Key": "team",
            "Tag.1.Value": "video",
        },
    )
    assert created == {"QueueName": "q", "Attributes": {"DelaySeconds": "5"}, "tags": {"team": "video"}}
    received = shapes.decode_query(
        _op("ReceiveMessage"),
        {"QueueUrl": "q", "AttributeName.1": "All", "MessageAttributeName.1": "a", "MessageAttributeName.2": "b.*"},
    )
    assert received == {"QueueUrl": "q", "AttributeNames": ["All"], "MessageAttributeNames": ["a", "b.*"]}


def test_query_form_empty_list_is_the_bare_member_name() -> None:
    """botocore spells an empty list as ``Entries=`` rather than numbering nothing."""
    assert shapes.decode_query(_op("DeleteMessageBatch"), {"QueueUrl": "q", "Entries": ""}) == {
        "QueueUrl": "q",
        "Entries": [],
    }


@pytest.mark.parametrize(
    ("form", "path"),
    [
        ({"QueueUrl": "q", "MaxNumberOfMessages": "ten"}, "MaxNumberOfMessages"),
        ({"QueueUrl": "q", "MaxNumberOfMessages": "١٠"}, "MaxNumberOfMessages"),  # non-ASCII digits
        ({"QueueUrl": "q", "WaitTimeSeconds": ""}, "WaitTimeSeconds"),
    ],
)
def test_query_integers_are_strict(form: dict[str, str], path: str) -> None:
    with pytest.raises(SqsError) as caught:
        shapes.decode_query(_op("ReceiveMessage"), form)
    assert f"for parameter {path} is invalid" in caught.value.message


def test_query_map_entry_without_its_name_is_refused() -> None:
    with pytest.raises(SqsError, match=r"Attribute\.1\.Name"):
        shapes.decode_query(_op("SetQueueAttributes"), {"QueueUrl": "q", "Attribute.1.Value": "5"})


def test_xml_reply_is_wrapped_and_escaped() -> None:
    body = shapes.encode_xml(
        _op("ReceiveMessage"),
        {
            "Messages": [
                {
                    "MessageId": "m",
                    "Body": 'a<b>&"c"\r\n',
                    "Attributes": {"SentTimestamp": "1"},
                    "MessageAttributes": {"x": {"DataType": "Binary", "BinaryValue": b"\x00"}},
                }
            ]
        },
        "rid",
    )
    root = ET.fromstring(body)
    ns = {"q": shapes.XML_NAMESPACE}
    message = root.find("q:ReceiveMessageResult/q:Message", ns)
    assert message is not None
    assert message.findtext("q:Body", namespaces=ns) == 'a<b>&"c"\r\n'  # \r survives XML's newline folding
    assert message.findtext("q:Attribute/q:Name", namespaces=ns) == "SentTimestamp"
    assert message.findtext("q:MessageAttribute/q:Value/q:BinaryValue", namespaces=ns) == "AA=="
    assert root.findtext("q:ResponseMetadata/q:RequestId", namespaces=ns) == "rid"


def test_xml_reply_without_output_has_only_metadata() -> None:
    root = ET.fromstring(shapes.encode_xml(_op("DeleteQueue"), {}, "rid"))
    assert [child.tag.split("}")[1] for child in root] == ["ResponseMetadata"]


def test_xml_flattened_lists_repeat_their_element() -> None:
    root = ET.fromstring(shapes.encode_xml(_op("ListQueues"), {"QueueUrls": ["u1", "u2"]}, "rid"))
    ns = {"q": shapes.XML_NAMESPACE}
    assert [e.text for e in root.findall("q:ListQueuesResult/q:QueueUrl", ns)] == ["u1", "u2"]
    root = ET.fromstring(
        shapes.encode_xml(
            _op("SendMessageBatch"),
            {"Successful": [], "Failed": [{"Id": "a", "SenderFault": True, "Code": "C", "Message": "M"}]},
            "rid",
        )
    )
    failed = root.find("q:SendMessageBatchResult/q:BatchResultErrorEntry", ns)
    assert failed is not None and failed.findtext("q:SenderFault", namespaces=ns) == "true"


NOT_XML = "\x00\x01\x08\x0b\x1f\ud83d\udc00\ufffe\uffff"


def test_xml_replies_replace_what_xml_cannot_carry() -> None:
    """The engine refuses such characters in what it stores, but a reply must be valid XML whatever reaches it:
    each one XML 1.0 forbids becomes U+FFFD, keys and values alike, and the rest is kept."""
    body = shapes.encode_xml(_op("ListQueueTags"), {"Tags": {f"k{NOT_XML}": f"v{NOT_XML}\t\n\r😀"}}, "rid")
    root = ET.fromstring(body.encode("utf-8"))
    ns = {"q": shapes.XML_NAMESPACE}
    assert root.findtext("q:ListQueueTagsResult/q:Tag/q:Key", namespaces=ns) == "k" + "\ufffd" * len(NOT_XML)
    assert root.findtext("q:ListQueueTagsResult/q:Tag/q:Value", namespaces=ns) == (
        "v" + "\ufffd" * len(NOT_XML) + "\t\n\r😀"
    )


def test_xml_text_keeps_every_character_xml_allows() -> None:
    allowed = "\t\n\r \ud7ff\ue000\ufffd\U00010000\U0010ffff<&>\"'"
    assert ET.fromstring(f"<a>{shapes.xml_text(allowed)}</a>").text == allowed
