"""Retry flaky calls with exponential backoff."""

from .backoff import compute_delay
from .retry import RetryError, RetryPolicy, call_with_retry, retry

__all__ = ["RetryError", "RetryPolicy", "call_with_retry", "compute_delay", "retry"]
__version__ = "2.1.0"
