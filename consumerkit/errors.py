"""The one exception hierarchy of consumerkit.

Every error the project raises on purpose derives from :class:`ConsumerkitError`, so callers can catch the
whole family in one place while still telling configuration mistakes from service failures.
"""

from __future__ import annotations

__all__ = ["BackendError", "ConfigError", "ConsumerkitError"]


class ConsumerkitError(Exception):
    """Base of every error consumerkit raises deliberately."""


class ConfigError(ConsumerkitError):
    """A setting is missing or out of range; the message names the setting, the value and the limit."""


class BackendError(ConsumerkitError):
    """A queue service refused or failed an operation."""
