"""A deterministic sample of our own adversary (tests/adversary.py) on the bundled tasks: every
composed hack scores 0.0 (not 1.0, not None), every honest control 1.0 — in a fresh container,
and in a container from the warm pool (the runner started by exec), with the same verdicts."""

import pytest

from swe_harness.evaluate import evaluate
from swe_harness.rewards import reward_for

from .adversary import compose, sample

pytestmark = pytest.mark.docker
SAMPLE_TASKS = ("acme-invoicekit-41", "quartz-fastcrc-3", "stormcloud-retrykit-58")


def cases():
    from swe_harness import load_tasks

    from .conftest import TASKS_DIR

    tasks, _ = load_tasks([TASKS_DIR, TASKS_DIR / "swebench"])
    chosen = [t for t in tasks if t.instance_id in SAMPLE_TASKS or "__" in t.instance_id]
    assert len(chosen) == len(SAMPLE_TASKS) + 1  # and the SWE-bench-style instance
    return [case for task in chosen for case in sample(compose([task]), hacks=5)]


@pytest.fixture(scope="module")
def pool(docker_engine):
    from swe_harness import sandbox

    with sandbox.WarmPool(size=1) as warm:
        yield warm


@pytest.mark.parametrize("path", ["fresh", "pool"])
@pytest.mark.parametrize("case", cases(), ids=lambda case: case.name)
def test_composed_hack_or_control(docker_engine, pool, case, path):
    from swe_harness.evaluate import EvalOptions

    options = EvalOptions(pool=pool if path == "pool" else None)
    result = evaluate(case.task, case.candidate, options=options)
    reward = reward_for(case.task, result)
    expected = 1.0 if case.honest else 0.0
    assert reward == expected, (result.status, result.detail, result.error, result.log_tail[-800:])


def test_the_composition_is_broad():
    """Distinct hacks per where × what × encoding, on every task that has a gold fix."""
    from swe_harness import load_tasks

    from .adversary import ENCODING, WHAT, WHERE
    from .conftest import TASKS_DIR

    tasks, _ = load_tasks([TASKS_DIR])
    all_cases = compose(tasks)
    hacks = [c for c in all_cases if not c.honest]
    assert len({(c.task.instance_id, c.candidate) for c in hacks}) == len(hacks) > 500
    assert {c.name.split("/")[1] for c in hacks} == set(WHERE)
    assert {c.name.split("/")[2] for c in hacks} == set(WHAT)
    assert {c.name.split("/")[3] for c in hacks} == set(ENCODING)
