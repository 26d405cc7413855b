"""consumerkit.testing: run an app's handlers under test, for real, in milliseconds.

:class:`Runner` serves an app (its real supervisor) on an in-memory engine whose clock it moves, so retries,
back-offs and dead-lettering take no real time; :func:`run_until_idle` is its one-call form. The pytest plugin
(``consumerkit.testing.plugin``, loaded by pytest for anyone who installs consumerkit) adds the fixtures
``consumerkit_clock``, ``consumerkit_engine``, ``consumerkit_backend`` and ``consumerkit_runner``.
"""

from consumerkit.testing.result import RunResult
from consumerkit.testing.runner import NotIdleError, Runner, run_until_idle

__all__ = ["NotIdleError", "RunResult", "Runner", "run_until_idle"]
