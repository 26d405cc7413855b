"""examples/deploy/ checked against the code it deploys, and run: each platform's command line starts a real worker
on the local engine with that platform's settings, its health check and probes are asked, and a SIGTERM in the
middle of a job must end in a settled message and an exit inside the budget the file declares."""

from __future__ import annotations

import inspect
import json
import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml

from consumerkit.app import BACKEND_ENV
from consumerkit.aws import spot_watch_service
from consumerkit.aws.ecs import AGENT_URI_ENV
from consumerkit.aws.imds import ENDPOINT_ENV
from consumerkit.backends import OutgoingMessage, open_backend
from consumerkit.cli.check import check_command
from consumerkit.cli.run import load_app, run_command
from consumerkit.observability.http import DEFAULT_HTTP_PORT, ENDPOINTS
from consumerkit.runtime.supervisor import FINAL_GRACE, SupervisorSettings
from tests.fixtures.backends import REMOTE_ENV, free_port

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "examples" / "deploy"
DOC = ROOT / "docs" / "deployment.md"
CONSUMERKIT = Path(sys.executable).parent / "consumerkit"
DRAIN_DEFAULT = SupervisorSettings().drain_timeout
MARGIN = 2.0  # seconds a budget keeps beyond the worker's latest exit: a slow release, the interpreter's exit
ECS_MAX_STOP_TIMEOUT = 120
SPOT_NOTICE = 120.0
DOCKER_STOP_TIMEOUT = 30  # what the docs tell `docker stop --timeout` to be (its default of 10 is too short)
WAIT = 30.0  # bound on any one wait for the worker's output


def latest_exit(drain_timeout: float) -> float:
    """Seconds from SIGTERM to the worker's exit at the latest (lifecycle.md: drain_timeout + FINAL_GRACE)."""
    return drain_timeout + FINAL_GRACE


# -- the files, parsed ---------------------------------------------------------------------------------------
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def instruction(name: str) -> list[str]:
    return [args for op, args in dockerfile() if op == name]


def image_env() -> dict[str, str]:
    return dict(pair.split("=", 1) for args in instruction("ENV") for pair in shlex.split(args))


def image_health_check() -> tuple[dict[str, str], list[str]]:
    """HEALTHCHECK's options and its exec-form command."""
    (args,) = instruction("HEALTHCHECK")
    options, _, command = args.partition(" CMD ")
    return dict(option.lstrip("-").split("=", 1) for option in options.split()), json.loads(command)


def unit_file() -> dict[str, dict[str, list[str]]]:
    """The systemd unit as section -> key -> values (a key may repeat), as systemd reads it."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in (DEPLOY / "consumerkit-worker.service").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, sep, value = line.partition("=")
        assert sep, f"not a key=value line: {raw!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def env_file() -> dict[str, str]:
    lines = (DEPLOY / "consumerkit-worker.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def ecs_container() -> dict[str, Any]:
    (container,) = json.loads((DEPLOY / "ecs-task-definition.json").read_text())["containerDefinitions"]
    return dict(container)


def kubernetes() -> dict[str, dict[str, Any]]:
    documents = list(yaml.safe_load_all((DEPLOY / "kubernetes.yaml").read_text()))
    kinds = [document["kind"] for document in documents]
    assert len(set(kinds)) == len(kinds), kinds
    return {document["kind"]: document for document in documents}


def pod_container() -> dict[str, Any]:
    (container,) = kubernetes()["Deployment"]["spec"]["template"]["spec"]["containers"]
    return dict(container)


def example_app() -> Any:
    sys.path.insert(0, str(DEPLOY))
    try:
        return load_app("app:app")
    finally:
        sys.path.remove(str(DEPLOY))
        sys.modules.pop("app", None)


# -- one platform: the command line, the environment and the budget each file declares ---------------------
@dataclass(frozen=True)
class Platform:
    name: str
    argv: list[str]  # what runs the worker, without the init in front of it
    env: dict[str, str]  # what the worker's environment holds there
    budget: float  # seconds from SIGTERM to SIGKILL
    health_check: list[str] | None = None
    probes: list[str] = field(default_factory=list)

    @property
    def drain_timeout(self) -> float:
        return float(self.env.get("CONSUMERKIT_DRAIN_TIMEOUT", DRAIN_DEFAULT))


def docker() -> Platform:
    _, check = image_health_check()
    return Platform("docker", json.loads(instruction("CMD")[0]), image_env(), DOCKER_STOP_TIMEOUT, check)


def ecs() -> Platform:
    container = ecs_container()
    env = {**image_env(), **{pair["name"]: pair["value"] for pair in container["environment"]}}
    kind, *check = container["healthCheck"]["command"]
    assert kind == "CMD", "exec form: no shell between the agent and the check"
    return Platform("ecs", docker().argv, env, container["stopTimeout"], check)


def kubernetes_platform() -> Platform:
    container = pod_container()
    env = {**image_env(), **{pair["name"]: pair["value"] for pair in container["env"]}}
    grace = kubernetes()["Deployment"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    probes = [container[probe]["httpGet"]["path"] for probe in ("startupProbe", "livenessProbe", "readinessProbe")]
    return Platform("kubernetes", container["args"], env, grace, probes=probes)


def systemd() -> Platform:
    service = unit_file()["Service"]
    (exec_start,) = service["ExecStart"]
    program, *args = shlex.split(exec_start)
    assert Path(program).is_absolute() and Path(program).name == "consumerkit", program
    return Platform("systemd", ["consumerkit", *args], env_file(), float(service["TimeoutStopSec"][0]))


PLATFORMS = {"docker": docker, "ecs": ecs, "kubernetes": kubernetes_platform, "systemd": systemd}


@pytest.fixture(params=sorted(PLATFORMS))
def platform(request: pytest.FixtureRequest) -> Platform:
    return PLATFORMS[str(request.param)]()


# -- checks against the code --------------------------------------------------------------------------------
def test_each_budget_holds_the_worker_s_latest_exit(platform: Platform) -> None:
    assert latest_exit(platform.drain_timeout) + MARGIN <= platform.budget, platform
    if platform.env.get("CONSUMERKIT_SPOT_WATCH") == "true":  # the notice may be seen one look late
        every = inspect.signature(spot_watch_service).parameters["every"].default
        assert every + latest_exit(platform.drain_timeout) + MARGIN <= SPOT_NOTICE


def test_each_setting_is_one_consumerkit_run_reads(platform: Platform) -> None:
    known = {BACKEND_ENV} | {param.envvar for param in run_command.params if isinstance(param.envvar, str)}
    settings = {name for name in platform.env if name.startswith("CONSUMERKIT_")}
    assert settings <= known, settings - known
    assert platform.env["CONSUMERKIT_HTTP_PORT"] == str(DEFAULT_HTTP_PORT)
    assert platform.env["CONSUMERKIT_LOG_FORMAT"] == "json"
    assert platform.env[BACKEND_ENV].startswith("sqs://")
    assert platform.argv == ["consumerkit", "run", "app:app"]


def test_the_image_runs_the_worker_under_tini_in_exec_form() -> None:
    ops = [op for op, _ in dockerfile()]
    assert instruction("FROM") == ["python:3.11-slim"]
    entrypoint = json.loads(instruction("ENTRYPOINT")[0])
    assert entrypoint == ["/usr/bin/tini", "--"]  # where Debian's tini package puts it
    assert any("apt-get install" in args and " tini" in args for args in instruction("RUN"))
    assert json.loads(instruction("CMD")[0])[:2] == ["consumerkit", "run"]
    assert instruction("STOPSIGNAL") == ["SIGTERM"]
    assert instruction("EXPOSE") == [str(DEFAULT_HTTP_PORT)]
    assert image_env()["CONSUMERKIT_HTTP_HOST"] == "0.0.0.0"  # probed and scraped from outside the container
    (user,) = instruction("USER")
    assert user not in ("root", "0") and ops.index("USER") < ops.index("CMD")
    options, check = image_health_check()
    assert check == ["consumerkit", "check"]
    assert _seconds(options["timeout"]) > _check_timeout() and _seconds(options["interval"]) > _seconds(
        options["timeout"]
    )
    assert not any(name.startswith("AWS_") for name in image_env()), "no credentials in the image"
    assert "ARG" not in ops


def test_dockerignore_admits_what_the_image_copies_and_nothing_else() -> None:
    rules = [line for line in (DEPLOY / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert rules[0] == "*"
    admitted = {rule.removeprefix("!") for rule in rules[1:]}
    copied = {args.split()[0] for args in instruction("COPY")}
    assert admitted == copied and all((DEPLOY / name).is_file() for name in copied)


def test_the_ecs_task_definition() -> None:
    container = ecs_container()
    assert container["stopTimeout"] <= ECS_MAX_STOP_TIMEOUT
    assert container["essential"] and container["user"] == instruction("USER")[0]
    health = container["healthCheck"]
    assert 5 <= health["interval"] <= 300 and 2 <= health["timeout"] <= 60  # ECS's ranges
    assert 1 <= health["retries"] <= 10 and 0 <= health["startPeriod"] <= 300
    assert _check_timeout() < health["timeout"] < health["interval"]
    assert [mapping["containerPort"] for mapping in container["portMappings"]] == [DEFAULT_HTTP_PORT]
    logs = container["logConfiguration"]
    assert logs["logDriver"] == "awslogs"
    assert {"awslogs-group", "awslogs-region", "awslogs-stream-prefix"} <= set(logs["options"])
    assert ecs().env["CONSUMERKIT_ECS_PROTECTION"] == "true"


def test_the_iam_policies_grant_the_calls_the_worker_makes_on_its_queues_and_no_more() -> None:
    app = example_app()
    (handler,) = app.handlers
    dlq = app.queues[handler.queue].dead_letter
    grants: dict[str, set[str]] = {}
    for statement in json.loads((DEPLOY / "iam-policy.json").read_text())["Statement"]:
        assert statement["Effect"] == "Allow"
        grants[statement["Resource"].rsplit(":", 1)[1]] = set(statement["Action"])
    consume = {"GetQueueUrl", "GetQueueAttributes", "ReceiveMessage", "ChangeMessageVisibility", "DeleteMessage"}
    assert grants == {
        handler.queue: {f"sqs:{action}" for action in consume},
        dlq: {"sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:SendMessage"},
    }
    for name in ("iam-policy-ecs-protection.json", "iam-policy-ec2-protection.json"):
        actions = {json.dumps(s["Action"]) for s in json.loads((DEPLOY / name).read_text())["Statement"]}
        assert all(not action.strip('"[]').startswith("sqs:") and "*" not in action for action in actions)


def test_the_kubernetes_deployment() -> None:
    documents = kubernetes()
    pod = documents["Deployment"]["spec"]["template"]
    container = pod_container()
    assert "lifecycle" not in container, "a preStop hook's time comes out of the grace period"
    assert container["ports"] == [{"name": "metrics", "containerPort": DEFAULT_HTTP_PORT, "protocol": "TCP"}]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] in ("metrics", DEFAULT_HTTP_PORT)
    assert kubernetes_platform().probes == ["/livez", "/livez", "/readyz"]
    assert set(kubernetes_platform().probes) <= set(ENDPOINTS)
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(DEFAULT_HTTP_PORT)
    assert pod["metadata"]["annotations"]["prometheus.io/path"] in ENDPOINTS
    security = pod["spec"]["securityContext"]
    assert security["runAsNonRoot"] and str(security["runAsUser"]) == instruction("USER")[0]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["spec"]["serviceAccountName"] == documents["ServiceAccount"]["metadata"]["name"]
    assert "eks.amazonaws.com/role-arn" in documents["ServiceAccount"]["metadata"]["annotations"]
    assert "replicas" not in documents["Deployment"]["spec"], "KEDA's HPA owns the count"


# KEDA's aws-sqs-queue trigger metadata (keda.sh/docs/2.x/scalers/aws-sqs): a map of strings, these keys only.
KEDA_SQS_FIELDS = {"queueURL", "queueURLFromEnv", "queueLength", "activationQueueLength", "awsRegion", "awsEndpoint",
                   "identityOwner", "scaleOnInFlight", "scaleOnDelayed"}  # fmt: skip


def test_the_keda_scaled_object_counts_in_flight_jobs_per_slot() -> None:
    documents = kubernetes()
    scaled = documents["ScaledObject"]["spec"]
    assert scaled["scaleTargetRef"]["name"] == documents["Deployment"]["metadata"]["name"]
    (trigger,) = scaled["triggers"]
    assert trigger["type"] == "aws-sqs-queue"
    metadata = trigger["metadata"]
    assert set(metadata) <= KEDA_SQS_FIELDS and {"queueURL", "awsRegion", "queueLength"} <= set(metadata)
    assert all(isinstance(value, str) for value in metadata.values()), "KEDA's metadata values are strings"
    (handler,) = example_app().handlers
    assert metadata["queueURL"].endswith(f"/{handler.queue}") and f".{metadata['awsRegion']}." in metadata["queueURL"]
    assert metadata["queueLength"] == str(handler.concurrency)  # jobs per replica = slots per pod
    assert metadata["scaleOnInFlight"] == "true"
    authentication = documents["TriggerAuthentication"]
    assert trigger["authenticationRef"]["name"] == authentication["metadata"]["name"]
    assert authentication["spec"]["podIdentity"] == {"provider": "aws", "identityOwner": "workload"}


def test_the_systemd_unit() -> None:
    service = unit_file()["Service"]

    def one(key: str) -> str:
        (value,) = service[key]
        return value

    assert one("KillSignal") == "SIGTERM" and one("KillMode") == "mixed"  # SIGTERM to the worker, not to ffmpeg
    assert one("Restart") == "on-failure" and one("StandardOutput") == "journal"
    assert one("EnvironmentFile").startswith("/")
    assert one("DynamicUser") == "yes" or "User" in service
    assert one("NoNewPrivileges") == one("PrivateTmp") == "yes" and one("ProtectSystem") == "strict"
    assert "CONSUMERKIT_HTTP_HOST" not in systemd().env, "on an instance the port stays on 127.0.0.1"
    assert systemd().env["CONSUMERKIT_EC2_PROTECTION"] == systemd().env["CONSUMERKIT_SPOT_WATCH"] == "true"


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here: the unit is only parsed")
    # systemd checks that ExecStart's program exists: point it at this environment's consumerkit
    text = (DEPLOY / "consumerkit-worker.service").read_text()
    program = shlex.split(unit_file()["Service"]["ExecStart"][0])[0]
    (tmp_path / "consumerkit-worker.service").write_text(text.replace(program, str(CONSUMERKIT)))
    result = subprocess.run([analyze, "verify", "--man=no", str(tmp_path / "consumerkit-worker.service")],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_docker_accepts_the_dockerfile() -> None:
    if shutil.which("docker") is None:
        pytest.skip("docker is not installed here: the Dockerfile is only parsed")
    if subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode != 0:
        pytest.skip("no Docker daemon answers here: the Dockerfile is only parsed")
    result = subprocess.run(["docker", "build", "--check", str(DEPLOY)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_page_shows_the_files_as_they_are() -> None:
    text = DOC.read_text()
    shown = dict(re.findall(r"<!-- example: examples/deploy/(\S+) -->\n```\w+\n(.*?)```\n", text, re.DOTALL))
    files = {path.name for path in DEPLOY.iterdir() if path.is_file()} - {"requirements.txt"}
    assert set(shown) == files
    for name, block in shown.items():
        assert block == (DEPLOY / name).read_text(), f"docs/deployment.md's copy of {name} differs from the file"
    assert f"docker stop --timeout {DOCKER_STOP_TIMEOUT}" in text


# -- the worker each platform starts, run --------------------------------------------------------------------
class Worker:
    """A ``consumerkit run`` process; its JSON log lines are read on a thread, so every wait has a bound."""

    def __init__(self, platform: Platform, workdir: Path, **overrides: str) -> None:
        shutil.copy(DEPLOY / "app.py", workdir / "app.py")  # the image's WORKDIR, the unit's WorkingDirectory
        nowhere = f"http://127.0.0.1:{free_port()}"  # the ECS agent and instance metadata: their calls fail, logged
        self.port = free_port()
        self.backend = f"sqlite:///{workdir}/queues.db"
        base = {k: v for k, v in os.environ.items() if not k.startswith(("CONSUMERKIT_", "AWS_"))}
        self.env = {**base, **REMOTE_ENV, **platform.env, BACKEND_ENV: self.backend, AGENT_URI_ENV: nowhere,
                    ENDPOINT_ENV: nowhere, "CONSUMERKIT_HTTP_PORT": str(self.port),
                    "CONSUMERKIT_HTTP_HOST": "127.0.0.1", **overrides}  # fmt: skip
        argv = [str(CONSUMERKIT), *platform.argv[1:]]
        self.process = subprocess.Popen(argv, cwd=workdir, env=self.env, stdout=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.seen: list[dict[str, Any]] = []

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put("")

    def until(self, event: str, **fields: object) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT
        while True:
            line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            assert line, f"the worker exited before {event!r}: {self.seen[-5:]}"
            record: dict[str, Any] = json.loads(line)
            self.seen.append(record)
            if record.get("event") == event and all(record.get(k) == v for k, v in fields.items()):
                return record

    def saw(self, event: str) -> dict[str, Any]:
        """The record of ``event``, already read or still to come (start-up's lines come in either order)."""
        return next((r for r in self.seen if r.get("event") == event), None) or self.until(event)

    def send(self, *bodies: str) -> None:
        """Jobs for the app's queue, as a producer would send them, once the worker has made the queue."""
        (handler,) = example_app().handlers

        async def produce() -> None:
            async with open_backend(self.backend) as backend:
                url = await backend.get_queue_url(handler.queue)
                await backend.send_message_batch(url, [OutgoingMessage(b, f"job{n}") for n, b in enumerate(bodies)])

        anyio.run(produce)

    def stop(self) -> float:
        """SIGTERM, then the seconds until the process exited."""
        start = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=WAIT)
        elapsed = time.monotonic() - start
        while line := self.lines.get(timeout=WAIT):  # the rest of its output, up to the reader's end mark
            self.seen.append(json.loads(line))
        return elapsed

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def run_worker(tmp_path: Path) -> Iterator[Any]:
    started: list[Worker] = []

    def start(platform: Platform, **overrides: str) -> Worker:
        worker = Worker(platform, tmp_path, **overrides)
        started.append(worker)
        worker.until("http endpoints listening")
        return worker

    yield start
    for worker in started:
        worker.kill()


def _json(seconds: float) -> str:
    return json.dumps({"seconds": seconds})


def test_each_platform_s_worker_passes_its_checks_and_drains_on_sigterm(platform: Platform, run_worker: Any) -> None:
    worker = run_worker(platform)
    if platform.health_check is not None:
        program, *args = platform.health_check
        assert program == "consumerkit"
        check = subprocess.run([str(CONSUMERKIT), *args], env=worker.env, capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stderr
        assert check.stdout.startswith(f"ok: http://127.0.0.1:{worker.port}/livez")
    worker.saw("worker started")  # the queues resolved: ready
    for path in platform.probes:
        with urllib.request.urlopen(f"http://127.0.0.1:{worker.port}{path}", timeout=10) as reply:
            assert reply.status == 200, path
    worker.send(_json(1.0))
    worker.until("encode started", seconds=1.0)
    elapsed = worker.stop()
    draining = next(r for r in worker.seen if r.get("event") == "draining: receiving stopped")
    assert draining["drain_timeout"] == platform.drain_timeout and draining["running"] == 1
    assert next(r for r in worker.seen if r.get("event") == "message settled")["outcome"] == "success"
    assert worker.process.returncode == 0
    assert elapsed < platform.budget


def test_a_job_longer_than_the_drain_is_released_and_the_worker_exits_in_time(run_worker: Any) -> None:
    """The budgets above rest on drain_timeout + FINAL_GRACE being the latest exit: time it, with a short drain."""
    worker = run_worker(systemd(), CONSUMERKIT_DRAIN_TIMEOUT="1")
    worker.send(_json(600.0))
    worker.until("encode started")
    elapsed = worker.stop()
    assert worker.process.returncode == 0
    assert next(r for r in worker.seen if r.get("event") == "message settled")["outcome"] == "released"
    assert 1.0 <= elapsed <= latest_exit(1.0) + MARGIN


def _seconds(duration: str) -> float:
    """A Docker duration like 15s, 2m or 1m30s."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration))


def _check_timeout() -> float:
    """``consumerkit check``'s own --timeout: a platform's check timeout must outlast it."""
    (option,) = [param for param in check_command.params if param.name == "timeout"]
    return float(option.default)  # type: ignore[arg-type]
