"""The one evaluation path, on strings (grading) and against the real Docker engine."""

import pytest

from swe_harness.evaluate import EvalOptions, candidate_problems, evaluate
from swe_harness.rewards import reward_for
from swe_harness.spec import reset_files, script_test_paths


def test_candidate_problems():
    assert candidate_problems("") is None
    assert "not a diff" in candidate_problems("rm -rf /")
    escape = "--- a/../x\n+++ b/../x\n@@ -1 +1 @@\n-a\n+b\n"
    assert "outside the repository" in candidate_problems(escape)
    conftest = "--- a/conftest.py\n+++ b/conftest.py\n@@ -1 +1 @@\n-a\n+b\n"
    assert "conftest.py is protected" in candidate_problems(conftest, ["conftest.py"])


def test_reset_files_cover_test_patch_declared_and_named_tests(bundled_tasks):
    task = next(iter(bundled_tasks.values()))
    task = task.__class__(**{**task.__dict__, "test_files": ("tests/declared.py",),
                             "eval_script": "set -e\npytest tests/test_named.py::test_x -xvs\n"})
    assert {"tests/declared.py", "tests/test_named.py"} <= set(reset_files(task, set()))


def test_reset_files_keep_library_code_in_test_named_packages(bundled_tasks):
    """An honest fix in ``django/test/client.py`` or ``astropy/tests/helper.py`` stands; a test
    module the candidate touches is reset; the test package inits above declared tests too."""
    task = next(iter(bundled_tasks.values()))
    task = task.__class__(**{**task.__dict__, "test_files": ("astropy/tests/test_x.py",),
                             "test_patch": "", "eval_script": "pytest astropy/tests/test_x.py\n"})
    touched = {"django/test/client.py", "astropy/tests/helper.py", "pkg/test_api.py",
               "pkg/core.py"}
    assert set(reset_files(task, touched)) == {
        "astropy/tests/test_x.py", "astropy/tests/__init__.py", "pkg/test_api.py"}


def test_script_names_whole_test_paths_only():
    script = ("pip install -e . || true\npytest tests/test_a.py::T::test_x pkg/latest.py "
              "src/contest.py --doctest-modules pkg/core.py tests/helpers.py -k test_b\n")
    assert script_test_paths(script) == {"tests/test_a.py", "tests/helpers.py"}


def test_rejected_patch_never_starts_a_container(docker_engine, bundled_tasks):
    import dataclasses
    import time
    import uuid

    from swe_harness import sandbox

    task = dataclasses.replace(bundled_tasks["brightline-semverlite-7"],
                               instance_id=f"reject-{uuid.uuid4().hex[:8]}")
    since = time.time() - 1
    escape = evaluate(task, "--- a/../../etc/passwd\n+++ b/../../etc/passwd\n@@ -1 +1 @@\n-a\n+b\n")
    conftest = evaluate(task, "--- a/conftest.py\n+++ b/conftest.py\n@@ -1 +1 @@\n-a\n+b\n")
    control = evaluate(task, "")  # the same task does start containers
    events = list(docker_engine.events(
        since=since, until=time.time() + 1, decode=True,
        filters={"type": "container", "event": "create",
                 "label": f"{sandbox.LABEL_INSTANCE}={task.instance_id}"}))
    assert (escape.status, conftest.status, control.status) == ("rejected", "rejected", "failed")
    assert reward_for(task, escape) == reward_for(task, conftest) == 0.0
    assert len(events) == 1  # the control's, none for the rejections


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
