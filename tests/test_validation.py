"""Task classification on report lines, and the validate workflow end to end."""

import pytest

from swe_harness.validation import (checks, classify, classify_all, derive_test_lists,
                                    write_valid_ids)


def line(patch, status, iid="a-b-1", error=None):
    out = {"instance_id": iid, "patch": patch, "status": status}
    if error:
        out["error"] = error
    return out


def test_checks_plan():
    assert checks(True, 3) == [("gold", 1.0)] * 3 + [("empty", 0.0), ("test-only", 0.0)]
    assert checks(False, 0) == [("gold", 1.0), ("empty", 0.0)]


@pytest.mark.parametrize("lines,expected", [
    ([line("gold", "passed"), line("empty", "failed"), line("test-only", "failed")], ("valid", "")),
    ([line("gold", "failed"), line("empty", "failed")], ("invalid", "gold fails (failed)")),
    ([line("gold", "patch_failed"), line("empty", "failed")], ("invalid", "gold does not apply")),
    ([line("gold", "passed"), line("empty", "passed")], ("invalid", "empty passes")),
    ([line("gold", "passed"), line("empty", "failed"), line("test-only", "passed")],
     ("invalid", "test-only passes")),
    ([line("gold", "error", error="image x failed to build: boom"), line("empty", "error")],
     ("invalid", "image does not build")),
])
def test_classify(lines, expected):
    assert classify(lines) == expected


def test_flaky_when_gold_flips():
    label, reason = classify([line("gold", "passed"), line("gold", "failed"),
                              line("gold", "passed"), line("empty", "failed")])
    assert label == "flaky" and "2/3" in reason


def test_valid_ids_file(tmp_path):
    classes = classify_all([line("gold", "passed", "x-1"), line("empty", "failed", "x-1"),
                            line("gold", "failed", "y-2"), line("empty", "failed", "y-2")])
    path = tmp_path / "valid.txt"
    assert write_valid_ids(str(path), classes) == ["x-1"]
    assert path.read_text() == "x-1\n"


@pytest.mark.docker
def test_every_bundled_task_is_valid_under_pytest(pytester, docker_engine, bundled_tasks):
    from .conftest import TASKS_DIR

    valid_ids = pytester.path / "valid.txt"
    result = pytester.runpytest_subprocess(
        "--swe-tasks", str(TASKS_DIR), "--swe-validate", "--swe-repeat", "3",
        "--swe-valid-ids", str(valid_ids), "-n", "2")
    result.assert_outcomes(passed=len(bundled_tasks))
    result.stdout.fnmatch_lines(["*task validation*", f"*{len(bundled_tasks)}/{len(bundled_tasks)} valid ids*"])
    assert valid_ids.read_text().split() == sorted(bundled_tasks)


@pytest.mark.docker
def test_invalid_task_explains_which_check(pytester, docker_engine, bundled_tasks, copy_tasks):
    """A task whose eval script always exits 0: empty passes, so the task is invalid."""
    iid = sorted(bundled_tasks)[0]
    root = copy_tasks(iid)
    (root / iid / "eval_script.sh").write_text("#!/bin/bash\necho no tests here\nexit 0\n")
    result = pytester.runpytest("--swe-tasks", str(root), "--swe-validate")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*{iid} is invalid: empty passes*", "*empty: expected 0.0*"])


def test_derive_test_lists_from_gold_and_empty_runs():
    gold = {"t::fix": "passed", "t::old": "passed", "t::flaky": "passed", "t::skip": "skipped"}
    lines = [{**line("gold", "passed"), "tests": gold},
             {**line("gold", "passed"), "tests": {**gold, "t::flaky": "failed"}},
             {**line("empty", "failed"), "tests": {"t::fix": "failed", "t::old": "passed",
                                                   "t::flaky": "passed"}}]
    assert derive_test_lists(lines) == (["t::fix"], ["t::old"])
    assert derive_test_lists(lines[:2]) == ([], [])  # no empty run: nothing to compare


@pytest.mark.docker
def test_validate_writes_a_task_set_graded_per_test(docker_engine, bundled_tasks, copy_tasks,
                                                    tmp_path):
    """validate → JSONL with FAIL_TO_PASS/PASS_TO_PASS → the loader reads it → eval grades
    per test: gold still passes."""
    import json
    import subprocess
    import sys

    from swe_harness import evaluate, load_tasks, reward_for

    root = copy_tasks("brightline-semverlite-7")
    out = tmp_path / "validated.jsonl"
    run = subprocess.run([sys.executable, "-m", "swe_harness", "validate", str(root), "--repeat", "1",
                          "--validated", str(out)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    record = json.loads(out.read_text())
    assert record["FAIL_TO_PASS"] and all("test_precedence.py::" in t for t in record["FAIL_TO_PASS"])
    assert len(record["FAIL_TO_PASS"]) + len(record["PASS_TO_PASS"]) == 13
    (task,), errors = load_tasks([out])
    assert not errors and task.fail_to_pass == tuple(record["FAIL_TO_PASS"])
    gold = evaluate(task, task.gold_candidate, "gold")
    assert (gold.status, reward_for(task, gold)) == ("passed", 1.0), gold.detail
    assert gold.test_counts["fail_to_pass_passed"] == gold.test_counts["fail_to_pass_total"]
