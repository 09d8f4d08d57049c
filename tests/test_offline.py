"""Package managers fail fast when an evaluation has no network."""

import pytest

from swe_harness.evaluate import EvalOptions
from swe_harness.offline import OFFLINE_ENV, offline_env
from swe_harness.task import load_tasks

from .conftest import ROOT

BENCH_TASK = ROOT / "benchmarks" / "tasks" / "tidyargs-pipinstall-1"


def test_only_evaluations_without_network_get_the_offline_settings():
    from dataclasses import replace

    from swe_harness.spec import build_spec

    (task,), _ = load_tasks([BENCH_TASK])
    env = dict(build_spec(task, "", EvalOptions(), "sha256:0").environment)
    assert env["PIP_RETRIES"] == "0" and env["UV_OFFLINE"] == "1"
    online = dict(build_spec(replace(task, network=True), "", EvalOptions(), "sha256:0").environment)
    assert "PIP_RETRIES" not in online
    assert offline_env(True) == {} and offline_env(False) == OFFLINE_ENV
    # an image's own file:// index must keep working: pip's index is not switched off
    assert "PIP_NO_INDEX" not in OFFLINE_ENV


@pytest.mark.docker
def test_pip_install_gives_up_at_once_and_the_gold_still_passes(docker_engine):
    from swe_harness.evaluate import evaluate

    (task,), _ = load_tasks([BENCH_TASK])
    result = evaluate(task, task.gold_candidate, "gold", EvalOptions())
    assert result.status == "passed", result.log_tail
    assert "No matching distribution found for setuptools" in result.log  # pip really ran
    assert "Retrying (Retry(" not in result.log  # and did not wait for the index
