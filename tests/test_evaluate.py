"""The one evaluation path, on strings (grading) and against the real Docker engine."""

import pytest

from swe_harness.evaluate import candidate_problems, grade, parse_result
from swe_harness.evaluate import EvalOptions, evaluate
from swe_harness.rewards import reward_for

DONE = {"phase": "done", "t_apply_end": "10.0", "t_eval_end": "12.0"}


@pytest.mark.parametrize("fields,exit_code,status", [
    ({**DONE, "eval_exit_code": "0"}, 0, "passed"),
    ({**DONE, "eval_exit_code": "1"}, 1, "failed"),
    ({**DONE, "eval_exit_code": "124", "t_eval_end": "40.0"}, 124, "timeout"),
    ({**DONE, "eval_exit_code": "124"}, 124, "failed"),  # the script's own 124, well in time
    ({"phase": "patch_failed"}, 0, "patch_failed"),
    ({"phase": "test_patch_failed"}, 0, "error"),
    ({"error": "workdir /x does not exist in the image"}, 3, "error"),
    ({}, 137, "error"),  # runner died: killed from outside
    ({}, None, "timeout"),  # the client-side deadline passed
])
def test_grade(fields, exit_code, status):
    assert grade(fields, exit_code, timeout_s=30)[0] == status


def test_parse_result_first_value_wins():
    assert parse_result("a=1\nb=x=y\na=2\nnoise\n") == {"a": "1", "b": "x=y"}


def test_candidate_problems():
    assert candidate_problems("") is None
    assert "unified diff" in candidate_problems("rm -rf /")
    escape = "--- a/../x\n+++ b/../x\n@@ -1 +1 @@\n-a\n+b\n"
    assert "outside the repository" in candidate_problems(escape)


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


@pytest.mark.docker
def test_missing_image_with_build_never_is_an_error(docker_engine, bundled_tasks):
    task = next(iter(bundled_tasks.values()))
    ghost = task.__class__(**{**task.__dict__, "image_name": "swe-harness/no-such-image:never"})
    result = evaluate(ghost, ghost.gold_candidate, "gold", EvalOptions(build="never"))
    assert result.status == "error"
    assert "not present locally" in result.error
    assert reward_for(ghost, result) is None
