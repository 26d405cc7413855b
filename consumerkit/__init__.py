"""consumerkit: queue workers on Amazon SQS as a few decorated functions, with a bundled local SQS engine."""

from consumerkit.errors import BackendError, ConfigError, ConsumerkitError

__version__ = "0.1.0.dev0"

__all__ = ["BackendError", "ConfigError", "ConsumerkitError", "__version__"]
