"""What a worker tells its operators: Prometheus metrics, health endpoints (docs/observability.md)."""

from consumerkit.observability.http import DEFAULT_HTTP_HOST, DEFAULT_HTTP_PORT, HttpService, http_service
from consumerkit.observability.metered import MeteredBackend
from consumerkit.observability.metrics import LONG_JOB_BUCKETS, Metrics, install_metrics

__all__ = [
    "DEFAULT_HTTP_HOST",
    "DEFAULT_HTTP_PORT",
    "LONG_JOB_BUCKETS",
    "HttpService",
    "MeteredBackend",
    "Metrics",
    "http_service",
    "install_metrics",
]
