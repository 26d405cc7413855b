"""The code blocks of the docs, as Markdown parses them: which pages, which blocks, and what a block asks of the
runner through the one-line directive just above its fence (``<!-- docs: fresh -->``, ``<!-- docs: file NAME -->``).

markdown-it (rich's Markdown parser, so already installed) finds the blocks, so a fence inside a list item, a
longer fence around a shorter one, or a four-space indented block is seen exactly as a reader's renderer sees it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = frozenset(
    {"python", "console", "sh", "json", "yaml", "toml", "ini", "promql", "dockerfile", "javascript", "text"}
)
DIRECTIVE = re.compile(r"^\s*<!--\s*docs:\s*(?P<words>.*?)\s*-->\s*$")
# The docs give the default ports: `consumerkit serve`'s address, and the worker's HTTP port (as `:9750`,
# `port=9750`, `--http-port 9750`). The runner points them at free ports of the page's.
DEFAULT_SERVE_ADDRESS = re.compile(r"\b(?:127\.0\.0\.1|localhost):9324\b")
DEFAULT_WORKER_PORT = re.compile(r"(?<=[:= ])9750\b")


@dataclass(frozen=True)
class Block:
    page: str  # relative to the repository's root, as the failure reports it
    line: int  # 1-based line of the opening fence; the code starts on the next one
    language: str  # the fence's first word; "" for no language (or an indented block)
    code: str
    fresh: bool = False  # a new Python namespace starts with this block
    file: str | None = None  # also written to this path in the page's directory before anything of the page runs

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def words(text: str) -> frozenset[str]:
    """A table of names, written as words."""
    return frozenset(text.split())


def pages() -> list[str]:
    """Every page whose blocks the suite runs: the README, docs/*.md and each example's README."""
    found = [
        ROOT / "README.md",
        *sorted((ROOT / "docs").glob("*.md")),
        *sorted((ROOT / "examples").glob("*/README.md")),
    ]
    return [str(path.relative_to(ROOT)) for path in found if path.is_file()]


@cache
def blocks_of(page: str) -> tuple[Block, ...]:
    text = (ROOT / page).read_text(encoding="utf-8")
    lines = text.splitlines()
    found = []
    for token in MarkdownIt("commonmark").parse(text):
        if token.type not in ("fence", "code_block") or token.map is None:
            continue
        start = token.map[0]
        language = token.info.split()[0] if token.type == "fence" and token.info.strip() else ""
        fresh, file = _directive(page, start + 1, lines[start - 1] if start > 0 else "")
        found.append(Block(page, start + 1, language, token.content, fresh, file))
    return tuple(found)


def _directive(page: str, line: int, above: str) -> tuple[bool, str | None]:
    match = DIRECTIVE.match(above)
    if match is None:
        return False, None
    fresh, file = False, None
    for part in (p.strip() for p in match["words"].split(",")):
        if part == "fresh":
            fresh = True
        elif part.startswith("file "):
            file = part.removeprefix("file ").strip()
        else:
            raise ValueError(f"{page}:{line}: unknown docs directive {part!r} (known: fresh, file NAME)")
    return fresh, file


def of_language(*languages: str) -> list[Block]:
    return [block for page in pages() for block in blocks_of(page) if block.language in languages]


def pages_with(*languages: str) -> list[str]:
    return [page for page in pages() if any(b.language in languages for b in blocks_of(page))]


def needs_server(page: str) -> bool:
    """A page gets a ``consumerkit serve`` of its own if it has shell or JavaScript blocks, or if any block names
    the server's default address."""
    return any(
        b.language in ("console", "sh", "javascript") or DEFAULT_SERVE_ADDRESS.search(b.code) for b in blocks_of(page)
    )


def point_at(code: str, server: str, worker_port: int) -> str:
    """The code as run: ``127.0.0.1:9324`` replaced by the page server's ``host:port``, 9750 by the page's port."""
    return DEFAULT_WORKER_PORT.sub(str(worker_port), DEFAULT_SERVE_ADDRESS.sub(server, code))
