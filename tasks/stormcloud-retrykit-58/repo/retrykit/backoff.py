"""Backoff delay computation."""

import random
from typing import Optional


def compute_delay(
    attempt: int,
    *,
    base_delay: float,
    factor: float = 2.0,
    max_delay: Optional[float] = None,
    jitter: bool = False,
    rng: random.Random = random,
) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based).

    The delay grows as ``base_delay * factor ** (attempt - 1)`` and is capped
    at ``max_delay``. With ``jitter`` a uniformly random delay between 0 and
    that value is returned instead ("full jitter").
    """
    if attempt < 1:
        raise ValueError("attempt is 1-based")
    if base_delay < 0 or factor < 1:
        raise ValueError("base_delay must be >= 0 and factor >= 1")
    delay = base_delay * factor ** (attempt - 1)
    if jitter:
        if max_delay is not None:
            delay = min(delay, max_delay)
        delay = rng.uniform(0, delay)
    return delay
