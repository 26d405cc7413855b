"""Real SQS clients for the wire tests: where ``make test`` installed them, how to run them, what they check.

The Makefile installs them into the venv (``.venv/clients``, target ``$(VENV)/.clients``) at setup time, so the
tests never need the network. A missing install is a failure with the command that fixes it, never a skip: a
suite that quietly stops testing the query protocol would look green while proving nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
CLIENTS = Path(sys.prefix) / "clients"  # sys.prefix is the venv the tests run in: .venv
BOTOCORE_QUERY = CLIENTS / "botocore-query"  # botocore 1.34.89, the last to speak SQS's query protocol
AWSCLI = CLIENTS / "awscli"
NODE = CLIENTS / "node"
ACCOUNT = "000000000000"


def installed(path: Path, what: str) -> Path:
    """``path`` if the Makefile installed it; otherwise fail the test, saying how to install it."""
    if not path.exists():
        pytest.fail(
            f"{what} is not installed at {path}: run `make test` (or `make .venv/.clients`), which installs the "
            "real SQS clients these tests run against; the tests themselves never use the network",
            pytrace=False,
        )
    return path


def client_env(**extra: str) -> dict[str, str]:
    """The environment for a client process: dummy credentials, and nothing of a real AWS setup on this machine
    (profiles, config and credentials files, instance metadata, endpoint overrides) that could change its behaviour.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "BOTO_")) and k not in ("PYTHONPATH", "NODE_OPTIONS", "NODE_PATH")
    }
    env.update(
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        AWS_CONFIG_FILE=str(HERE / "nonexistent-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(HERE / "nonexistent-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_MAX_ATTEMPTS="1",
        AWS_PAGER="",
        NODE_NO_WARNINGS="1",  # the SDK's notice about future Node versions would bury a real error
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra)
    return env


def run_json(command: Sequence[str], env: Mapping[str, str], timeout: float = 60) -> Any:
    """Run a client script; return the JSON document it prints, or fail with what it wrote to stderr."""
    done = subprocess.run(list(command), env=dict(env), capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-4000:]}", pytrace=False)
    return json.loads(done.stdout)


# -- what a careful SDK verifies (Java, .NET and JS do; botocore does not check SQS MD5s, so the tests do) ---------


def md5_of_body(body: str) -> str:
    return hashlib.md5(body.encode("utf-8")).hexdigest()


def md5_of_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> str:
    """AWS's digest of message attributes, written here from AWS's description (not the server's code): per
    attribute in name order, length-prefixed name, length-prefixed data type, a transport byte (1 for String and
    Number, 2 for Binary) and the length-prefixed value."""
    digest = hashlib.md5()

    def field(data: bytes) -> None:
        digest.update(struct.pack(">I", len(data)) + data)

    for name in sorted(attributes):
        value = attributes[name]
        field(name.encode("utf-8"))
        field(value["DataType"].encode("utf-8"))
        if value["DataType"].split(".", 1)[0] == "Binary":
            digest.update(b"\x02")
            field(bytes(value["BinaryValue"]))
        else:
            digest.update(b"\x01")
            field(value["StringValue"].encode("utf-8"))
    return digest.hexdigest()
