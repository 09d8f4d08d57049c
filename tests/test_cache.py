"""The per-run reward cache on real files, and end to end on the real engine."""

import pytest

from swe_harness.cache import ResultCache
from swe_harness.evaluate import EvalOptions, EvalResult, evaluate

@pytest.fixture
def spec_of(bundled_tasks):
    """The spec of a bundled task's gold patch, with one input changed."""
    import dataclasses

    from swe_harness.spec import build_spec

    task = bundled_tasks["brightline-semverlite-7"]

    def make(task_changes=None, candidate=None, options=EvalOptions(), image_id="sha256:1"):
        changed = dataclasses.replace(task, **(task_changes or {}))
        return build_spec(changed, candidate if candidate is not None else task.gold_candidate,
                          options, image_id)
    return make


@pytest.mark.parametrize("change", [
    dict(image_id="sha256:2"),
    dict(task_changes={"eval_script": "#!/bin/bash\npytest -x\n"}),
    dict(task_changes={"test_patch": ""}),
    dict(task_changes={"test_files": ("tests/test_other.py",)}),
    dict(task_changes={"workdir": "/testbed"}),
    dict(task_changes={"network": True}),
    dict(candidate=""),
    dict(options=EvalOptions(timeout_s=31.0)),
    dict(options=EvalOptions(memory="2g")),
    dict(options=EvalOptions(pids=100)),
])
def test_key_changes_with_each_input_of_the_container(spec_of, change):
    assert spec_of().key() != spec_of(**change).key()


def test_key_is_stable_for_the_same_inputs(spec_of):
    assert spec_of().key() == spec_of().key()
    # the cache directory is where results live, not what decides them
    assert spec_of().key() == spec_of(options=EvalOptions(cache_dir="/tmp/elsewhere")).key()


def test_store_and_replay_but_never_errors(tmp_path):
    cache = ResultCache(tmp_path)
    with cache.entry("k1") as (hit, store):
        assert hit is None
        store(EvalResult("a-b-1", "model", "failed", exit_code=1))
    with cache.entry("k1") as (hit, _):
        assert (hit.status, hit.exit_code) == ("failed", 1)
    for key, status in (("k2", "error"), ("k3", "timeout")):
        with cache.entry(key) as (_, store):
            store(EvalResult("a-b-1", "model", status, error="daemon gone"))
        with cache.entry(key) as (hit, _):
            assert hit is None, status


@pytest.mark.docker
def test_identical_evaluation_runs_once(docker_engine, bundled_tasks, tmp_path):
    task = bundled_tasks[sorted(bundled_tasks)[0]]
    options = EvalOptions(cache_dir=str(tmp_path / "cache"))
    first = evaluate(task, task.gold_candidate, "model", options)
    second = evaluate(task, task.gold_candidate, "model", options)
    assert (first.status, first.cached) == ("passed", False)
    assert (second.status, second.cached) == ("passed", True)
    assert second.report(1.0)["cached"] is True
    other = evaluate(task, "", "empty", options)
    assert (other.status, other.cached) == ("failed", False)
    uncached = evaluate(task, task.gold_candidate, "model", EvalOptions())
    assert (uncached.status, uncached.cached) == ("passed", False)
