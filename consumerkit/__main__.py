"""``python -m consumerkit`` is the ``consumerkit`` command."""

from consumerkit.cli import main

main()
