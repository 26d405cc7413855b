"""Blocks that are data or build files: parsed, not run. Each check returns what is wrong, in words.

- ``json``: ``json.loads``. ``toml``: ``tomllib``. ``ini`` (systemd units too): ``configparser`` with
  ``strict=False`` (a unit repeats keys) and no interpolation (``%`` means something else to systemd).
- ``yaml``: ``yaml.safe_load_all``, with CloudFormation's short-form tags (``!Ref``, ``!Sub``, ...) accepted, and
  no other tag, so a template reads as it would to ``aws cloudformation validate-template``.
- ``dockerfile``: known instructions only, continuation lines joined; ``ENTRYPOINT`` and ``CMD`` (also
  ``HEALTHCHECK ... CMD``) in exec form, a JSON array of strings, so that the worker is PID 1 and gets SIGTERM.
"""

from __future__ import annotations

import configparser
import json
import re
import tomllib
from collections.abc import Callable

import yaml

from tests.docs.blocks import words

CLOUDFORMATION_TAGS = words(
    "Base64 Cidr Condition Equals FindInMap GetAtt GetAZs If ImportValue Join Not And Or Ref Select Split Sub Transform"
)
DOCKERFILE_INSTRUCTIONS = words(
    "ADD ARG CMD COPY ENTRYPOINT ENV EXPOSE FROM HEALTHCHECK LABEL MAINTAINER ONBUILD RUN SHELL "
    "STOPSIGNAL USER VOLUME WORKDIR"
)


class _TemplateLoader(yaml.SafeLoader):
    """safe_load, plus CloudFormation's intrinsic functions in short form."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> object:
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node)}
    return {suffix: loader.construct_mapping(node)}  # type: ignore[arg-type]


for _tag in CLOUDFORMATION_TAGS:
    _TemplateLoader.add_constructor(f"!{_tag}", lambda loader, node, tag=_tag: _intrinsic(loader, tag, node))


def check_json(code: str) -> list[str]:
    try:
        json.loads(code)
    except ValueError as error:
        return [f"not JSON: {error}"]
    return []


def check_yaml(code: str) -> list[str]:
    try:
        list(yaml.load_all(code, Loader=_TemplateLoader))
    except yaml.YAMLError as error:
        return [f"not YAML: {error}"]
    return []


def check_toml(code: str) -> list[str]:
    try:
        tomllib.loads(code)
    except tomllib.TOMLDecodeError as error:
        return [f"not TOML: {error}"]
    return []


def check_ini(code: str) -> list[str]:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    try:
        parser.read_string(code)
    except configparser.Error as error:
        return [f"not INI: {error}"]
    return []


def check_dockerfile(code: str) -> list[str]:
    found = []
    for number, instruction in _instructions(code):
        word, _, rest = instruction.partition(" ")
        keyword = word.upper()
        if keyword not in DOCKERFILE_INSTRUCTIONS:
            found.append(f"line {number}: unknown instruction {word!r}")
        elif keyword in ("CMD", "ENTRYPOINT") and not _exec_form(rest):
            found.append(f"line {number}: {keyword} in shell form; use exec form, a JSON array of strings")
        elif keyword == "HEALTHCHECK" and rest.strip().upper() != "NONE":
            command = re.split(r"\bCMD\b", rest, maxsplit=1)
            if len(command) != 2 or not _exec_form(command[1]):
                found.append(f"line {number}: HEALTHCHECK needs CMD in exec form, a JSON array of strings")
    return found


def _instructions(code: str) -> list[tuple[int, str]]:
    """(line, instruction) with continuation lines joined and comments dropped."""
    joined: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, raw in enumerate(code.splitlines(), 1):
        line = raw.strip()
        if pending is None and (not line or line.startswith("#")):
            continue
        start, text = pending if pending is not None else (number, "")
        text = f"{text} {line.removesuffix(chr(92))}".strip()
        pending = (start, text) if line.endswith("\\") else None
        if pending is None:
            joined.append((start, text))
    if pending is not None:
        joined.append(pending)
    return joined


def _exec_form(text: str) -> bool:
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return isinstance(value, list) and bool(value) and all(isinstance(item, str) for item in value)


CHECKS: dict[str, Callable[[str], list[str]]] = {
    "json": check_json,
    "yaml": check_yaml,
    "toml": check_toml,
    "ini": check_ini,
    "dockerfile": check_dockerfile,
}
