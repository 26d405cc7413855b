"""The layering rules of DESIGN.md, enforced: a forbidden import fails here, not in review."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import consumerkit
import consumerkit.engine

PACKAGE = Path(consumerkit.__file__).parent
# The modules every layer may use: the error hierarchy and the injected clock.
SHARED = {"consumerkit.errors", "consumerkit.clock"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: use absolute imports, so this test sees every one"
            found.add(node.module or "")
    return found


def _check_imports(paths: list[Path], roots: set[str], own: tuple[str, ...]) -> None:
    allowed_roots = set(sys.stdlib_module_names) | roots
    for path in paths:
        for module in _imports(path):
            if module.startswith("consumerkit."):
                ok = module.startswith(own) or module in SHARED
            else:
                ok = module.split(".")[0] in allowed_roots
            assert ok, f"{path.relative_to(PACKAGE)} imports {module}"


def test_engine_imports_only_stdlib_anyio_and_itself() -> None:
    server = PACKAGE / "engine" / "server"
    paths = [p for p in sorted((PACKAGE / "engine").rglob("*.py")) if server not in p.parents]
    _check_imports(paths, {"anyio"}, ("consumerkit.engine",))


def test_server_is_a_transport_over_the_engine() -> None:
    """The HTTP server may add its HTTP stack, botocore's SQS model and signer, and the shared header guard."""
    paths = sorted((PACKAGE / "engine" / "server").rglob("*.py"))
    own = ("consumerkit.engine", "consumerkit.headerguard")
    _check_imports(paths, {"anyio", "aiohttp", "botocore", "multidict"}, own)
    # the engine proper never reaches back into its transport
    for path in sorted((PACKAGE / "engine").rglob("*.py")):
        if PACKAGE / "engine" / "server" not in path.parents:
            assert not any(m.startswith("consumerkit.engine.server") for m in _imports(path)), path.name


def test_runtime_sees_only_the_backend_protocol() -> None:
    """The supervisor never knows which backend it has: no engine, no aiobotocore, no concrete backend."""
    for path in sorted((PACKAGE / "runtime").rglob("*.py")):
        for module in _imports(path):
            assert not module.startswith(("consumerkit.engine", "aiobotocore", "botocore")), (path.name, module)
            if module.startswith("consumerkit.backends"):
                assert module == "consumerkit.backends.base", (path.name, module)


# Who may reach AWS's SDK or an HTTP stack: the SQS backend, the server (botocore's model and signer, aiohttp),
# and the AWS hooks (Auto Scaling through aiobotocore; the ECS agent and instance metadata over aiohttp).
TRANSPORTS = {
    "backends/sqs.py": {"aiobotocore", "botocore", "aiohttp"},
    "aws/ec2.py": {"aiobotocore", "botocore", "aiohttp"},
    "aws/ecs.py": {"aiohttp"},
    "aws/imds.py": {"aiohttp"},
    "observability/http.py": {"aiohttp"},
    "headerguard.py": {"aiohttp"},  # the slow-client guard of both listeners: serve's and the health port's
}


def test_only_the_transports_import_aiobotocore_or_aiohttp() -> None:
    for path in sorted(PACKAGE.rglob("*.py")):
        if PACKAGE / "engine" / "server" in path.parents:
            continue  # the server's own rule is test_server_is_a_transport_over_the_engine
        allowed = TRANSPORTS.get(str(path.relative_to(PACKAGE)), set())
        found = {m.split(".")[0] for m in _imports(path)} & {"aiobotocore", "botocore", "aiohttp"}
        assert found <= allowed, f"{path.relative_to(PACKAGE)} imports {sorted(found - allowed)}"


def test_envelopes_are_pure_parsers() -> None:
    """An SNS or S3 envelope decodes from its body alone: the standard library and the errors, nothing else."""
    _check_imports(sorted((PACKAGE / "envelopes").rglob("*.py")), set(), ("consumerkit.envelopes",))


def test_engine_rules_are_pure() -> None:
    """semantics.py decides; it neither reads a clock nor touches a store nor awaits."""
    source = (PACKAGE / "engine" / "semantics.py").read_text()
    assert not _imports(PACKAGE / "engine" / "semantics.py") & {"time", "anyio", "consumerkit.engine.store"}
    assert "async def" not in source and "await " not in source


def test_public_api() -> None:
    assert sorted(consumerkit.__all__) == [
        "App",
        "BackendError",
        "ConfigError",
        "ConsumerkitError",
        "ExponentialBackoff",
        "FixedBackoff",
        "HandlerSpec",
        "HandlerStatistics",
        "JobCancelled",
        "Message",
        "Outcome",
        "PayloadError",
        "ProcessError",
        "QueueNotFoundError",
        "QueueSpec",
        "Reject",
        "RetryPolicy",
        "S3Bucket",
        "S3Event",
        "S3Object",
        "S3Record",
        "S3TestEvent",
        "SnsAttribute",
        "SnsNotification",
        "Supervisor",
        "SupervisorSettings",
        "TransientBackendError",
        "__version__",
        "check_cancelled",
        "run_process",
    ]
    assert sorted(consumerkit.engine.__all__) == [
        "BatchFailure",
        "BatchResult",
        "Clock",
        "DeleteEntry",
        "Engine",
        "ManualClock",
        "MessageAttributeValue",
        "MoveTask",
        "Page",
        "QueueStats",
        "ReceivedMessage",
        "SendEntry",
        "SendResult",
        "SqsError",
        "SystemClock",
        "VisibilityEntry",
    ]
    for module in (consumerkit, consumerkit.engine):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name} is exported but missing"


def test_errors_form_one_hierarchy() -> None:
    from consumerkit.engine.errors import SPECS, SqsError

    assert issubclass(SqsError, consumerkit.BackendError)
    assert issubclass(consumerkit.BackendError, consumerkit.ConsumerkitError)
    assert issubclass(consumerkit.ConfigError, consumerkit.ConsumerkitError)
    assert SqsError("QueueDoesNotExist", "x").code == "AWS.SimpleQueueService.NonExistentQueue"
    assert all(spec.status in (400, 403, 404, 408, 413, 500) for spec in SPECS.values())


def test_the_testing_kit_sits_on_top() -> None:
    """consumerkit.testing drives the runtime on the engine, so it may import both; nothing else imports it back
    (a worker must not load the test kit), and only its pytest plugin imports pytest (a dev dependency: scripts
    call run_until_idle without it)."""
    testing = PACKAGE / "testing"
    for path in sorted(PACKAGE.rglob("*.py")):
        imports = _imports(path)
        if testing not in path.parents:
            assert not any(m.startswith("consumerkit.testing") for m in imports), path.relative_to(PACKAGE)
        elif path.name != "plugin.py":
            assert not any(m.split(".")[0] in {"pytest", "_pytest"} for m in imports), path.relative_to(PACKAGE)
