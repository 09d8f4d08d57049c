import random

import pytest

from retrykit import compute_delay


def test_exponential_growth():
    delays = [compute_delay(n, base_delay=0.1) for n in range(1, 5)]
    assert delays == pytest.approx([0.1, 0.2, 0.4, 0.8])


def test_custom_factor():
    assert compute_delay(3, base_delay=1.0, factor=3.0) == pytest.approx(9.0)


def test_jitter_stays_within_cap():
    rng = random.Random(1234)
    for n in range(1, 20):
        d = compute_delay(n, base_delay=0.5, max_delay=2.0, jitter=True, rng=rng)
        assert 0 <= d <= 2.0


def test_invalid_arguments():
    with pytest.raises(ValueError):
        compute_delay(0, base_delay=1.0)
    with pytest.raises(ValueError):
        compute_delay(1, base_delay=1.0, factor=0.5)
