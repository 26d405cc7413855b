"""Signature Version 4 checks for ``consumerkit serve``.

The signature is recomputed with botocore's own signer rather than a second implementation of the algorithm:
botocore is what signs the requests we expect, so agreeing with it byte for byte is the whole point, and its
canonicalisation rules (path double-encoding, query sorting, header trimming) are the ones clients follow.
We feed it the request as received, the timestamp the client claims and exactly the headers the client says it
signed, then compare in constant time.

Neither the secret key nor any signature ever reaches an error message: errors travel back to the client and into
logs, and the signature we computed is exactly what a forger of that request lacks.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials as BotoCredentials

from consumerkit.engine.errors import SqsError
from consumerkit.engine.server.config import Credentials

__all__ = ["SigV4Verifier", "scope_region"]

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "sqs"
TERMINATOR = "aws4_request"
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
MAX_PRESIGNED_EXPIRES = 7 * 24 * 3600  # SigV4: a presigned request lives at most seven days

# AWS answers a malformed signature (a missing or garbled Authorization part) with IncompleteSignature, 400,
# where a well-formed but wrong or unknown one is 403 (errors.SPECS has both).
_MALFORMED = "IncompleteSignature"
_MISMATCH_TEXT = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
_SCOPE_DATE = re.compile(r"\d{8}")
# The region ends up in queue URLs and ARNs, so only what a region name can look like is let through.
_REGION = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
_QUERY_AUTH = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature")


@dataclass(frozen=True, slots=True)
class _Scope:
    """The credential scope, ``AKID/YYYYMMDD/region/service/aws4_request``, split into its parts."""

    access_key: str
    date: str
    region: str
    service: str
    terminator: str


@dataclass(frozen=True, slots=True)
class _Claim:
    """What a request says about its own signature, whether it came in a header or in the query string."""

    scope: _Scope
    timestamp: str  # the X-Amz-Date form the client put into its string to sign
    signed_headers: tuple[str, ...]
    params: tuple[tuple[str, str], ...]  # the query as signed: presigned requests leave X-Amz-Signature out
    lifetime: float | None  # X-Amz-Expires of a presigned request; None for header auth
    signature: str = field(repr=False)


class SigV4Verifier:
    """Checks requests against a fixed set of access keys; the clock is injected so skew rules test without sleeping."""

    def __init__(
        self, credentials: Iterable[Credentials], clock: Callable[[], float] = time.time, max_skew: float = 300.0
    ) -> None:
        self._secrets = {c.access_key: c.secret_key for c in credentials}
        self._clock = clock
        self._max_skew = max_skew

    def __repr__(self) -> str:
        return f"SigV4Verifier(access_keys={sorted(self._secrets)!r}, max_skew={self._max_skew!r})"

    def verify(self, method: str, path_qs: str, headers: Mapping[str, str], body: bytes) -> str:
        """Check a request's SigV4 signature; return the region of its credential scope. Raise SqsError otherwise."""
        path, _, query = path_qs.partition("?")
        claim = _claim(headers, _query_pairs(query))
        _check_scope(claim)
        secret = self._secret(claim.scope.access_key)
        self._check_time(claim)
        _check_content_hash(headers, body)
        expected = _recompute(method, path, headers, body, claim, secret)
        if not hmac.compare_digest(expected.encode(), claim.signature.encode()):
            raise SqsError("SignatureDoesNotMatch", _MISMATCH_TEXT)
        return claim.scope.region

    def _secret(self, access_key: str) -> str:
        try:
            return self._secrets[access_key]
        except KeyError:
            raise SqsError("InvalidClientTokenId", "The security token included in the request is invalid.") from None

    def _check_time(self, claim: _Claim) -> None:
        """AWS's skew rule: a signature is good from ``max_skew`` before its date until ``max_skew`` after it,
        or until its own ``X-Amz-Expires`` for a presigned request."""
        now = self._clock()
        signed_at = _parse_amz_date(claim.timestamp).timestamp()
        past = self._max_skew if claim.lifetime is None else claim.lifetime
        if now - signed_at > past:
            raise SqsError(
                "SignatureDoesNotMatch",
                f"Signature expired: {claim.timestamp} is now earlier than {_amz(now - past)} "
                f"({_amz(now)} - {_span(past)})",
            )
        if signed_at - now > self._max_skew:
            raise SqsError(
                "SignatureDoesNotMatch",
                f"Signature not yet current: {claim.timestamp} is still later than {_amz(now + self._max_skew)} "
                f"({_amz(now)} + {_span(self._max_skew)})",
            )


def scope_region(headers: Mapping[str, str]) -> str | None:
    """The region named in an Authorization header's credential scope, without verifying it (used when the server
    runs without credentials); None if absent/unparsable."""
    authorization = headers.get("Authorization")
    if authorization is None:
        return None
    try:
        fields = _authorization_fields(authorization)
        region = _parse_scope(fields.get("Credential", ""), "Credential").region
    except SqsError:
        return None
    return region if _REGION.fullmatch(region) else None


# -- reading the claim ------------------------------------------------------------------------------------------


def _claim(headers: Mapping[str, str], params: list[tuple[str, str]]) -> _Claim:
    authorizations = _all_values(headers, "Authorization")
    if len(authorizations) > 1:
        raise _malformed("The request has more than one Authorization header.")
    authorization = authorizations[0] if authorizations else None
    presigned = any(name in _QUERY_AUTH for name, _ in params)
    if authorization is not None and presigned:
        raise _malformed(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header "
            "should be specified."
        )
    if authorization is not None:
        return _header_claim(authorization, headers, params)
    if presigned:
        return _query_claim(params)
    raise SqsError(
        "AccessDenied",
        "The request is not signed: it carries neither an Authorization header nor X-Amz-* query parameters. "
        "This server requires AWS Signature Version 4 with one of its access keys.",
    )


def _header_claim(authorization: str, headers: Mapping[str, str], params: list[tuple[str, str]]) -> _Claim:
    fields = _authorization_fields(authorization)
    timestamp = _header_timestamp(headers)
    # AWS's IncompleteSignature wording, one sentence per missing piece, so a hand-rolled client sees them all.
    problems = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if not fields.get(name)
    ]
    if timestamp is None:
        problems.append("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    if problems or timestamp is None:
        raise _malformed(" ".join(problems))
    return _Claim(
        scope=_parse_scope(fields["Credential"], "Credential"),
        timestamp=timestamp,
        signed_headers=_parse_signed_headers(fields["SignedHeaders"], "SignedHeaders"),
        params=tuple(params),
        lifetime=None,
        signature=fields["Signature"],
    )


def _query_claim(params: list[tuple[str, str]]) -> _Claim:
    """A presigned request: the five X-Amz-* parameters stand in for the header; all but the signature are signed."""
    auth = _single_values(params, (*_QUERY_AUTH, "X-Amz-Expires"))
    missing = [name for name in _QUERY_AUTH if not auth.get(name)]
    if missing:
        raise _malformed(
            "AWS query-string authentication requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, "
            f"X-Amz-SignedHeaders and X-Amz-Signature parameters; missing: {', '.join(missing)}."
        )
    if auth["X-Amz-Algorithm"] != ALGORITHM:
        raise _malformed(f"X-Amz-Algorithm only supports {ALGORITHM}, got {_quoted(auth['X-Amz-Algorithm'])}.")
    return _Claim(
        scope=_parse_scope(auth["X-Amz-Credential"], "X-Amz-Credential"),
        timestamp=_checked_amz_date(auth["X-Amz-Date"], "X-Amz-Date"),
        signed_headers=_parse_signed_headers(auth["X-Amz-SignedHeaders"], "X-Amz-SignedHeaders"),
        params=tuple((k, v) for k, v in params if k != "X-Amz-Signature"),
        lifetime=_parse_expires(auth.get("X-Amz-Expires")),
        signature=auth["X-Amz-Signature"],
    )


def _authorization_fields(authorization: str) -> dict[str, str]:
    """``AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`` as a dict; clients differ on the
    space after each comma, so both spellings are read."""
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise _malformed(
            f"Unsupported Authorization type {_quoted(algorithm)}: only {ALGORITHM} (Signature Version 4) is accepted."
        )
    fields: dict[str, str] = {}
    for position, element in enumerate(rest.split(","), start=1):
        if not element.strip():
            continue  # a bare algorithm name: reported below as each missing parameter
        name, equals, value = element.strip().partition("=")
        if not equals:
            # The element itself is not quoted: it may be the signature with its '=' lost.
            raise _malformed(f"Authorization header element {position} is not a key=value pair (missing equal-sign).")
        fields[name] = value
    return fields


def _header_timestamp(headers: Mapping[str, str]) -> str | None:
    """The timestamp as the client signed it: X-Amz-Date, or else the HTTP Date header, which botocore uses
    instead when a Date header is present."""
    amz_date = headers.get("X-Amz-Date")
    if amz_date is not None:
        return _checked_amz_date(amz_date, "X-Amz-Date")
    http_date = headers.get("Date")
    if http_date is None:
        return None
    try:
        parsed = parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        raise _malformed(f"Date header {_quoted(http_date)} is not an RFC 7231 date.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime(AMZ_DATE_FORMAT)


def _parse_scope(credential: str, where: str) -> _Scope:
    parts = credential.split("/")
    if len(parts) != 5 or not all(parts):
        raise _malformed(
            f"{where} must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, "
            f"got {_quoted(credential)}."
        )
    return _Scope(*parts)


def _parse_signed_headers(text: str, where: str) -> tuple[str, ...]:
    names = tuple(name.strip().lower() for name in text.split(";"))
    if not all(names):
        raise _malformed(f"{where} {_quoted(text)} has an empty header name.")
    if "host" not in names:
        raise _malformed(f"'Host' must be a signed header ({where} is {_quoted(text)}).")
    return names


def _parse_expires(text: str | None) -> float | None:
    if text is None:
        return None
    if not text.isdigit() or not 1 <= int(text) <= MAX_PRESIGNED_EXPIRES:
        raise _malformed(
            f"X-Amz-Expires must be a whole number of seconds from 1 to {MAX_PRESIGNED_EXPIRES}, got {_quoted(text)}."
        )
    return float(text)


def _checked_amz_date(text: str, where: str) -> str:
    try:
        _parse_amz_date(text)
    except ValueError:
        raise _malformed(
            f"{where} must be in ISO-8601 basic format (YYYYMMDD'T'HHMMSS'Z'), got {_quoted(text)}."
        ) from None
    return text


def _parse_amz_date(text: str) -> datetime:
    if not _AMZ_DATE.fullmatch(text):
        raise ValueError(text)
    return datetime.strptime(text, AMZ_DATE_FORMAT).replace(tzinfo=UTC)


def _query_pairs(query: str) -> list[tuple[str, str]]:
    """The query decoded, so that botocore re-encodes it canonically: clients put ``+`` or ``%20`` on the wire
    (botocore itself sends ``+``) but all sign ``%20``."""
    return parse_qsl(query, keep_blank_values=True)


def _single_values(params: list[tuple[str, str]], names: Sequence[str]) -> dict[str, str]:
    """The auth parameters of a presigned request; a repeated one is ambiguous, so it is refused."""
    found: dict[str, str] = {}
    for name, value in params:
        if name in names:
            if name in found:
                raise _malformed(f"Query parameter {name} appears more than once.")
            found[name] = value
    return found


# -- checking the claim -----------------------------------------------------------------------------------------


def _check_scope(claim: _Claim) -> None:
    """The scope rules AWS enforces before it looks at the signature, with AWS's wording."""
    scope = claim.scope
    if scope.service != SERVICE:
        raise SqsError("SignatureDoesNotMatch", f"Credential should be scoped to correct service: '{SERVICE}'. ")
    if scope.terminator != TERMINATOR:
        raise SqsError(
            "SignatureDoesNotMatch",
            f"Credential should be scoped with a valid terminator: '{TERMINATOR}', not {_quoted(scope.terminator)}. ",
        )
    if not _REGION.fullmatch(scope.region):
        raise SqsError(
            "SignatureDoesNotMatch", f"Credential should be scoped to a valid region, not {_quoted(scope.region)}. "
        )
    if scope.date != claim.timestamp[:8] or not _SCOPE_DATE.fullmatch(scope.date):
        raise SqsError(
            "SignatureDoesNotMatch",
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"{_quoted(scope.date)} != '{claim.timestamp[:8]}', from '{claim.timestamp}'.",
        )


def _check_content_hash(headers: Mapping[str, str], body: bytes) -> None:
    """botocore signs the x-amz-content-sha256 header's value in place of hashing the body, so a request that
    carries one is only bound to its body if the value is the body's hash. Unsigned and streaming payloads are
    refused for the same reason."""
    claimed = headers.get("X-Amz-Content-SHA256")
    if claimed is not None and not hmac.compare_digest(claimed.encode(), hashlib.sha256(body).hexdigest().encode()):
        raise SqsError(
            "SignatureDoesNotMatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed: it must be the "
            "hex SHA-256 of the request body (unsigned and streaming payloads are not accepted).",
        )


# -- recomputing the signature ----------------------------------------------------------------------------------


class _Recomputer(SigV4Auth):
    """botocore's signer, told which headers were signed instead of choosing them itself: on the way in, the
    request carries headers added after signing (Content-Length, User-Agent from proxies) and may have signed
    some that botocore would skip."""

    def __init__(self, credentials: BotoCredentials, region: str, signed: HTTPHeaders) -> None:
        super().__init__(credentials, SERVICE, region)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        return self._signed


def _recompute(method: str, path: str, headers: Mapping[str, str], body: bytes, claim: _Claim, secret: str) -> str:
    # Only the path goes into the URL: the host that was signed comes from the Host header, never from the URL.
    # The query goes in as decoded pairs, which botocore re-encodes canonically; a list keeps repeated keys,
    # which botocore sorts by value as SigV4 asks, though its stubs only admit a mapping.
    params: Any = list(claim.params)
    request = AWSRequest(method=method.upper(), url=f"http://localhost{path}", data=body, params=params)
    request.context["timestamp"] = claim.timestamp
    signer = _Recomputer(
        BotoCredentials(claim.scope.access_key, secret), claim.scope.region, _signed_headers(headers, claim)
    )
    return signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)


def _signed_headers(headers: Mapping[str, str], claim: _Claim) -> HTTPHeaders:
    signed = HTTPHeaders()
    for name in claim.signed_headers:
        values = _all_values(headers, name)
        if not values:
            raise SqsError("SignatureDoesNotMatch", f"{_MISMATCH_TEXT} The signed header {_quoted(name)} is missing.")
        for value in values:
            signed[name] = value
    return signed


def _all_values(headers: Mapping[str, str], name: str) -> list[str]:
    """Every value of a repeated header (SigV4 joins them with commas), from a multidict or a plain mapping."""
    getall = getattr(headers, "getall", None)
    if getall is not None:
        return list(getall(name, []))
    value = headers.get(name)
    return [] if value is None else [value]


# -- wording ----------------------------------------------------------------------------------------------------


def _malformed(message: str) -> SqsError:
    return SqsError(_MALFORMED, message)


def _quoted(text: str) -> str:
    """Client text as an error may echo it: bounded, so a huge header cannot inflate the response."""
    return repr(text if len(text) <= 128 else text[:125] + "...")


def _amz(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime(AMZ_DATE_FORMAT)


def _span(seconds: float) -> str:
    """A window as AWS writes it in skew errors: ``5 min.`` (or seconds when it is not whole minutes)."""
    if seconds % 60 == 0:
        return f"{int(seconds // 60)} min."
    return f"{seconds:g} sec."
