"""docs/configuration.md lists every setting: each flag of each command, in that command's section, and every
``CONSUMERKIT_*`` variable the code reads. A new option fails here until it is documented."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click

import consumerkit
from consumerkit.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "configuration.md").read_text()
VARIABLE = re.compile(r"\bCONSUMERKIT_[A-Z0-9]+(?:_[A-Z0-9]+)*\b")


def commands(group: click.Group, path: str = "consumerkit") -> Iterator[tuple[str, click.Command]]:
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from commands(command, f"{path} {name}")
        else:
            yield f"{path} {name}", command


def section(path: str) -> str:
    """The text under the heading that names ``path`` (`` `consumerkit queue peek NAME` ``), up to the next."""
    heading = re.compile(rf"^#+ .*`{re.escape(path)}\b[^`]*`.*$", re.MULTILINE)
    found = heading.search(PAGE)
    assert found, f"docs/configuration.md has no section for `{path}`"
    rest = PAGE[found.end() :]
    following = re.search(r"^#+ ", rest, re.MULTILINE)
    return rest[: following.start() if following else len(rest)]


def test_every_flag_is_documented_in_its_commands_section() -> None:
    missing = [
        f"{path} {flag}"
        for path, command in commands(main)
        for parameter in command.params
        if isinstance(parameter, click.Option)
        for flag in parameter.opts
        if f"`{flag}`" not in section(path)
    ]
    assert missing == []


def test_every_variable_of_the_code_and_the_cli_is_documented() -> None:
    in_code = {
        name for path in Path(consumerkit.__file__).parent.rglob("*.py") for name in VARIABLE.findall(path.read_text())
    }
    in_cli = {
        parameter.envvar
        for _, command in commands(main)
        for parameter in command.params
        if isinstance(parameter.envvar, str)
    }
    assert "CONSUMERKIT_BACKEND" in in_code and "CONSUMERKIT_HTTP_PORT" in in_cli  # the search finds them
    assert sorted(name for name in in_code | in_cli if f"`{name}`" not in PAGE) == []
