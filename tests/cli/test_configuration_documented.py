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


def documented_defaults(path: str) -> dict[str, str]:
    """Each flag of the section's table with its Default cell: ``{"--port": "9324"}``."""
    rows = [line for line in section(path).splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    column = header.index("Default")
    found = {}
    for row in rows[2:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        for flag in re.findall(r"`(--[a-z0-9-]+)`", cells[0]):
            found[flag] = cells[column]
    return found


def states(cell: str, default: object) -> bool:
    """Whether a Default cell says ``default``: off for a flag, the value in backticks, or the number."""
    if isinstance(default, bool):
        return (cell == "off" or cell.startswith("ask")) != default  # --yes: ask, rather than off
    if isinstance(default, str):
        return f"`{default}`" in cell
    return isinstance(default, int | float) and f"{default:g}" in re.findall(r"\d+(?:\.\d+)?", cell.replace(",", ""))


def test_every_documented_default_is_the_options_real_default() -> None:
    operator_intro = PAGE[PAGE.index("## The operator's commands") :].split("###", 1)[0]
    wrong = []
    for path, command in commands(main):
        cells = documented_defaults(path)
        for parameter in command.params:
            cell = cells.get(parameter.opts[0]) if isinstance(parameter, click.Option) else None
            default = parameter.default is True if getattr(parameter, "is_flag", False) else parameter.default
            if cell is None or not isinstance(default, str | int | float):
                continue  # no default of click's: decided later (the app's, SQS's), which the page says in words
            if cell == "see above":  # the operator's commands: the backend, stated once above their tables
                cell = operator_intro
            if not states(cell, default):
                wrong.append(f"{path} {parameter.opts[0]}: documented {cell[:60]!r}, really {default!r}")
    assert wrong == []
