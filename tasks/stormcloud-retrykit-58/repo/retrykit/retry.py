"""Retry loop and decorator."""

import functools
import time
from dataclasses import dataclass
from typing import Callable, Optional, Tuple, Type

from .backoff import compute_delay


class RetryError(Exception):
    """Raised when retrying gives up; ``last_exception`` is the final failure."""

    def __init__(self, attempts: int, last_exception: BaseException):
        super().__init__(f"gave up after {attempts} attempt(s): {last_exception!r}")
        self.attempts = attempts
        self.last_exception = last_exception


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    base_delay: float = 0.1
    factor: float = 2.0
    max_delay: Optional[float] = None
    jitter: bool = False
    deadline: Optional[float] = None  # seconds for the whole call, sleeps included
    retry_on: Tuple[Type[BaseException], ...] = (Exception,)

    def __post_init__(self):
        if self.attempts < 1:
            raise ValueError("attempts must be >= 1")


def call_with_retry(
    fn: Callable,
    policy: Optional[RetryPolicy] = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    on_retry: Optional[Callable[[int, float, BaseException], None]] = None,
):
    """Call ``fn()`` until it succeeds, following ``policy``."""
    policy = policy or RetryPolicy()
    start = clock()
    for attempt in range(1, policy.attempts + 1):
        try:
            return fn()
        except policy.retry_on as exc:
            if attempt == policy.attempts:
                raise RetryError(attempt, exc) from exc
            delay = compute_delay(
                attempt,
                base_delay=policy.base_delay,
                factor=policy.factor,
                max_delay=policy.max_delay,
                jitter=policy.jitter,
            )
            if policy.deadline is not None and clock() - start + delay > policy.deadline:
                # sleeping would overrun the deadline: give up now
                raise RetryError(attempt, exc) from exc
            if on_retry is not None:
                on_retry(attempt, delay, exc)
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def retry(policy: Optional[RetryPolicy] = None, **kwargs):
    """Decorator form of :func:`call_with_retry`."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kw):
            return call_with_retry(functools.partial(fn, *args, **kw), policy, **kwargs)

        return wrapper

    return decorate
