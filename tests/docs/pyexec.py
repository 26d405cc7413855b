"""Run one page's Python blocks in order, in this fresh process: ``python pyexec.py BLOCKS.json``.

Each namespace is a real ``__main__`` module (so dataclasses, pydantic and pickling resolve names as they do in a
script), and a ``<!-- docs: fresh -->`` block starts a new one. A block is compiled with the page as its file name
and its own line numbers, so a traceback points at the Markdown line. A block with top-level ``await`` (``async
with``, ``async for``) runs as the asyncio REPL runs it: compiled with ``PyCF_ALLOW_TOP_LEVEL_AWAIT`` and awaited
in an event loop of its own (``anyio.run``), so the docs can show async code without an ``async def main()``.

``App.run`` is replaced by ``consumerkit.testing.run_until_idle``: a page may end with ``app.run()``, which then
drives the app until its queues are idle and returns, instead of running until SIGTERM. The first block that raises
ends the run, with the block's page and line and the traceback on stderr, and exit status 1.
"""

from __future__ import annotations

import ast
import inspect
import json
import sys
import traceback
import types
from pathlib import Path
from typing import Any


def _run_until_idle(self: Any, backend: Any = None) -> None:
    if backend is not None:
        raise RuntimeError("in the docs, app.run() runs on $CONSUMERKIT_BACKEND (memory://); pass no backend")
    from consumerkit.testing import run_until_idle  # imported late: only pages that call app.run() need it

    result = run_until_idle(self)
    if inspect.isawaitable(result):
        import anyio

        async def wait() -> None:
            await result

        anyio.run(wait)


def _namespace() -> dict[str, Any]:
    module = types.ModuleType("__main__")
    sys.modules["__main__"] = module
    return module.__dict__


def _run(block: dict[str, Any], namespace: dict[str, Any]) -> None:
    source = "\n" * block["line"] + block["code"]
    code = compile(source, block["path"], "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    if code.co_flags & inspect.CO_COROUTINE:
        import anyio

        async def main() -> None:
            await eval(code, namespace)

        anyio.run(main)
    else:
        exec(code, namespace)


def main(spec: Path) -> int:
    sys.path[:] = ["", *(p for p in sys.path[1:])]  # the page's directory, as `python` there has; not this one's
    from consumerkit import App

    App.run = _run_until_idle  # type: ignore[method-assign]
    namespace = _namespace()
    for block in json.loads(spec.read_text()):
        if block["fresh"]:
            namespace = _namespace()
        try:
            _run(block, namespace)
        except BaseException:
            print(f"{block['page']}:{block['line']}: this python block failed:", file=sys.stderr)
            traceback.print_exc()
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
