import pytest

from retrykit import RetryError, RetryPolicy, call_with_retry, retry


class FakeClock:
    """A clock that only advances when sleep() is called."""

    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class Flaky:
    """Raises ConnectionError for the first ``failures`` calls."""

    def __init__(self, failures, result="ok"):
        self.failures = failures
        self.calls = 0
        self.result = result

    def __call__(self):
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError(f"down (call {self.calls})")
        return self.result


def test_succeeds_after_failures():
    clock = FakeClock()
    fn = Flaky(2)
    policy = RetryPolicy(attempts=5, base_delay=0.1)
    assert call_with_retry(fn, policy, sleep=clock.sleep, clock=clock) == "ok"
    assert fn.calls == 3
    assert clock.sleeps == pytest.approx([0.1, 0.2])


def test_gives_up_after_attempts():
    clock = FakeClock()
    fn = Flaky(10)
    with pytest.raises(RetryError) as info:
        call_with_retry(fn, RetryPolicy(attempts=3), sleep=clock.sleep, clock=clock)
    assert info.value.attempts == 3
    assert isinstance(info.value.last_exception, ConnectionError)
    assert fn.calls == 3


def test_deadline_stops_early():
    clock = FakeClock()
    fn = Flaky(10)
    policy = RetryPolicy(attempts=10, base_delay=1.0, deadline=5.0)
    with pytest.raises(RetryError):
        call_with_retry(fn, policy, sleep=clock.sleep, clock=clock)
    # slept 1 + 2, the next 4s sleep would end after the 5s deadline
    assert clock.sleeps == pytest.approx([1.0, 2.0])


def test_other_exceptions_propagate():
    def boom():
        raise KeyError("nope")

    with pytest.raises(KeyError):
        call_with_retry(boom, RetryPolicy(retry_on=(ConnectionError,)), sleep=lambda s: None)


def test_on_retry_callback():
    clock = FakeClock()
    seen = []
    call_with_retry(
        Flaky(1),
        RetryPolicy(base_delay=0.25),
        sleep=clock.sleep,
        clock=clock,
        on_retry=lambda n, d, e: seen.append((n, d, type(e))),
    )
    assert seen == [(1, 0.25, ConnectionError)]


def test_decorator_passes_arguments():
    calls = []

    @retry(RetryPolicy(attempts=2, base_delay=0), sleep=lambda s: None)
    def add(a, b):
        calls.append((a, b))
        if len(calls) == 1:
            raise ConnectionError
        return a + b

    assert add(2, b=3) == 5
    assert calls == [(2, 3), (2, 3)]
