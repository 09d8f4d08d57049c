"""The per-run reward cache on real files, and end to end on the real engine."""

import pytest

from swe_harness.cache import ResultCache
from swe_harness.evaluate import EvalOptions, EvalResult, evaluate

KEY_PARTS = dict(image_id="sha256:1", eval_script="pytest", test_patch="", reset_files=["t.py"],
                 candidate="diff", workdir="/workspace", timeout_s=30.0)


@pytest.mark.parametrize("part,other", [
    ("image_id", "sha256:2"), ("eval_script", "pytest -x"), ("test_patch", "d"),
    ("reset_files", []), ("candidate", "diff2"), ("workdir", "/testbed"), ("timeout_s", 31.0)])
def test_key_depends_on_everything_that_decides_the_verdict(part, other):
    assert ResultCache.key(**KEY_PARTS) != ResultCache.key(**{**KEY_PARTS, part: other})
    assert ResultCache.key(**KEY_PARTS) == ResultCache.key(**dict(KEY_PARTS))


def test_store_and_replay_but_never_errors(tmp_path):
    cache = ResultCache(tmp_path)
    with cache.entry("k1") as (hit, store):
        assert hit is None
        store(EvalResult("a-b-1", "model", "failed", exit_code=1))
    with cache.entry("k1") as (hit, _):
        assert (hit.status, hit.exit_code) == ("failed", 1)
    with cache.entry("k2") as (_, store):
        store(EvalResult("a-b-1", "model", "error", error="daemon gone"))
    with cache.entry("k2") as (hit, _):
        assert hit is None


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
