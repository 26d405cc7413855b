"""The ``consumerkit`` command line: a click group; each command lives in its own module.

click, because it is the well-kept standard for this (typed options, env-var defaults, help text, testing
helpers) and it is already in most Python environments.
"""

from __future__ import annotations

import click

from consumerkit import __version__
from consumerkit.cli.check import check_command
from consumerkit.cli.dlq import dlq_group
from consumerkit.cli.queue import queue_group
from consumerkit.cli.run import run_command
from consumerkit.cli.serve import serve_command
from consumerkit.cli.top import top_command


@click.group(context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "CONSUMERKIT"})
@click.version_option(__version__, prog_name="consumerkit")
def main() -> None:
    """Queue workers on Amazon SQS, and a local SQS to run them on."""


main.add_command(check_command)
main.add_command(run_command)
main.add_command(serve_command)
main.add_command(queue_group)
main.add_command(dlq_group)
main.add_command(top_command)
