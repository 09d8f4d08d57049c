"""The one evaluation path, on strings (grading) and against the real Docker engine."""

import pytest

from swe_harness.evaluate import candidate_problems, reset_files
from swe_harness.evaluate import EvalOptions, evaluate
from swe_harness.rewards import reward_for

def test_candidate_problems():
    assert candidate_problems("") is None
    assert "unified diff" in candidate_problems("rm -rf /")
    escape = "--- a/../x\n+++ b/../x\n@@ -1 +1 @@\n-a\n+b\n"
    assert "outside the repository" in candidate_problems(escape)
    conftest = "--- a/conftest.py\n+++ b/conftest.py\n@@ -1 +1 @@\n-a\n+b\n"
    assert "conftest.py is protected" in candidate_problems(conftest, ["conftest.py"])


def test_reset_files_cover_test_patch_declared_and_named_tests(bundled_tasks):
    task = next(iter(bundled_tasks.values()))
    task = task.__class__(**{**task.__dict__, "test_files": ("tests/declared.py",),
                             "eval_script": "set -e\npytest tests/test_named.py::test_x -xvs\n"})
    assert {"tests/declared.py", "tests/test_named.py"} <= set(reset_files(task))


def test_rejected_patch_never_starts_a_container(bundled_tasks):
    task = next(iter(bundled_tasks.values()))
    result = evaluate(task, "--- a/../../etc/passwd\n+++ b/../../etc/passwd\n@@ -1 +1 @@\n-a\n+b\n")
    assert result.status == "rejected"
    assert reward_for(task, result) == 0.0


@pytest.mark.docker
def test_every_bundled_task_gold_passes_and_empty_fails(docker_engine, bundled_tasks):
    assert len(bundled_tasks) >= 6
    outcomes = {}
    for iid, task in bundled_tasks.items():
        gold = evaluate(task, task.gold_candidate, "gold")
        empty = evaluate(task, "", "empty")
        outcomes[iid] = (reward_for(task, gold), gold.status, reward_for(task, empty), empty.status)
    assert outcomes == {iid: (1.0, "passed", 0.0, "failed") for iid in bundled_tasks}


@pytest.mark.docker
def test_full_gold_patch_with_its_tests_passes_too(docker_engine, bundled_tasks):
    """The whole PR diff (fix + tests) as the candidate: test files are reset, then re-applied."""
    task = next(t for t in bundled_tasks.values() if t.test_patch)
    result = evaluate(task, task.gold_patch, "gold")
    assert (result.status, result.apply_method) == ("passed", "git_apply")


@pytest.mark.docker
def test_timeout_is_enforced(docker_engine, bundled_tasks):
    task = next(iter(bundled_tasks.values()))
    slow = task.__class__(**{**task.__dict__, "eval_script": "#!/bin/bash\nsleep 60\n"})
    result = evaluate(slow, "", "empty", EvalOptions(timeout_s=2))
    assert result.status == "timeout"
    assert result.duration_s["total"] < 30
    assert reward_for(slow, result) == 0.0
