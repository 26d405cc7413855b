"""consumerkit: queue workers on Amazon SQS as a few decorated functions, with a bundled local SQS engine."""

from consumerkit.app import App
from consumerkit.envelopes import S3Bucket, S3Event, S3Object, S3Record, S3TestEvent, SnsAttribute, SnsNotification
from consumerkit.errors import (
    BackendError,
    ConfigError,
    ConsumerkitError,
    PayloadError,
    QueueNotFoundError,
    Reject,
    TransientBackendError,
)
from consumerkit.handlers import HandlerSpec
from consumerkit.message import Message
from consumerkit.process import ProcessError, run_process
from consumerkit.queues import QueueSpec
from consumerkit.runtime.events import HandlerStatistics, Outcome
from consumerkit.runtime.retry import ExponentialBackoff, FixedBackoff, RetryPolicy
from consumerkit.runtime.supervisor import Supervisor, SupervisorSettings
from consumerkit.runtime.threads import JobCancelled, check_cancelled

__version__ = "0.1.0.dev0"

__all__ = [
    "App",
    "BackendError",
    "ConfigError",
    "ConsumerkitError",
    "ExponentialBackoff",
    "FixedBackoff",
    "HandlerSpec",
    "HandlerStatistics",
    "JobCancelled",
    "Message",
    "Outcome",
    "PayloadError",
    "ProcessError",
    "QueueNotFoundError",
    "QueueSpec",
    "Reject",
    "RetryPolicy",
    "S3Bucket",
    "S3Event",
    "S3Object",
    "S3Record",
    "S3TestEvent",
    "SnsAttribute",
    "SnsNotification",
    "Supervisor",
    "SupervisorSettings",
    "TransientBackendError",
    "__version__",
    "check_cancelled",
    "run_process",
]
