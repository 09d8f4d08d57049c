"""Grading on strings: runner fields, evidence, statuses."""

import json

import pytest

from swe_harness.grading import (grade, parse_result, pytest_evidence, runner_kind,
                                 summary_evidence, unittest_evidence)

DONE = {"phase": "done", "t_apply_end": "10.0", "t_eval_end": "12.0"}


def rec(pid=1, event="finish", **counts):
    return json.dumps({"pid": pid, "event": event, "exitstatus": 0, "passed": 1, **counts})


@pytest.mark.parametrize("fields,exit_code,status", [
    ({**DONE, "eval_exit_code": "1"}, 1, "failed"),
    ({**DONE, "eval_exit_code": "124", "t_eval_end": "40.0"}, 124, "timeout"),
    ({**DONE, "eval_exit_code": "124"}, 124, "failed"),  # the script's own 124, well in time
    ({**DONE, "eval_exit_code": "0"}, 1, "error"),  # forged record: the container says 1
    ({"phase": "patch_failed"}, 0, "patch_failed"),
    ({"phase": "test_patch_failed"}, 0, "error"),
    ({"error": "workdir /x does not exist in the image"}, 3, "error"),
    ({}, 137, "error"),  # runner died: killed from outside
    ({}, None, "timeout"),  # the client-side deadline passed
])
def test_grade_statuses(fields, exit_code, status):
    assert grade(fields, exit_code, timeout_s=30).status == status


def test_pass_needs_pytest_evidence():
    ok = {**DONE, "eval_exit_code": "0"}
    assert grade(ok, 0, 30, runner="pytest", pytest_records=rec()).status == "passed"
    early = grade(ok, 0, 30, runner="pytest", pytest_records=rec(event="start"))
    assert (early.status, early.evidence) == ("failed", "pytest")
    assert "before its session finished" in early.detail
    assert grade(ok, 0, 30, runner="pytest", pytest_records="").status == "failed"


def test_test_files_changed_during_the_eval_is_no_pass():
    fields = {**DONE, "eval_exit_code": "0", "tests_modified": "1"}
    verdict = grade(fields, 0, 30, runner="pytest", pytest_records=rec())
    assert (verdict.status, verdict.detail) == ("failed", "the task's test files or a conftest.py changed during the eval")


def test_pass_needs_unittest_summary():
    ok = {**DONE, "eval_exit_code": "0"}
    log = "test_a ... ok\n\n----------------------------------------------------------------------\nRan 3 tests in 0.01s\n\nOK\n"
    records = "\n".join([urec(event="start"), urec()])
    assert grade(ok, 0, 30, runner="summary", log=log, pytest_records=records).status == "passed"
    assert grade(ok, 0, 30, runner="summary", log="all good\n",
                 pytest_records=records).status == "failed"
    forged = grade(ok, 0, 30, runner="summary", log=log)  # printed, but no run was recorded
    assert (forged.status, forged.evidence) == ("failed", "summary")
    unknown = grade(ok, 0, 30, runner="none")
    assert (unknown.status, unknown.evidence) == ("passed", "none")


def urec(pid=1, run=1, event="finish", **counts):
    return json.dumps({"runner": "unittest", "pid": pid, "run": run, "event": event,
                       "tests_run": 2, "failures": 0, "errors": 0, **counts})


@pytest.mark.parametrize("records,ok", [
    ([urec(event="start"), urec()], True),
    ([urec(event="start")], False),  # os._exit during the run
    ([urec(failures=1)], False),
    ([urec(unexpected_successes=1)], False),
    ([urec(tests_run=0)], False),
    ([urec(), urec(altered=["TestCase.assertEqual"])], False),
    ([urec(), urec()], False),  # one run ending twice: forged
    ([rec()], False),  # pytest's records are not unittest's
    ([], False),
])
def test_unittest_evidence(records, ok):
    assert unittest_evidence("\n".join(records))[0] is ok


@pytest.mark.parametrize("records,ok", [
    ([rec()], True),
    ([rec(), rec()], False),  # a second 'finish' for one process: appended by the code under test
    ([rec(altered=["TestCase.assertEqual"])], False),
    ([rec(), urec(failures=3)], True),  # unittest records are not pytest's
    ([rec(passed=0)], False),  # nothing ran
    ([rec(failed=1)], False),  # a report hook rewrote a failure into a pass
    ([rec(errors=1)], False),
    ([rec(exitstatus=5)], False),
    ([rec(event="start")], False),
    ([rec(1), rec(2, event="start")], False),  # a second pytest process never finished
    ([rec(1), rec(2)], True),
    ([rec(foreign_conftests=["./conftest.py"])], False),  # written at run time, then loaded
    ([rec(collected=3, ran=3, passed=3)], True),
    ([rec(collected=3, ran=1)], False),  # pytest.exit(returncode=0) after the first test
    (["not json"], False),
])
def test_pytest_evidence(records, ok):
    assert pytest_evidence("\n".join(records))[0] is ok


def test_summary_evidence():
    assert summary_evidence("Ran 2 tests in 0.1s\n\nOK (skipped=1)\n")[0]
    assert not summary_evidence("Ran 0 tests in 0.000s\n\nOK\n")[0]
    assert not summary_evidence("Ran 2 tests in 0.1s\n\nFAILED (failures=1)\n")[0]


@pytest.mark.parametrize("script,kind", [
    ("set -e\npytest tests/a.py -xvs\n", "pytest"),
    ("python -m pytest -q\n", "pytest"),
    ("python3 -m unittest -v tests.test_a\n", "summary"),
    ("# pytest is not used\nmake check\n", "none"),
])
def test_runner_kind(script, kind):
    assert runner_kind(script) == kind


def test_parse_result_last_value_wins():
    assert parse_result("a=1\nb=x=y\na=2\nnoise\n") == {"a": "2", "b": "x=y"}
