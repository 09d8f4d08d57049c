"""Per-test outcomes from eval logs (pure, on strings)."""

import pytest

from swe_harness.logs import (END_MARK, START_MARK, grade_from_log, lists_report,
                              parse_log_django, parse_log_pytest, parse_log_sympy, parser_for)
from swe_harness.task import task_from_record

DIFF = "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n"


def task(**fields):
    record = {"instance_id": "o__r-1", "repo": "o/r", "problem_statement": "p", "patch": DIFF,
              "eval_script": "pytest", "FAIL_TO_PASS": ["t.py::a"], "PASS_TO_PASS": ["t.py::b"]}
    return task_from_record({**record, **fields}, "t")


def test_pytest_summary_and_verbose_lines():
    log = ("t.py::v PASSED  [ 50%]\nt.py::w[1-2] FAILED [100%]\n"
           "PASSED t.py::a\nFAILED t.py::b - AssertionError: x\nSKIPPED [1] t.py:3: why\n"
           "ERROR t.py::c\nXFAIL t.py::d - reason\n")
    assert parse_log_pytest(log) == {"t.py::v": "PASSED", "t.py::w[1-2]": "FAILED",
                                     "t.py::a": "PASSED", "t.py::b": "FAILED",
                                     "t.py::c": "ERROR", "t.py::d": "XFAIL"}


def test_django_and_sympy_logs():
    django = ("test_add (calc.tests.AddTests) ... ok\n"
              "test_div (calc.tests.DivTests.test_div) ... FAIL\n"
              "test_io (calc.tests.IOTests) ... skipped 'no disk'\n"
              "test_x (calc.tests.X) ... ERROR\n")
    assert parse_log_django(django) == {
        "test_add (calc.tests.AddTests)": "PASSED", "test_div (calc.tests.DivTests.test_div)":
        "FAILED", "test_io (calc.tests.IOTests)": "SKIPPED", "test_x (calc.tests.X)": "ERROR"}
    sympy = "sympy/core/tests/test_basic.py[3]\ntest_a ok\ntest_b F\ntest_c E\ntest_d f\n"
    assert parse_log_sympy(sympy) == {"test_a": "PASSED", "test_b": "FAILED",
                                      "test_c": "ERROR", "test_d": "XFAIL"}


def test_parser_by_repo_and_by_name():
    try:
        import swebench  # noqa: F401
        pytest.skip("swebench installed: its parsers win")
    except ImportError:
        pass
    assert parser_for(task(repo="django/django")) is parse_log_django
    assert parser_for(task(repo="sympy/sympy")) is parse_log_sympy
    assert parser_for(task()) is parse_log_pytest
    assert parser_for(task(repo="django/django", log_parser="parse_log_pytest")) is parse_log_pytest
    with pytest.raises(ValueError, match="o__r-1: log parser 'parse_log_nope' is unknown"):
        parser_for(task(log_parser="parse_log_nope"))


def test_grading_reads_only_the_marked_test_output():
    # a forged PASSED line before the marks (e.g. printed by a build step) is not read
    log = (f"PASSED t.py::a\n+ : '{START_MARK}'\nFAILED t.py::a - boom\nPASSED t.py::b\n"
           f"+ : '{END_MARK}'\nPASSED t.py::a\n")
    outcomes = grade_from_log(task(), log)
    assert outcomes == {"t.py::a": "FAILED", "t.py::b": "PASSED"}
    report = lists_report(task(), outcomes)
    assert report["FAIL_TO_PASS"] == {"success": [], "failure": ["t.py::a"]}
    assert report["PASS_TO_PASS"] == {"success": ["t.py::b"], "failure": []}
    assert report["resolved"] is False


def test_a_listed_test_missing_from_the_log_is_a_failure():
    report = lists_report(task(), {"t.py::a": "PASSED"})
    assert report["PASS_TO_PASS"]["failure"] == ["t.py::b"] and not report["resolved"]
    assert lists_report(task(), {"t.py::a": "PASSED", "t.py::b": "XFAIL"})["resolved"]
    assert not lists_report(task(FAIL_TO_PASS=[], PASS_TO_PASS=[]), {})["resolved"]


def test_a_runner_without_evidence_is_graded_from_its_log_by_the_repo_parser():
    """sympy's bin/test gives no evidence records: its listed tests are read from the log, and a
    script exit status of 0 alone does not pass a task whose listed test failed."""
    from swe_harness import grading
    from swe_harness.evaluate import _log_tests

    sympy_task = task(repo="sympy/sympy", eval_script="bin/test sympy/core/tests/test_basic.py",
                      FAIL_TO_PASS=["test_a"], PASS_TO_PASS=["test_d"])
    log = "sympy/core/tests/test_basic.py[3]\ntest_a ok\ntest_b F\ntest_d f\n"
    tests = _log_tests(sympy_task, grading.runner_kind(sympy_task.eval_script), log)
    assert tests == {"test_a": "passed", "test_b": "failed", "test_d": "passed"}
    done = {"phase": "done", "eval_exit_code": "0", "t_apply_end": "1", "t_eval_end": "2"}
    ok = grading.grade(done, 0, 30, runner="none", log=log, log_tests=tests,
                       fail_to_pass=sympy_task.fail_to_pass, pass_to_pass=sympy_task.pass_to_pass)
    assert ok.status == "passed"
    failing = "sympy/core/tests/test_basic.py[3]\ntest_a F\ntest_d f\n"
    bad = grading.grade(done, 0, 30, runner="none", log=failing,
                        log_tests=_log_tests(sympy_task, "none", failing),
                        fail_to_pass=sympy_task.fail_to_pass, pass_to_pass=sympy_task.pass_to_pass)
    assert bad.status == "failed" and "FAIL_TO_PASS test failed: test_a" in bad.detail
