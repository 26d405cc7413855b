"""``consumerkit serve`` as an operator runs it: safe defaults, signed requests, HTTPS, clean stops."""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.engine.server.serving import consumerkit_serve

NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"})


def _client(url: str, key: str = "AKIDLOCAL", secret: str = "local-secret", **kwargs: object):  # type: ignore[no-untyped-def]
    return boto3.client(
        "sqs",
        endpoint_url=url,
        region_name="eu-west-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=NO_RETRIES,
        **kwargs,
    )


def _serve_fails(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "consumerkit", "serve", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_refuses_a_public_address_without_credentials() -> None:
    result = _serve_fails("--host", "0.0.0.0")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "0.0.0.0 is reachable from other machines and no credentials are set" in result.stderr


def test_half_a_key_pair_is_a_clear_error() -> None:
    result = _serve_fails("--access-key", "AKID")
    assert result.returncode != 0
    assert "--access-key and --secret-key: give both, or neither" in result.stderr


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("--access-key", "", "--secret-key", "secret"), "--access-key"),
        (("--access-key", "AKID", "--secret-key", ""), "--secret-key"),
        (("--access-key", " ", "--secret-key", " "), "--access-key"),
    ],
    ids=["empty key", "empty secret", "blank both"],
)
def test_an_empty_key_or_secret_is_refused(args: tuple[str, ...], option: str) -> None:
    """An empty value (an unset variable in a script) must not quietly serve unsigned requests."""
    result = _serve_fails(*args)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert f"{option}: is empty" in result.stderr


def test_an_empty_key_in_a_credentials_file_is_refused(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.write_text("[ci]\naws_access_key_id =\naws_secret_access_key = two\n")
    result = _serve_fails("--credentials-file", str(credentials))
    assert result.returncode != 0
    assert "profile [ci]" in result.stderr and "empty key or secret" in result.stderr


def test_account_id_and_region_name_queues() -> None:
    """``--account-id`` goes into every queue URL and ARN; ``--region`` into the ARNs of unsigned requests
    (a signed request's region is its credential scope's, as the other tests show)."""
    with consumerkit_serve("--account-id", "123456789012", "--region", "ap-southeast-2") as served:
        from botocore import UNSIGNED

        client = boto3.client(
            "sqs", endpoint_url=served.url, region_name="eu-west-1", config=Config(signature_version=UNSIGNED)
        )
        url = client.create_queue(QueueName="accounted")["QueueUrl"]
        assert url == f"{served.url}/123456789012/accounted"
        arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        assert arn == "arn:aws:sqs:ap-southeast-2:123456789012:accounted"
    assert served.process.returncode == 0


def test_bad_backend_url_is_a_clear_error() -> None:
    result = _serve_fails("--backend", "redis://nowhere")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "redis://nowhere" in result.stderr


def test_insecure_allows_a_public_address() -> None:
    with consumerkit_serve("--host", "0.0.0.0", "--insecure") as served:
        url = f"http://127.0.0.1:{served.port}"
        assert _client(url).list_queues().get("QueueUrls") is None
    assert served.process.returncode == 0


def test_with_credentials_only_signed_requests_pass() -> None:
    with consumerkit_serve("--access-key", "AKIDLOCAL", "--secret-key", "local-secret") as served:
        good = _client(served.url)
        url = good.create_queue(QueueName="signed")["QueueUrl"]
        assert (
            "arn:aws:sqs:eu-west-1:"
            in good.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        )

        with pytest.raises(ClientError) as caught:
            _client(served.url, secret="wrong").list_queues()
        assert caught.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

        with pytest.raises(ClientError) as caught:
            _client(served.url, key="AKIDOTHER").list_queues()
        assert caught.value.response["Error"]["Code"] == "InvalidClientTokenId"

        from botocore import UNSIGNED

        with pytest.raises(ClientError) as caught:
            boto3.client(
                "sqs", endpoint_url=served.url, region_name="eu-west-1", config=Config(signature_version=UNSIGNED)
            ).list_queues()
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert served.process.returncode == 0


def test_credentials_file_profiles_are_accepted(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.write_text(
        "[default]\naws_access_key_id = AKIDONE\naws_secret_access_key = one\n"
        "[ci]\naws_access_key_id = AKIDTWO\naws_secret_access_key = two\n"
    )
    with consumerkit_serve("--credentials-file", str(credentials)) as served:
        _client(served.url, key="AKIDONE", secret="one").create_queue(QueueName="a")
        assert len(_client(served.url, key="AKIDTWO", secret="two").list_queues()["QueueUrls"]) == 1
        with pytest.raises(ClientError):
            _client(served.url, key="AKIDTWO", secret="one").list_queues()


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_serves_https(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    with consumerkit_serve("--tls-cert", str(cert), "--tls-key", str(key)) as served:
        assert served.url.startswith("https://127.0.0.1:")
        url = f"https://localhost:{served.port}"
        client = _client(url, verify=str(cert))
        queue_url = client.create_queue(QueueName="tls")["QueueUrl"]
        assert queue_url == f"https://localhost:{served.port}/000000000000/tls"
        client.send_message(QueueUrl=queue_url, MessageBody="over TLS")
        assert client.receive_message(QueueUrl=queue_url)["Messages"][0]["Body"] == "over TLS"


def test_health_endpoint(served) -> None:  # type: ignore[no-untyped-def]
    import urllib.request

    with urllib.request.urlopen(f"{served.url}/health", timeout=10) as response:
        assert response.status == 200
        assert b'"ok"' in response.read()


def test_sigint_stops_cleanly_too() -> None:
    with consumerkit_serve() as served:
        os.kill(served.process.pid, signal.SIGINT)
        assert served.process.wait(timeout=15) == 0


def test_sqlite_backend_keeps_queues_across_restarts(tmp_path: Path) -> None:
    backend = f"sqlite:///{tmp_path / 'queues.db'}"
    with consumerkit_serve("--backend", backend) as served:
        client = _client(served.url)
        url = client.create_queue(QueueName="durable")["QueueUrl"]
        client.send_message(QueueUrl=url, MessageBody="survives")
    with consumerkit_serve("--backend", backend) as served:
        client = _client(served.url)
        url = client.get_queue_url(QueueName="durable")["QueueUrl"]
        assert client.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "survives"
