"""Every code block of the docs runs (issue 6): README.md, docs/*.md and examples/*/README.md.

The convention, which CONTRIBUTING.md ("Docs code blocks") summarises for writers:

- **Every fence has a language the runner knows** (``blocks.LANGUAGES``). A fence without one, an unknown one, or a
  four-space indented block fails, so nothing slips through unrun.
- **A directive** on the line just before a fence, ``<!-- docs: ... -->``, may say ``fresh`` (a new Python
  namespace starts here) and ``file NAME`` (the block is also written to NAME in the page's directory before
  anything of the page runs: the module that a ``consumerkit run NAME:app`` on the page imports).
- **Ports.** The docs write the default ports: ``127.0.0.1:9324`` (or ``localhost:9324``) for ``consumerkit serve``
  and 9750 for a worker's HTTP endpoints. The runner points the first at the page's server and the second at a free
  port of the page's, in every block of the page, so pages never collide with each other or with this machine.
- ``python``: a page's blocks run in order in one namespace (``__name__ == "__main__"``), in a fresh subprocess, in a
  fresh temporary directory, with ``CONSUMERKIT_BACKEND=memory://`` and dummy AWS credentials. ``App.run`` is
  patched to ``consumerkit.testing.run_until_idle``, so a block may end with ``app.run()``. A block with top-level
  ``await`` (``async with``, ``async for``) is awaited in an event loop of its own, as the asyncio REPL does it.
  A failure names the page and the block's line, with the traceback (``pyexec.py``).
- ``console`` (commands are the lines after ``$ ``) and ``sh`` (every line): a page's commands run in order in one
  bash script with ``-e -o pipefail``, in a fresh directory, with the venv's ``bin`` first on ``PATH``, a
  ``consumerkit serve --backend memory://`` of the page's on a free port (``CONSUMERKIT_BACKEND`` and
  ``AWS_ENDPOINT_URL`` point at it) and dummy AWS credentials. ``consumerkit serve``, ``run`` and ``top`` run until
  stopped: in the foreground the runner waits for their ready line, sends SIGTERM and requires exit status 0; with
  a trailing ``&`` they keep running (as in a second terminal) until the page's commands are done, and are then
  stopped the same way. A ``consumerkit serve &`` of the page's own gets a free port, and the page's later
  commands reach it at ``127.0.0.1:9324``. What this machine lacks (docker, kubectl, systemctl, make, pip, npm,
  curl to another host) is checked, not run, as the table in ``shell.py`` says; an unknown program fails.
  ``--backend sqs://...`` is replaced by the page's server.
- ``javascript``: each block is an ES module, run with node against the page's server, with the SDK the Makefile
  installs (``.venv/clients/node``); skipped, saying why, only where node itself is missing.
- ``json``, ``yaml``, ``toml``, ``ini``: parsed. ``dockerfile``: known instructions, ``CMD``/``ENTRYPOINT`` in exec
  form (``formats.py``). ``promql``: a light syntax check, and every ``consumerkit_*`` series and label it names must
  be in a real worker's ``/metrics``, scraped once per session (``promql.py``, ``scrape.py``).
- ``text``: sample output and diagrams; not run. A ``text`` block right after a python block that prints is
  compared with what it printed, normalised (tests/docs/test_sample_output.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.docs.blocks import LANGUAGES, ROOT, Block, blocks_of, needs_server, of_language, pages, pages_with, point_at
from tests.docs.formats import CHECKS
from tests.docs.promql import problems
from tests.docs.scrape import Scrape, scrape_worker
from tests.docs.shell import plan
from tests.engine.server.serving import consumerkit_serve
from tests.fixtures.backends import free_port

HERE = Path(__file__).parent
VENV_BIN = Path(sys.executable).parent
CLIENTS = Path(sys.prefix) / "clients"  # where `make test` installs the real SQS clients (the AWS CLI, the JS SDK)
PAGE_TIMEOUT = 120.0
DUMMY_AWS = {
    "AWS_ACCESS_KEY_ID": "docs",
    "AWS_SECRET_ACCESS_KEY": "docs",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_CONFIG_FILE": str(HERE / "nonexistent-aws-config"),
    "AWS_SHARED_CREDENTIALS_FILE": str(HERE / "nonexistent-aws-credentials"),
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_PAGER": "",
    "NODE_NO_WARNINGS": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
}


def _ids(blocks: list[Block]) -> list[str]:
    return [f"{b.where}:{b.language}" for b in blocks]


# -- every fence is one the runner knows -------------------------------------------------------------------------


@pytest.mark.parametrize("page", pages())
def test_every_block_has_a_language_the_runner_knows(page: str) -> None:
    unknown = [f"{b.where}: {b.language or 'no language'}" for b in blocks_of(page) if b.language not in LANGUAGES]
    assert not unknown, f"fences the runner would not run (known: {', '.join(sorted(LANGUAGES))}):\n" + "\n".join(
        unknown
    )


# -- python ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", pages_with("python"))
def test_python_blocks_run(page: str, tmp_path: Path) -> None:
    with page_server(page) as server:
        work, worker_port = _page_dir(page, tmp_path, server)
        address = server or "127.0.0.1:9324"  # no block names the server: nothing to point
        blocks = [
            {
                "page": page,
                "path": str(ROOT / page),
                "line": b.line,
                "fresh": b.fresh,
                "code": point_at(b.code, address, worker_port),
            }
            for b in blocks_of(page)
            if b.language == "python"
        ]
        spec = tmp_path / "blocks.json"
        spec.write_text(json.dumps(blocks))
        env = _env(CONSUMERKIT_BACKEND="memory://", **({"AWS_ENDPOINT_URL": f"http://{server}"} if server else {}))
        _run_page(page, [sys.executable, str(HERE / "pyexec.py"), str(spec)], work, env)


# -- console and sh ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", pages_with("console", "sh"))
def test_shell_blocks_run(page: str, tmp_path: Path) -> None:
    with page_server(page) as server:
        assert server is not None
        work, worker_port = _page_dir(page, tmp_path, server)
        runner = tmp_path / "runner"
        (runner / "bin").mkdir(parents=True)
        script = plan([b for b in blocks_of(page) if b.language in ("console", "sh")], server, worker_port, free_port)
        assert not script.problems, f"{page}: commands the runner cannot take:\n" + "\n".join(script.problems)
        for name, body in script.files.items():
            (runner / name).write_text(body)
        (runner / "page.sh").write_text(script.script)
        _aws_shim(runner / "bin")
        env = _env(
            PATH=os.pathsep.join([str(VENV_BIN), str(runner / "bin"), os.environ.get("PATH", "")]),
            CONSUMERKIT_BACKEND=f"http://{server}",
            AWS_ENDPOINT_URL=f"http://{server}",
            CONSUMERKIT_SERVE_PORT="0",  # a `consumerkit serve` on the page without --port takes a free one
            DOCS_RUNNER=str(runner),
            # an example's README says "from the repository's root": its package is importable, its files stay put
            **({"PYTHONPATH": str(ROOT)} if page.startswith("examples/") else {}),
        )
        for line in script.checked:
            print(f"checked, not run: {line}")
        _run_page(page, ["bash", str(runner / "page.sh")], work, env)


def _aws_shim(bin_dir: Path) -> None:
    """``aws`` as the AWS CLI the Makefile pins for the wire tests, where it is installed."""
    awscli = CLIENTS / "awscli"
    if awscli.is_dir():
        shim = bin_dir / "aws"
        shim.write_text(f'#!/bin/sh\nPYTHONPATH="{awscli}" exec "{sys.executable}" -m awscli "$@"\n')
        shim.chmod(0o755)


# -- javascript --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", pages_with("javascript"))
def test_javascript_blocks_run(page: str, tmp_path: Path) -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not on PATH: the JavaScript blocks need Node.js (v20 or later)")
    modules = CLIENTS / "node" / "node_modules"
    if not (modules / "@aws-sdk" / "client-sqs").is_dir():
        pytest.fail(f"@aws-sdk/client-sqs is not installed under {modules}: run `make test`", pytrace=False)
    with page_server(page) as server:
        assert server is not None
        work, worker_port = _page_dir(page, tmp_path, server)
        (work / "node_modules").symlink_to(modules)  # ES modules resolve packages from the file's directory up
        for block in (b for b in blocks_of(page) if b.language == "javascript"):
            script = work / f"block-{block.line}.mjs"
            script.write_text(point_at(block.code, server, worker_port))
            _run_page(block.where, ["node", str(script)], work, _env(AWS_ENDPOINT_URL=f"http://{server}"))


# -- data, build files, PromQL -----------------------------------------------------------------------------------

DATA = [b for b in of_language(*CHECKS)]


@pytest.mark.parametrize("block", DATA, ids=_ids(DATA))
def test_data_blocks_parse(block: Block) -> None:
    found = CHECKS[block.language](block.code)
    assert not found, f"{block.where} ({block.language}):\n" + "\n".join(found)


@pytest.fixture(scope="session")
def scrape() -> Scrape:
    return scrape_worker()


PROMQL = of_language("promql")


@pytest.mark.parametrize("block", PROMQL, ids=_ids(PROMQL))
def test_promql_names_what_a_worker_exports(block: Block, scrape: Scrape) -> None:
    found = problems(block.code, scrape)
    assert not found, f"{block.where}:\n{block.code}\n" + "\n".join(found)


# -- the page's surroundings -------------------------------------------------------------------------------------


@contextmanager
def page_server(page: str) -> Iterator[str | None]:
    """``host:port`` of a ``consumerkit serve --backend memory://`` for the page, if it needs one; stopped by pid."""
    if not needs_server(page):
        yield None
        return
    with consumerkit_serve("--backend", "memory://", env=DUMMY_AWS) as served:
        yield served.url.removeprefix("http://")


def _page_dir(page: str, tmp_path: Path, server: str | None) -> tuple[Path, int]:
    """The page's working directory, with its ``file`` blocks written, and the port standing in for 9750."""
    work = tmp_path / "work"
    work.mkdir()
    worker_port = free_port()
    for block in blocks_of(page):
        if block.file is not None:
            target = work / block.file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(point_at(block.code, server or "127.0.0.1:9324", worker_port))
    return work, worker_port


def _env(**extra: str) -> dict[str, str]:
    """This environment without any real AWS or consumerkit setting of this machine's, plus the page's."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "BOTO_", "CONSUMERKIT_")) and k not in ("PYTHONPATH", "NODE_PATH", "NODE_OPTIONS")
    }
    return {**env, **DUMMY_AWS, **extra}


def _run_page(where: str, command: list[str], cwd: Path, env: dict[str, str]) -> None:
    try:
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=PAGE_TIMEOUT)
    except subprocess.TimeoutExpired as expired:
        pytest.fail(
            f"{where}: still running after {PAGE_TIMEOUT:g} s\n{expired.stdout}\n{expired.stderr}", pytrace=False
        )
    if done.returncode != 0:
        output = f"{done.stdout[-6000:]}\n{done.stderr[-6000:]}".strip()
        pytest.fail(f"{where}: exit status {done.returncode}\n{output}", pytrace=False)
