"""Logs: structlog configured once for the process, the standard library's logging routed through the same
renderer, and one summary line per settled message.

Why this shape: a worker fleet ships stdout (twelve-factor), so every line, consumerkit's, the handler's and
botocore's alike, must be one JSON object that a log pipeline can index; a developer at a terminal wants the
same events readable. structlog's stdlib integration gives both from one pipeline: structlog's loggers hand their
event dicts to the standard library, and one handler's :class:`~structlog.stdlib.ProcessorFormatter` renders
them and every foreign record with the same processors. The processors are data (lists built by small
functions), so the chain can be read top to bottom here and in docs/logging.md.

The summary line ("canonical log line") is an observer of the runtime's :class:`~consumerkit.Outcome`, so the
runtime stays free of formatting decisions and the line is written exactly once per message, when its fate is
settled (deleted, retried, dead-lettered, released or lost).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from importlib.util import find_spec
from typing import IO, TYPE_CHECKING, Any

import structlog
from structlog.typing import EventDict, ExceptionRenderer, Processor, WrappedLogger

from consumerkit.errors import ConfigError
from consumerkit.runtime.events import Outcome

if TYPE_CHECKING:
    from consumerkit.app import App

__all__ = [
    "FORMAT_ENV",
    "LEVEL_ENV",
    "SENSITIVE_KEYS",
    "LogSettings",
    "Redact",
    "configure_logging",
    "ensure_logging",
    "install_logging",
    "log_outcome",
    "outcome_fields",
    "resolve_settings",
]

FORMAT_ENV = "CONSUMERKIT_LOG_FORMAT"
LEVEL_ENV = "CONSUMERKIT_LOG_LEVEL"
FORMATS = ("auto", "console", "json")
LEVELS = {
    name.lower(): logging.getLevelNamesMapping()[name] for name in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
}
# Chatty below WARNING (botocore alone logs every request's wire form at DEBUG): quiet unless DEBUG is asked for.
NOISY_LOGGERS = ("aiobotocore", "aiohttp", "anyio", "asyncio", "boto3", "botocore", "s3transfer", "urllib3")
# Never rendered, whatever logs them: a receipt handle lets anyone delete or hide the message, a body is the
# user's data, the rest are credentials. Matched without case, "_" or "-" (ReceiptHandle, receipt-handle, ...).
SENSITIVE_KEYS = frozenset({
    "receipt_handle", "receipt_handles", "body", "message_body", "aws_secret_access_key", "secret_access_key",
    "aws_session_token", "session_token", "password", "authorization",
})  # fmt: skip
REDACTED = "[redacted]"
HANDLER_NAME = "consumerkit"  # marks our handler on the root logger, so a second configure replaces it
ERROR_TEXT_MAX = 500  # characters of an error's message on the summary line; its traceback is on its own line
_DEPTH_MAX = 4  # how deep Redact looks into nested dicts and lists
_LEAD = ("timestamp", "level", "logger", "event")
_UNTOUCHED = frozenset({"event", "exc_info", "stack_info", "_record", "_from_structlog"})  # for later processors

_outcomes = structlog.get_logger("consumerkit.outcomes")
_QUIET_OUTCOMES = frozenset({"success", "released"})  # info; every other outcome is a warning


# -- settings ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LogSettings:
    """What :func:`configure_logging` decided: ``format`` is ``"json"`` or ``"console"``, ``level`` a logging
    level number."""

    format: str
    level: int

    @property
    def third_party_level(self) -> int:
        """DEBUG shows everything; otherwise the noisy libraries speak from WARNING up (or the level, if higher)."""
        return self.level if self.level <= logging.DEBUG else max(self.level, logging.WARNING)


def resolve_settings(
    format: str | None = None, level: str | int | None = None, *, stream: IO[str] | None = None
) -> LogSettings:
    """Arguments first, then ``$CONSUMERKIT_LOG_FORMAT`` / ``$CONSUMERKIT_LOG_LEVEL``, then auto / INFO.

    Auto means console on a terminal and JSON otherwise (a container, a pipe, a file), judged on the stream the
    lines go to: stdout by default.
    """
    chosen = format if format is not None else _env(FORMAT_ENV)
    name = "auto" if chosen is None else chosen.lower()
    if name not in FORMATS:
        raise _bad(format, FORMAT_ENV, chosen, FORMATS)
    if name == "auto":
        name = "console" if _isatty(stream if stream is not None else sys.stdout) else "json"
    return LogSettings(name, _level(level))


def _env(variable: str) -> str | None:
    return os.environ.get(variable) or None  # set but empty counts as unset, as in a compose file's `VAR=`


def _bad(argument: object, variable: str, value: object, accepted: Collection[str]) -> ConfigError:
    """Name where the bad value came from, the environment variable or the caller's argument, and what fits."""
    where = variable if argument is None else variable.removeprefix("CONSUMERKIT_").lower().replace("_", " ")
    return ConfigError(f"{where}={value!r}: expected one of {', '.join(accepted)}")


def _level(level: str | int | None) -> int:
    chosen = level if level is not None else _env(LEVEL_ENV)
    if chosen is None:
        return logging.INFO
    if isinstance(chosen, int) and not isinstance(chosen, bool) and chosen in LEVELS.values():
        return chosen
    if isinstance(chosen, str) and chosen.lower() in LEVELS:
        return LEVELS[chosen.lower()]
    raise _bad(level, LEVEL_ENV, chosen, LEVELS)


def _isatty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (OSError, ValueError):  # a closed or detached stream is no terminal
        return False


# -- processors -------------------------------------------------------------------------------------------------
class Redact:
    """A processor that replaces the value of every sensitive key, at the top level and in nested dicts and
    lists, with ``"[redacted]"``: a safety net for a ``log.info(..., body=...)`` written in haste. It cannot see
    inside a string: a message that formats a body into its text is not caught."""

    def __init__(self, keys: Collection[str] = SENSITIVE_KEYS) -> None:
        self.keys = frozenset(_normal(key) for key in keys)

    def __repr__(self) -> str:
        return f"Redact({sorted(self.keys)!r})"

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        if not self.keys:
            return event_dict
        for key, value in event_dict.items():
            if key in _UNTOUCHED:
                continue
            event_dict[key] = REDACTED if self._sensitive(key) else self._scrub(value, 1)
        return event_dict

    def _sensitive(self, key: object) -> bool:
        return isinstance(key, str) and _normal(key) in self.keys

    def _scrub(self, value: object, depth: int) -> object:
        if depth > _DEPTH_MAX:
            return value
        if isinstance(value, Mapping):
            return {k: REDACTED if self._sensitive(k) else self._scrub(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list):
            return [self._scrub(item, depth + 1) for item in value]
        if isinstance(value, tuple) and type(value) is tuple:  # a named tuple could not be rebuilt from items
            return tuple(self._scrub(item, depth + 1) for item in value)
        return value


def _normal(key: str) -> str:
    return key.lower().replace("_", "").replace("-", "")


def shared_processors(redact: Collection[str] = SENSITIVE_KEYS) -> list[Processor]:
    """What every event goes through, structlog's and the standard library's alike (``foreign_pre_chain``).

    ``merge_contextvars`` comes first so the message a job is about (bound by the runtime around every job) is
    on every line, and an explicit keyword still wins over it.
    """
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.UnicodeDecoder(),
        Redact(redact),
    ]


def rendering_processors(settings: LogSettings, colors: bool) -> list[Processor]:
    """The formatter's last steps: drop structlog's bookkeeping, then render.

    JSON gets structured tracebacks (a list of exceptions with their frames) so a log search can filter on the
    exception type; locals are left out, since a handler's frame holds the message body. The console renderer
    formats exceptions itself, again without locals.
    """
    meta: Processor = structlog.stdlib.ProcessorFormatter.remove_processors_meta
    if settings.format == "json":
        tracebacks = structlog.processors.ExceptionRenderer(
            structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        )
        return [meta, tracebacks, lead_with_essentials, structlog.processors.JSONRenderer()]
    return [meta, structlog.dev.ConsoleRenderer(colors=colors, exception_formatter=_console_tracebacks())]


def lead_with_essentials(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """Put when, how bad, who and what first, so a raw JSON line reads left to right like a console one."""
    lead = {key: event_dict.pop(key) for key in _LEAD if key in event_dict}
    return {**lead, **event_dict}


def _console_tracebacks() -> ExceptionRenderer:
    if find_spec("rich") is not None:  # structlog's own default would show every frame's locals
        return structlog.dev.RichTracebackFormatter(show_locals=False)
    return structlog.dev.plain_traceback


# -- configuration ----------------------------------------------------------------------------------------------
class _LineHandler(logging.Handler):
    """Writes each rendered record and a newline in one write, then flushes: a log shipper sees every line at
    once, and lines from threads (sync handlers) never interleave. Without a stream of its own it writes to
    whatever ``sys.stdout`` is at the time, so a later redirect (pytest's capture included) is honoured."""

    def __init__(self, stream: IO[str] | None) -> None:
        super().__init__()
        self.stream = stream
        self.set_name(HANDLER_NAME)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            stream = sys.stdout if self.stream is None else self.stream
            stream.write(line + "\n")
            stream.flush()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)


def ensure_logging() -> None:
    """Make sure structlog is configured, without overriding a program's own choices. Unconfigured, structlog
    renders a traceback with every frame's local variables when rich is installed (and consumerkit installs
    it), so a failing handler would print the message body it was given; consumerkit never lets a body reach
    the logs unless asked. ``App.run`` and the testing kit's runner call this.

    A program that configured structlog keeps its configuration. One that set up only the standard library's
    logging (``logging.basicConfig``, pytest's capture) keeps its handlers, format and levels: structlog's
    events are rendered to one line, tracebacks without locals and sensitive keys redacted, and handed to it.
    Otherwise consumerkit's defaults apply (:func:`configure_logging`)."""
    if structlog.is_configured():
        return
    if not logging.getLogger().handlers:
        configure_logging()
        return
    structlog.configure(
        processors=[
            *shared_processors(),
            structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback),
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        context_class=dict,
        cache_logger_on_first_use=False,
    )


def configure_logging(
    format: str | None = None,
    level: str | int | None = None,
    *,
    stream: IO[str] | None = None,
    redact: Collection[str] = SENSITIVE_KEYS,
) -> LogSettings:
    """Configure structlog and the standard library's logging for this process; calling it again replaces the
    previous configuration (one handler, never two).

    ``format``: ``"json"``, ``"console"`` or ``"auto"``/None (``$CONSUMERKIT_LOG_FORMAT``, else console on a
    terminal, JSON otherwise). ``level``: a name (``"debug"`` … ``"critical"``) or a logging level number
    (None: ``$CONSUMERKIT_LOG_LEVEL``, else INFO). ``stream``: where lines go (None: stdout). ``redact``: the
    keys whose values are never rendered (pass a smaller set to log one deliberately). A bad value raises
    :class:`~consumerkit.errors.ConfigError` naming the argument or variable and what it accepts.
    """
    settings = resolve_settings(format, level, stream=stream)
    shared = shared_processors(redact)
    colors = _isatty(stream if stream is not None else sys.stdout) and not os.environ.get("NO_COLOR")
    handler = _LineHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(processors=rendering_processors(settings, colors), foreign_pre_chain=shared)
    )
    _install_handler(handler, settings)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(settings.level),
        context_class=dict,
        # The runtime's loggers are module-level proxies, used before and after a (re)configuration: caching
        # would pin them to whichever configuration they first met.
        cache_logger_on_first_use=False,
    )
    return settings


def _install_handler(handler: logging.Handler, settings: LogSettings) -> None:
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(settings.level)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(settings.third_party_level)


# -- the summary line -------------------------------------------------------------------------------------------
def outcome_fields(outcome: Outcome) -> dict[str, Any]:
    """The summary line's fields: which message, what became of it, how long it took. Failures add the
    error's type and (shortened) message; its traceback is on the runtime's own "handler failed" line."""
    fields: dict[str, Any] = {
        "queue": outcome.queue,
        "handler": outcome.handler,
        "message_id": outcome.message_id,
        "receive_count": outcome.receive_count,
        "outcome": outcome.outcome,
        "duration_s": round(outcome.duration, 3),
    }
    if outcome.queue_wait is not None:
        fields["queue_wait_s"] = round(outcome.queue_wait, 3)
    if outcome.error is not None:
        text = str(outcome.error)
        fields["error_type"] = type(outcome.error).__name__
        fields["error"] = text if len(text) <= ERROR_TEXT_MAX else text[: ERROR_TEXT_MAX - 1] + "…"
    return fields


def log_outcome(outcome: Outcome) -> None:
    """An observer (``app.add_observer(log_outcome)``): one "message settled" line per message, at info for
    success and release, at warning for every kind of failure."""
    fields = outcome_fields(outcome)
    if outcome.outcome in _QUIET_OUTCOMES:
        _outcomes.info("message settled", **fields)
    else:
        _outcomes.warning("message settled", **fields)


def install_logging(
    app: App, format: str | None = None, level: str | int | None = None, *, stream: IO[str] | None = None
) -> LogSettings:
    """Configure logging (see :func:`configure_logging`) and log every message's outcome of ``app``; adding
    the observer twice is a no-op, so a summary line is never doubled."""
    settings = configure_logging(format, level, stream=stream)
    if log_outcome not in app.observers:
        app.add_observer(log_outcome)
    return settings
