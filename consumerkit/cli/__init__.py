"""The ``consumerkit`` command."""

from consumerkit.cli.main import main

__all__ = ["main"]
