"""SigV4 verification against requests signed by botocore itself, at a chosen instant.

botocore reads the time through ``botocore.auth.get_current_datetime``; patching that one name signs at any
moment we like, and the verifier's injected clock is set to the same instant, so no test depends on the wall
clock or sleeps.
"""

from __future__ import annotations

import calendar
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from unittest.mock import patch
from urllib.parse import urlsplit

import botocore.session
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSPreparedRequest, AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials as BotoCredentials
from multidict import CIMultiDict

from consumerkit.engine.errors import SqsError
from consumerkit.engine.server.auth import SigV4Verifier, scope_region
from consumerkit.engine.server.config import Credentials

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
ENDPOINT = "http://localhost:9324"
QUEUE_URL = f"{ENDPOINT}/123456789012/orders"
SIGNED_AT = datetime(2026, 1, 1, 12, 0, 0)  # naive UTC, as botocore's clock returns it
SIGNED_EPOCH = float(calendar.timegm(SIGNED_AT.timetuple()))
JSON_BODY = json.dumps({"QueueUrl": QUEUE_URL, "MessageBody": "hello"}).encode()
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)


@dataclass(frozen=True)
class Wire:
    """A request as the HTTP server hands it to the verifier."""

    method: str
    path_qs: str
    headers: CIMultiDict[str]
    body: bytes

    def with_header(self, name: str, value: str) -> Wire:
        headers = self.headers.copy()
        headers[name] = value
        return replace(self, headers=headers)

    def without_header(self, name: str) -> Wire:
        headers = self.headers.copy()
        del headers[name]
        return replace(self, headers=headers)

    @property
    def authorization(self) -> str:
        return self.headers["Authorization"]

    @property
    def signature(self) -> str:
        return self.authorization.rpartition("Signature=")[2]


def on_the_wire(request: AWSRequest | AWSPreparedRequest) -> Wire:
    """What the HTTP client would send: botocore's prepared request, plus the Host header the connection adds."""
    prepared = request.prepare() if isinstance(request, AWSRequest) else request
    url = urlsplit(prepared.url)
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in prepared.headers.items():
        headers.add(name, value.decode() if isinstance(value, bytes) else value)  # the client sends bytes
    headers["Host"] = url.netloc
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    assert body is None or isinstance(body, bytes | bytearray), "these tests send whole bodies, never streams"
    return Wire(prepared.method, url.path + (f"?{url.query}" if url.query else ""), headers, bytes(body or b""))


def sign(
    request: AWSRequest,
    *,
    region: str = "us-east-1",
    secret: str = SECRET,
    access_key: str = AKID,
    token: str | None = None,
    service: str = "sqs",
    at: datetime = SIGNED_AT,
) -> Wire:
    credentials = BotoCredentials(access_key, secret, token)
    with patch("botocore.auth.get_current_datetime", return_value=at):
        SigV4Auth(credentials, service, region).add_auth(request)
    return on_the_wire(request)


def presign(request: AWSRequest, *, expires: int = 60, at: datetime = SIGNED_AT) -> Wire:
    with patch("botocore.auth.get_current_datetime", return_value=at):
        SigV4QueryAuth(BotoCredentials(AKID, SECRET), "sqs", "us-east-1", expires=expires).add_auth(request)
    return on_the_wire(request)


def json_request() -> AWSRequest:
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.SendMessage"}
    return AWSRequest(method="POST", url=f"{ENDPOINT}/", data=JSON_BODY, headers=headers)


def query_post_request() -> AWSRequest:
    body = f"Action=SendMessage&Version=2012-11-05&QueueUrl={QUEUE_URL}&MessageBody=hello+world%21"
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    return AWSRequest(method="POST", url=QUEUE_URL, data=body, headers=headers)


def query_get_request() -> AWSRequest:
    # Values that need encoding: botocore signs them %-encoded but sends spaces as '+'.
    params = {"Action": "ReceiveMessage", "QueueUrl": QUEUE_URL, "MessageAttributeName.1": "a b~c/d", "Version": "2"}
    return AWSRequest(method="GET", url=QUEUE_URL, params=params)


REQUESTS: dict[str, Callable[[], AWSRequest]] = {
    "json": json_request,
    "query-post": query_post_request,
    "query-get": query_get_request,
}


def verifier(clock: float = SIGNED_EPOCH, max_skew: float = 300.0) -> SigV4Verifier:
    return SigV4Verifier([Credentials("OTHERKEY", "other-secret"), Credentials(AKID, SECRET)], lambda: clock, max_skew)


def verify(wire: Wire, **kwargs: float) -> str:
    return verifier(**kwargs).verify(wire.method, wire.path_qs, wire.headers, wire.body)


def rejection(wire: Wire, **kwargs: float) -> SqsError:
    with pytest.raises(SqsError) as caught:
        verify(wire, **kwargs)
    return caught.value


@pytest.fixture(params=sorted(REQUESTS))
def make_request(request: pytest.FixtureRequest) -> Callable[[], AWSRequest]:
    return REQUESTS[request.param]


# -- accepted ---------------------------------------------------------------------------------------------------


def test_a_signed_request_returns_its_region(make_request: Callable[[], AWSRequest]) -> None:
    assert verify(sign(make_request())) == "us-east-1"


@pytest.mark.parametrize("region", ["eu-west-1", "ap-southeast-2", "local"])
def test_the_region_comes_from_the_credential_scope(region: str) -> None:
    assert verify(sign(json_request(), region=region)) == region


def test_the_query_get_request_carries_its_params_in_the_query_string() -> None:
    wire = sign(query_get_request())
    assert wire.method == "GET"
    assert "MessageAttributeName.1=a+b~c%2Fd" in wire.path_qs  # '+' on the wire, '%20' in the signature
    assert verify(wire) == "us-east-1"


def test_a_request_from_a_real_botocore_client_verifies() -> None:
    captured: list[Wire] = []

    class Captured(Exception):
        pass

    def capture(request: AWSPreparedRequest, **_: object) -> None:
        captured.append(on_the_wire(request))
        raise Captured

    session = botocore.session.get_session()
    client: Any = session.create_client(  # Any: botocore types clients only through boto3-stubs
        "sqs",
        region_name="eu-west-1",
        endpoint_url=ENDPOINT,
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET,
        config=Config(retries={"max_attempts": 1}),
    )
    client.meta.events.register("before-send.sqs", capture)
    with patch("botocore.auth.get_current_datetime", return_value=SIGNED_AT), pytest.raises(Captured):
        client.send_message(QueueUrl=QUEUE_URL, MessageBody="héllo wörld")
    [wire] = captured
    assert verify(wire) == "eu-west-1"


def test_headers_added_after_signing_do_not_matter() -> None:
    wire = sign(json_request()).with_header("User-Agent", "proxy/1.0").with_header("X-Forwarded-For", "10.0.0.1")
    assert "user-agent" not in wire.authorization.lower()
    assert verify(wire) == "us-east-1"


def test_a_repeated_signed_header_is_signed_with_all_its_values() -> None:
    request = json_request()
    request.headers["X-Custom"] = "first"
    request.headers["X-Custom"] = "second"  # botocore's headers append: it signs "x-custom:first,second"
    wire = sign(request)
    wire.headers.popall("X-Custom")  # botocore's own sender would collapse the pair; a raw client sends both
    wire.headers.add("X-Custom", "first")
    assert rejection(wire).shape == "SignatureDoesNotMatch"
    wire.headers.add("X-Custom", "second")
    assert verify(wire) == "us-east-1"


def test_a_signed_session_token_verifies_and_is_bound_to_the_signature() -> None:
    wire = sign(json_request(), token="session-token-1")
    assert "x-amz-security-token" in wire.authorization
    assert verify(wire) == "us-east-1"
    assert rejection(wire.with_header("X-Amz-Security-Token", "session-token-2")).message == MISMATCH


def test_a_correct_content_sha256_header_verifies() -> None:
    request = json_request()
    request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(JSON_BODY).hexdigest()
    wire = sign(request)
    assert "x-amz-content-sha256" in wire.authorization
    assert verify(wire) == "us-east-1"


@pytest.mark.parametrize("claimed", ["UNSIGNED-PAYLOAD", "0" * 64])
def test_a_content_sha256_header_that_is_not_the_body_hash_is_refused(claimed: str) -> None:
    request = json_request()
    request.headers["X-Amz-Content-SHA256"] = claimed
    error = rejection(sign(request))  # correctly signed, yet the body would be unauthenticated
    assert error.shape == "SignatureDoesNotMatch"
    assert "x-amz-content-sha256" in error.message


def test_a_date_header_instead_of_x_amz_date_verifies() -> None:
    request = json_request()
    request.headers["Date"] = "placeholder"  # botocore then signs the Date header and drops X-Amz-Date
    wire = sign(request)
    assert "X-Amz-Date" not in wire.headers
    assert wire.headers["Date"] == "Thu, 01 Jan 2026 12:00:00 -0000"
    assert verify(wire) == "us-east-1"


def test_skew_up_to_the_limit_is_accepted() -> None:
    wire = sign(json_request())
    assert verify(wire, clock=SIGNED_EPOCH + 300) == "us-east-1"
    assert verify(wire, clock=SIGNED_EPOCH - 300) == "us-east-1"


# -- refused ----------------------------------------------------------------------------------------------------


def tampered_body(wire: Wire) -> Wire:
    return replace(wire, body=wire.body.replace(b"hello", b"HELLO"))


def tampered_header(wire: Wire) -> Wire:
    return wire.with_header("X-Amz-Target", "AmazonSQS.DeleteQueue")


def tampered_path(wire: Wire) -> Wire:
    return replace(wire, path_qs=wire.path_qs.replace("/orders", "/payments"))


def tampered_host(wire: Wire) -> Wire:
    return wire.with_header("Host", "evil.example:9324")


def tampered_method(wire: Wire) -> Wire:
    return replace(wire, method="PUT")


@pytest.mark.parametrize(
    ("make", "tamper"),
    [
        (json_request, tampered_body),
        (json_request, tampered_header),
        (json_request, tampered_host),
        (json_request, tampered_method),
        (query_post_request, tampered_body),
        (query_post_request, tampered_path),
        (query_get_request, tampered_path),
        (query_get_request, lambda w: replace(w, path_qs=w.path_qs.replace("ReceiveMessage", "PurgeQueue"))),
        (query_get_request, lambda w: replace(w, path_qs=w.path_qs + "&Extra=1")),
    ],
)
def test_a_tampered_request_does_not_match(make: Callable[[], AWSRequest], tamper: Callable[[Wire], Wire]) -> None:
    wire = sign(make())
    tampered = tamper(wire)
    assert tampered != wire
    error = rejection(tampered)
    assert (error.shape, error.code, error.status) == ("SignatureDoesNotMatch", "SignatureDoesNotMatch", 403)
    assert error.message == MISMATCH


def test_the_wrong_secret_does_not_match(make_request: Callable[[], AWSRequest]) -> None:
    error = rejection(sign(make_request(), secret="not-the-secret"))
    assert (error.shape, error.message) == ("SignatureDoesNotMatch", MISMATCH)


def test_a_signature_that_is_not_hex_does_not_match() -> None:
    wire = sign(json_request())
    bad = wire.with_header("Authorization", wire.authorization.replace(wire.signature, "ünïcode"))
    assert rejection(bad).message == MISMATCH


def test_an_unknown_access_key_is_an_invalid_client_token() -> None:
    error = rejection(sign(json_request(), access_key="AKIDUNKNOWN"))
    assert (error.shape, error.status) == ("InvalidClientTokenId", 403)
    assert error.message == "The security token included in the request is invalid."


def test_an_unsigned_request_is_denied(make_request: Callable[[], AWSRequest]) -> None:
    error = rejection(on_the_wire(make_request()))
    assert (error.shape, error.status) == ("AccessDenied", 403)
    assert "not signed" in error.message


def test_a_stale_signature_has_expired() -> None:
    error = rejection(sign(json_request()), clock=SIGNED_EPOCH + 301)
    assert error.shape == "SignatureDoesNotMatch"
    assert error.message == (
        "Signature expired: 20260101T120000Z is now earlier than 20260101T120001Z (20260101T120501Z - 5 min.)"
    )


def test_a_future_signature_is_not_yet_current() -> None:
    error = rejection(sign(json_request()), clock=SIGNED_EPOCH - 301)
    assert error.shape == "SignatureDoesNotMatch"
    assert error.message == (
        "Signature not yet current: 20260101T120000Z is still later than 20260101T115959Z (20260101T115459Z + 5 min.)"
    )


def test_the_skew_limit_is_configurable() -> None:
    error = rejection(sign(json_request()), clock=SIGNED_EPOCH + 31, max_skew=30)
    assert error.message.endswith("(20260101T120031Z - 30 sec.)")


def test_a_scope_for_another_service_does_not_match() -> None:
    error = rejection(sign(json_request(), service="sns"))
    assert error.shape == "SignatureDoesNotMatch"
    assert "Credential should be scoped to correct service: 'sqs'" in error.message


def test_a_scope_date_other_than_the_request_date_does_not_match() -> None:
    wire = sign(json_request(), at=SIGNED_AT.replace(hour=23, minute=59, second=59))
    moved = wire.with_header("X-Amz-Date", "20260102T000001Z")
    error = rejection(moved, clock=SIGNED_EPOCH + 12 * 3600)
    assert error.shape == "SignatureDoesNotMatch"
    assert "Date in Credential scope does not match" in error.message
    assert "'20260101' != '20260102'" in error.message


def test_a_signed_header_missing_from_the_request_does_not_match() -> None:
    error = rejection(sign(json_request()).without_header("X-Amz-Target"))
    assert error.shape == "SignatureDoesNotMatch"
    assert "'x-amz-target' is missing" in error.message


def _authorization(wire: Wire, new: str) -> Wire:
    return wire.with_header("Authorization", new)


@pytest.mark.parametrize(
    ("breaks", "named"),
    [
        (lambda w: _authorization(w, w.authorization.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1")), "AWS4-HMAC-SHA1"),
        (lambda w: _authorization(w, f"AWS {AKID}:c2lnbmF0dXJl"), "only AWS4-HMAC-SHA256"),
        (lambda w: _authorization(w, "AWS4-HMAC-SHA256"), "requires 'Credential' parameter"),
        (lambda w: _authorization(w, w.authorization.replace("Credential=", "Cred=")), "requires 'Credential'"),
        (lambda w: _authorization(w, w.authorization.replace("SignedHeaders=", "Headers=")), "'SignedHeaders'"),
        (lambda w: _authorization(w, w.authorization.replace("Signature=", "Sig=")), "requires 'Signature'"),
        (lambda w: _authorization(w, w.authorization.replace("Signature=", "Signature ")), "missing equal-sign"),
        (lambda w: _authorization(w, w.authorization.replace("/us-east-1/sqs", "/sqs")), "5 slash-delimited"),
        (lambda w: _authorization(w, w.authorization.replace("aws4_request", "aws5_request")), "terminator"),
        (lambda w: _authorization(w, w.authorization.replace("us-east-1", "US EAST")), "valid region"),
        (lambda w: _authorization(w, w.authorization.replace("host;", "")), "'Host' must be a signed header"),
        (lambda w: _authorization(w, w.authorization.replace("host;", ";")), "empty header name"),
        (lambda w: w.without_header("X-Amz-Date"), "'X-Amz-Date' or a 'Date' header"),
        (lambda w: w.with_header("X-Amz-Date", "2026-01-01T12:00:00Z"), "ISO-8601 basic format"),
        (lambda w: w.without_header("X-Amz-Date").with_header("Date", "yesterday"), "Date header 'yesterday'"),
        (lambda w: replace(w, headers=_twice(w.headers, "Authorization")), "more than one Authorization"),
    ],
)
def test_a_malformed_signature_is_refused_naming_the_fault(breaks: Callable[[Wire], Wire], named: str) -> None:
    error = rejection(breaks(sign(json_request())))
    assert error.shape in ("IncompleteSignature", "SignatureDoesNotMatch")  # malformed (400), bad scope (403)
    assert named in error.message


def _twice(headers: CIMultiDict[str], name: str) -> CIMultiDict[str]:
    doubled = headers.copy()
    doubled.add(name, headers[name])
    return doubled


# -- presigned (query-string) requests ---------------------------------------------------------------------------


def test_a_presigned_request_verifies() -> None:
    wire = presign(query_get_request())
    assert "Authorization" not in wire.headers
    assert "X-Amz-Signature=" in wire.path_qs
    assert verify(wire, clock=SIGNED_EPOCH + 59) == "us-east-1"


def test_a_tampered_presigned_request_does_not_match() -> None:
    wire = presign(query_get_request())
    error = rejection(replace(wire, path_qs=wire.path_qs.replace("ReceiveMessage", "DeleteQueue")))
    assert error.message == MISMATCH


def test_a_presigned_request_expires_after_its_own_lifetime() -> None:
    error = rejection(presign(query_get_request(), expires=60), clock=SIGNED_EPOCH + 61)
    assert error.message == (
        "Signature expired: 20260101T120000Z is now earlier than 20260101T120001Z (20260101T120101Z - 1 min.)"
    )


def test_a_presigned_request_missing_a_parameter_names_it() -> None:
    wire = presign(query_get_request())
    stripped = "&".join(p for p in wire.path_qs.split("&") if not p.startswith("X-Amz-SignedHeaders="))
    error = rejection(replace(wire, path_qs=stripped))
    assert (error.shape, error.status) == ("IncompleteSignature", 400)
    assert "missing: X-Amz-SignedHeaders" in error.message


def test_a_presigned_request_with_an_out_of_range_lifetime_is_refused() -> None:
    wire = presign(query_get_request())
    error = rejection(replace(wire, path_qs=wire.path_qs.replace("X-Amz-Expires=60", "X-Amz-Expires=999999")))
    assert "X-Amz-Expires must be a whole number of seconds from 1 to 604800" in error.message


def test_header_and_query_authentication_together_are_refused() -> None:
    wire = presign(query_get_request()).with_header("Authorization", sign(json_request()).authorization)
    assert "Only one auth mechanism allowed" in rejection(wire).message


# -- secrets stay secret -----------------------------------------------------------------------------------------


def every_rejection() -> Iterator[tuple[SqsError, str]]:
    """One error of each kind, with the signature the request carried."""
    wire = sign(json_request())
    for broken in (
        tampered_body(wire),
        tampered_header(wire),
        wire.without_header("X-Amz-Target"),
        wire.with_header("X-Amz-Date", "garbage"),
        _authorization(wire, wire.authorization.replace("Signature=", "Signature ")),
        _authorization(wire, wire.authorization.replace("host;", "")),
    ):
        yield rejection(broken), wire.signature
    for clock in (SIGNED_EPOCH + 1000, SIGNED_EPOCH - 1000):
        yield rejection(wire, clock=clock), wire.signature
    wrong = sign(json_request(), secret="not-the-secret")
    yield rejection(wrong), wrong.signature
    unknown = sign(json_request(), access_key="AKIDUNKNOWN")
    yield rejection(unknown), unknown.signature


def test_no_error_reveals_the_secret_or_a_signature() -> None:
    errors = list(every_rejection())
    assert len(errors) == 10
    for error, signature in errors:
        for text in (str(error), repr(error), error.message):
            assert SECRET not in text
            assert signature not in text


def test_the_verifier_repr_shows_keys_not_secrets() -> None:
    text = repr(verifier())
    assert AKID in text
    assert SECRET not in text


# -- scope_region ------------------------------------------------------------------------------------------------


def test_scope_region_reads_the_credential_scope() -> None:
    assert scope_region(sign(json_request(), region="eu-west-1").headers) == "eu-west-1"


def test_scope_region_does_not_verify() -> None:
    wire = sign(
        json_request(), region="eu-central-1", secret="anything", service="sns", at=SIGNED_AT - timedelta(days=9)
    )
    assert scope_region(wire.headers) == "eu-central-1"


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "AWS AKID:signature",
        "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=abc",
        "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1, SignedHeaders=host, Signature=abc",
        "AWS4-HMAC-SHA256 Credential=AKID/20260101/../sqs/aws4_request, SignedHeaders=host, Signature=abc",
        "AWS4-HMAC-SHA256 Credential=AKID/20260101/us east 1/sqs/aws4_request, SignedHeaders=host, Signature=abc",
    ],
)
def test_scope_region_is_none_without_a_usable_scope(authorization: str | None) -> None:
    headers: CIMultiDict[str] = CIMultiDict({"Host": "localhost"})
    if authorization is not None:
        headers["Authorization"] = authorization
    assert scope_region(headers) is None
