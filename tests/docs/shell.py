"""console and sh blocks: which lines are commands, what each program is allowed to do here, and the bash script
that runs a page's commands in order.

A ``console`` command is a line starting with ``$ `` (the other lines are sample output, not compared); in ``sh``
every line that is not blank or a comment is one. A trailing backslash continues a command on the next line.

Every program a command calls (each part of a pipeline or list) is looked up in three tables:

- ``RUN``: run as written. ``curl`` is run when every URL it names is on this machine.
- ``LONG_RUNNING``: ``consumerkit serve``, ``run`` and ``top`` run until they are stopped, so the runner starts
  the command, waits until it prints its ready line, sends SIGTERM and requires exit status 0 (``longrun.py``).
  Such a command stands alone (no pipeline, no ``&``).
- ``CHECKED``: what this machine lacks (docker, kubectl, systemctl, make, pip, npm, curl to another host) is
  checked, not run: each entry says how. The command becomes a no-op in the script.

Any other program fails the page, naming it: add it to a table, with a reason, rather than letting it through.
A real SQS backend in a command (``--backend sqs://...``) is replaced by the page's server, ``$CONSUMERKIT_BACKEND``.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tests.docs.blocks import ROOT, Block, point_at, words

RUN = words(
    "aws cat cd consumerkit cp echo env export grep head jq kill ls mkdir node printf python python3 rm "
    "sort tail test true unset wc"
)
# consumerkit's subcommands that run until stopped: their ready line ("": any line), and options that make them end
LONG_RUNNING = {"serve": ("listening on ", ()), "run": ("worker started", ()), "top": ("", ("--once",))}
REAL_SQS = re.compile(r"(--backend[= ]|CONSUMERKIT_BACKEND=)sqs://\S*")
SEPARATORS = frozenset({";", "&&", "||", "|", "&", "(", ")"})
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class Command:
    page: str
    line: int
    text: str  # as written (continuation lines kept), with a real SQS backend replaced

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


@dataclass(frozen=True)
class Plan:
    script: str  # bash, run in the page's directory
    files: dict[str, str]  # file name in the runner's directory → a long-running command's one-line script
    checked: list[str]  # what was checked instead of run, for the test's output
    problems: list[str]  # commands the tables refuse, or checks that failed


# Run with bash: stop on the first failing command (saying which), and at the end (or at a failure) stop what runs
# in the background with SIGTERM, requiring exit status 0 of each. The waits poll a log file under a deadline.
PRELUDE = r"""set -e -o pipefail
__docs_bg=()
__docs_up() {  # LOG READY PID: until LOG has a line with READY (any line if READY is empty)
  local deadline=$((SECONDS + 20))
  until grep -qF -- "$2" "$1" 2>/dev/null; do
    if ! kill -0 "$3" 2>/dev/null; then echo "docs: $__docs_at exited before it was up:" >&2; cat "$1" >&2; return 1; fi
    if (( SECONDS >= deadline )); then echo "docs: $__docs_at not up within 20 s:" >&2; cat "$1" >&2; return 1; fi
    sleep 0.05
  done
}
__docs_stop() {  # PID NAME WHERE: SIGTERM, then exit status 0 within 15 s
  kill -TERM "$1" 2>/dev/null || true
  local deadline=$((SECONDS + 15)) rc=0
  while kill -0 "$1" 2>/dev/null && [ "$(ps -o stat= -p "$1")" != Z ]; do
    if (( SECONDS >= deadline )); then echo "docs: $3 still running 15 s after SIGTERM" >&2; kill -KILL "$1"; fi
    sleep 0.05
  done
  wait "$1" || rc=$?
  cat "$DOCS_RUNNER/$2.log"
  if [ "$rc" != 0 ]; then echo "docs: $3 exited $rc after SIGTERM, not 0" >&2; return 1; fi
}
__docs_end() {
  local rc=$? entry
  for entry in "${__docs_bg[@]}"; do __docs_stop ${entry} || rc=1; done
  exit $rc
}
trap 'echo "docs: the command at $__docs_at exited $?" >&2' ERR
trap __docs_end EXIT
"""


def commands(block: Block) -> list[Command]:
    found: list[Command] = []
    lines = block.code.splitlines()
    i = 0
    while i < len(lines):
        line, number = lines[i], block.line + 1 + i
        i += 1
        if block.language == "console":
            if not line.startswith("$ "):
                continue
            text = line[2:]
        elif not line.strip() or line.lstrip().startswith("#"):
            continue
        else:
            text = line
        while text.endswith("\\") and i < len(lines):
            text += "\n" + lines[i]
            i += 1
        found.append(Command(block.page, number, REAL_SQS.sub(r"\1$CONSUMERKIT_BACKEND", text)))
    return found


def plan(blocks: list[Block], server: str, worker_port: int, free_port: Callable[[], int]) -> Plan:
    """The page's commands as one bash script. ``server`` (host:port) stands in for the docs' default
    ``127.0.0.1:9324`` until the page starts a ``consumerkit serve`` of its own in the background, which gets a
    free port and from then on stands in for it; ``worker_port`` stands in for the worker's 9750."""
    script, files, checked, problems = [PRELUDE], {}, [], []
    for command in (c for block in blocks for c in commands(block)):
        text = point_at(command.text, server, worker_port)
        script.append(f"__docs_at={shlex.quote(command.where)}")
        kind, notes = classify(text)
        if kind == "refused":
            problems += [f"{command.where}: {note}" for note in notes]
        elif kind == "checked":
            checked += [f"{command.where}: {note}" for note in notes if not note.startswith("!")]
            problems += [f"{command.where}: {note[1:]}" for note in notes if note.startswith("!")]
            script.append(": checked, not run")
        elif kind in ("long", "background"):
            name, ready = f"long-{command.line}", notes[0]
            body = text.rstrip().removesuffix("&").rstrip()
            if kind == "background" and _is_serve(body) and "--port" not in body:
                port = free_port()
                body = f"export CONSUMERKIT_SERVE_PORT={port}\nexec {body}"
                server = f"127.0.0.1:{port}"  # the docs' next commands reach this server
            else:
                body = f"exec {body}"
            files[f"{name}.sh"] = body + "\n"
            script.append(_launch(name, ready, kind == "background"))
        else:
            script.append(text)
    return Plan("\n".join(script) + "\n", files, checked, problems)


def _launch(name: str, ready: str, background: bool) -> str:
    log = f'"$DOCS_RUNNER/{name}.log"'
    start = f'bash "$DOCS_RUNNER/{name}.sh" > {log} 2>&1 & __docs_pid=$!'
    up = f"__docs_up {log} {shlex.quote(ready)} $__docs_pid"
    if background:  # stopped at the end, the last started first
        return f'{start}\n__docs_bg=("$__docs_pid {name} $__docs_at" "${{__docs_bg[@]}}")\n{up}'
    return f"{start}\n{up}\n__docs_stop $__docs_pid {name} $__docs_at"


def _is_serve(text: str) -> bool:
    words = [w for w in _words(text) if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", w)]
    return "serve" in words[1:3]


def classify(text: str) -> tuple[str, list[str]]:
    """("run" | "long" | "background" | "checked" | "refused", notes): for the long-running kinds the ready line,
    for "checked" what was checked (a note starting with "!" is a failed check), for "refused" why."""
    try:
        words = _words(text)
    except ValueError as error:
        return "refused", [f"cannot split {text!r} into words: {error}"]
    background = bool(words) and words[-1] == "&"
    segments = _segments(words)
    kinds = [_classify_one(segment) for segment in segments]
    refused = [note for kind, notes in kinds if kind == "refused" for note in notes]
    if refused:
        return "refused", refused
    if any(kind == "long" for kind, _ in kinds):
        if len(kinds) > 1:
            return "refused", ["a long-running command must stand alone: no pipeline or list"]
        return ("background" if background else "long"), kinds[0][1]
    if background:
        return "refused", ["only a long-running command (consumerkit serve, run, top) may end with &"]
    if any(kind == "checked" for kind, _ in kinds):
        return "checked", [note for kind, notes in kinds if kind == "checked" for note in notes]
    return "run", []


def _words(text: str) -> list[str]:
    lexer = shlex.shlex(text.replace("\\\n", " "), posix=True, punctuation_chars=";&|()<>")
    lexer.whitespace_split = True
    return list(lexer)


def _segments(words: list[str]) -> list[list[str]]:
    segments: list[list[str]] = [[]]
    for word in words:
        if word in SEPARATORS:
            segments.append([])
        else:
            segments[-1].append(word)
    return [s for s in segments if s]


def _classify_one(words: list[str]) -> tuple[str, list[str]]:
    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        words = words[1:]  # VAR=value before the program
    if words and words[0] == "sudo":
        words = words[1:]
    if not words:
        return "run", []
    program, args = Path(words[0]).name, words[1:]
    if program in ("python", "python3") and args[:1] == ["-m"] and args[1:2] in (["pip"], ["consumerkit"]):
        program, args = args[1], args[2:]
    if program == "consumerkit":
        sub = next((a for a in args if not a.startswith("-")), "")
        ready, ending = LONG_RUNNING.get(sub, ("", ()))
        return ("long", [ready]) if sub in LONG_RUNNING and not set(ending) & set(args) else ("run", [])
    if program == "curl" and all(_is_local(url) for url in _urls(args)):
        return "run", []
    if program in CHECKED:
        problems = CHECKED[program](args)
        return "checked", problems or [f"{program} {' '.join(args)}: checked ({CHECKED[program].__doc__})"]
    if program in RUN:
        return "run", []
    return "refused", [f"program {program!r} is in none of the runner's tables (tests/docs/shell.py)"]


# -- checked, not run: one function per program; each returns failed checks, prefixed "!" -------------------------


def _check_make(args: list[str]) -> list[str]:
    """each target is a rule in the Makefile"""
    makefile = (ROOT / "Makefile").read_text()
    targets = [a for a in args if not a.startswith("-") and "=" not in a]
    return [
        f"!make {t}: no such target in the Makefile"
        for t in targets
        if not re.search(rf"(?m)^{re.escape(t)}:", makefile)
    ]


def _check_docker(args: list[str]) -> list[str]:
    """docker build: the Dockerfile exists; compose -f: the file exists and is YAML; others: a known subcommand"""
    sub = next((a for a in args if not a.startswith("-")), "")
    known = {
        "build",
        "run",
        "compose",
        "stop",
        "kill",
        "push",
        "pull",
        "tag",
        "logs",
        "exec",
        "ps",
        "images",
        "inspect",
    }
    if sub not in known:
        return [f"!docker {sub}: not a docker subcommand the runner knows"]
    files = _option_values(args, "-f", "--file")
    if sub == "build":
        context = [a for a in args[args.index("build") + 1 :] if not a.startswith("-") and a not in files]
        default = str(Path(context[-1] if context else ".") / "Dockerfile")
        return [f"!docker build: {f} does not exist" for f in files or [default] if not (ROOT / f).is_file()]
    return [f"!docker {sub}: {f} does not exist" for f in files if not (ROOT / f).is_file()]


def _check_kubectl(args: list[str]) -> list[str]:
    """kubectl apply -f: the manifest exists; others: a known subcommand"""
    sub = next((a for a in args if not a.startswith("-")), "")
    known = {"apply", "get", "describe", "logs", "rollout", "delete", "scale", "create", "port-forward", "top"}
    if sub not in known:
        return [f"!kubectl {sub}: not a kubectl subcommand the runner knows"]
    files = _option_values(args, "-f", "--filename")
    return [f"!kubectl {sub}: {f} does not exist" for f in files if "://" not in f and not (ROOT / f).exists()]


def _check_systemctl(args: list[str]) -> list[str]:
    """a known systemctl verb and a unit name"""
    known = {"start", "stop", "restart", "reload", "enable", "disable", "status", "kill", "daemon-reload", "show"}
    verbs = [a for a in args if not a.startswith("-")]
    if not verbs or verbs[0] not in known:
        return [f"!systemctl {' '.join(args)}: not a systemctl verb the runner knows"]
    if verbs[0] != "daemon-reload" and len(verbs) < 2:
        return [f"!systemctl {verbs[0]}: which unit?"]
    return []


def _check_pip(args: list[str]) -> list[str]:
    """pip install: consumerkit itself (a path to this checkout, or the name with extras), or one of its
    dependencies in pyproject.toml"""
    if args[:1] != ["install"]:
        return [f"!pip {' '.join(args[:1])}: only pip install is checked"]
    ours = _our_packages()
    problems = []
    for requirement in (a for a in args[1:] if not a.startswith("-")):
        name = re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower()
        if requirement.startswith((".", "/")) and (ROOT / requirement.split("[")[0]).exists():
            continue
        if name not in ours:
            problems.append(f"!pip install {requirement}: neither consumerkit nor one of its dependencies")
    return problems


def _check_npm(args: list[str]) -> list[str]:
    """npm install: a package the Makefile installs for the wire tests"""
    if args[:1] not in (["install"], ["i"]):
        return [f"!npm {' '.join(args[:1])}: only npm install is checked"]
    makefile = (ROOT / "Makefile").read_text()
    packages = [
        a.rsplit("@", 1)[0] if a.count("@") > a.startswith("@") else a for a in args[1:] if not a.startswith("-")
    ]
    return [f"!npm install {p}: not a package the Makefile installs" for p in packages if p not in makefile]


def _check_curl(args: list[str]) -> list[str]:
    """curl to another host: each URL is well-formed http(s)"""
    urls = _urls(args)
    if not urls:
        return ["!curl: no URL"]
    return [f"!curl {url}: not a well-formed http(s) URL" for url in urls if not _well_formed(url)]


CHECKED: dict[str, Callable[[list[str]], list[str]]] = {
    "make": _check_make,
    "docker": _check_docker,
    "kubectl": _check_kubectl,
    "systemctl": _check_systemctl,
    "pip": _check_pip,
    "pip3": _check_pip,
    "npm": _check_npm,
    "curl": _check_curl,
}


def _option_values(args: list[str], *names: str) -> list[str]:
    values = []
    for i, arg in enumerate(args):
        if arg in names and i + 1 < len(args):
            values.append(args[i + 1])
        values += [arg.split("=", 1)[1] for name in names if arg.startswith(f"{name}=")]
    return values


def _urls(args: list[str]) -> list[str]:
    return [a for a in args if "://" in a]


def _is_local(url: str) -> bool:
    return (urlsplit(url).hostname or "") in LOOPBACK


def _well_formed(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _our_packages() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [
        *project["dependencies"],
        *(r for group in project["optional-dependencies"].values() for r in group),
    ]
    return {project["name"], *(re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0].lower() for r in requirements)}
