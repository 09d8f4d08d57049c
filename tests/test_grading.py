"""Grading on strings: runner fields, streamed evidence, per-test lists, who may say error."""

import json

import pytest

from swe_harness.grading import (grade, listed_tests_problem, normalize_test_id, parse_result,
                                 pytest_evidence, runner_kind, summary_evidence, outcome_counts)

DONE = {"phase": "done", "t_apply_end": "10.0", "t_eval_end": "12.0"}
OK = {**DONE, "eval_exit_code": "0"}


def session(*tests, pid=1, session_no=1, finish=True, collected=None, **finish_fields):
    """The records one pytest session streams: start, collected ids, each test, finish."""
    ids = [t for t, _ in tests] if collected is None else collected
    lines = [{"pid": pid, "session": session_no, "event": "start"},
             {"pid": pid, "session": session_no, "event": "collected", "ids": ids}]
    lines += [{"pid": pid, "session": session_no, "event": "test", "id": t, "outcome": o}
              for t, o in tests]
    if finish:
        lines.append({"pid": pid, "session": session_no, "event": "finish", "exitstatus": 0,
                      "problems": [], **finish_fields})
    return "".join(json.dumps(line) + "\n" for line in lines)


PASSING = session(("t.py::test_a", "passed"), ("t.py::test_b", "passed"))


@pytest.mark.parametrize("fields,exit_code,status", [
    ({**DONE, "eval_exit_code": "1"}, 1, "failed"),
    ({**DONE, "eval_exit_code": "124", "t_eval_end": "40.0"}, 124, "timeout"),
    ({**DONE, "eval_exit_code": "124"}, 124, "failed"),  # the script's own 124, well in time
    ({"phase": "patch_failed"}, 0, "patch_failed"),
    ({"phase": "rejected", "rejected_paths": "conftest.py"}, 0, "rejected"),
    ({"phase": "test_patch_failed"}, 0, "error"),  # does not apply to its own base: the task
    ({"phase": "test_patch_blocked"}, 0, "failed"),  # applies to the base: the candidate's doing
    ({"error": "workdir /x does not exist in the image"}, 3, "error"),
    ({}, 137, "error"),  # no result and SIGKILL of init: only the engine can do that
    ({}, None, "timeout"),  # the client-side deadline passed
])
def test_grade_statuses(fields, exit_code, status):
    assert grade(fields, exit_code, timeout_s=30).status == status


@pytest.mark.parametrize("fields,exit_code,oom", [
    ({}, 0, False),  # the result never came back (a flood, a full disk)
    ({}, 1, False),
    ({}, 137, True),  # the eval used all the memory
    ({"phase": "apply"}, 0, False),
    ({**DONE, "eval_exit_code": "zero"}, 0, False),  # malformed
    ({"phase": "done", "eval_exit_code": "0"}, 0, False),  # times missing
])
def test_what_the_judged_can_cause_is_failed_never_error(fields, exit_code, oom):
    verdict = grade(fields, exit_code, 30, runner="pytest", records=PASSING, oom_killed=oom)
    assert verdict.status == "failed", verdict


def test_parse_result_reads_key_value_lines():
    assert parse_result("a=1\nb=x=y\nnoise\n") == {"a": "1", "b": "x=y"}


def test_pass_needs_pytest_evidence():
    assert grade(OK, 0, 30, runner="pytest", records=PASSING).status == "passed"
    early = grade(OK, 0, 30, runner="pytest", records=session(("t.py::a", "passed"), finish=False))
    assert (early.status, early.evidence) == ("failed", "pytest")
    assert "before its run finished" in early.detail
    assert grade(OK, 0, 30, runner="pytest", records="").status == "failed"


@pytest.mark.parametrize("records,why", [
    (session(("t.py::a", "passed"), ("t.py::b", "failed")), "1 failed"),
    (session(("t.py::a", "passed"), collected=["t.py::a", "t.py::b"]), "every collected test"),
    (session(("t.py::a", "passed"), problems=["replaced _pytest.runner:call_and_report"]),
     "altered"),
    (session(("t.py::a", "passed"), skips_from_code=1), "failed"),
    (session(("t.py::a", "passed")) + session(("t.py::a", "passed")).splitlines()[-1] + "\n",
     "end twice"),
    (session(("t.py::a", "skipped")), "no test ran"),
    (session(("t.py::a", "passed"), exitstatus=1), "non-zero"),
    ('{"pid": 1, "session": 1, "event": "finish", "exitstatus": 0}\n', "never started"),
    ("not json\n", "unreadable"),
])
def test_pytest_evidence_refusals(records, why):
    evidence = pytest_evidence(records)
    assert why in evidence.problem


def test_a_failure_once_streamed_cannot_be_taken_back():
    """A forged 'passed' record for the same test after the real 'failed' one: the worse wins."""
    records = session(("t.py::a", "failed"))
    forged = json.dumps({"pid": 1, "session": 1, "event": "test", "id": "t.py::a",
                         "outcome": "passed"}) + "\n"
    assert pytest_evidence(records + forged).tests == {"t.py::a": "failed"}


def test_collect_only_and_version_runs_are_not_test_runs():
    collect = json.dumps({"pid": 2, "session": 1, "event": "start", "collect_only": True}) + "\n"
    assert grade(OK, 0, 30, runner="pytest", records=collect + PASSING).status == "passed"


def test_test_files_changed_or_imports_changed_during_the_eval_is_no_pass():
    modified = grade({**OK, "tests_modified": "1"}, 0, 30, runner="pytest", records=PASSING)
    assert (modified.status, modified.detail) == (
        "failed", "the task's test files or a conftest.py changed during the eval")
    imports = grade({**OK, "import_changes": "a .pth that runs code: x.pth; "}, 0, 30,
                    runner="pytest", records=PASSING)
    assert imports.status == "failed" and "import machinery" in imports.detail


def urec(event, run=1, pid=1, **fields):
    return json.dumps({"runner": "unittest", "pid": pid, "run": run, "event": event, **fields})


UNITTEST_LOG = ("test_a ... ok\n\n" + "-" * 70 + "\nRan 3 tests in 0.01s\n\nOK\n")
UNITTEST_RECORDS = "\n".join([urec("start"), urec("test", id="m.C.test_a", outcome="passed"),
                              urec("finish", tests_run=3, failures=0, errors=0)])


def test_pass_needs_unittest_summary_and_recorder():
    assert grade(OK, 0, 30, runner="summary", log=UNITTEST_LOG,
                 records=UNITTEST_RECORDS).status == "passed"
    assert grade(OK, 0, 30, runner="summary", log="all good\n",
                 records=UNITTEST_RECORDS).status == "failed"
    forged = grade(OK, 0, 30, runner="summary", log=UNITTEST_LOG)  # printed, never recorded
    assert (forged.status, forged.evidence) == ("failed", "summary")
    unknown = grade(OK, 0, 30, runner="none")
    assert (unknown.status, unknown.evidence) == ("passed", "none")


def test_summary_needs_ok_after_the_last_run():
    log = UNITTEST_LOG + "\nRan 2 tests in 0.01s\n\nFAILED (failures=1)\n"
    assert summary_evidence(log, UNITTEST_RECORDS).problem


@pytest.mark.parametrize("script,kind", [
    ("pytest tests/x.py", "pytest"), ("python -m pytest -x", "pytest"),
    ("python3.11 -m py.test", "pytest"), ("python -m unittest -v t", "summary"),
    ("./runtests.py admin", "summary"), ("make check", "none"), ("# pytest\nmake", "none"),
])
def test_runner_kind(script, kind):
    assert runner_kind(script) == kind


def test_listed_tests_must_run_and_pass():
    records = session(("tests/t.py::test_fix", "passed"), ("tests/t.py::test_old", "passed"))
    lists = dict(fail_to_pass=["tests/t.py::test_fix"], pass_to_pass=["tests/t.py::test_old"])
    assert grade(OK, 0, 30, runner="pytest", records=records, **lists).status == "passed"
    deselected = session(("tests/t.py::test_old", "passed"))
    verdict = grade(OK, 0, 30, runner="pytest", records=deselected, **lists)
    assert verdict.status == "failed" and "did not run: tests/t.py::test_fix" in verdict.detail
    xfail = session(("tests/t.py::test_fix", "xfailed"), ("tests/t.py::test_old", "passed"))
    assert "xfailed" in grade(OK, 0, 30, runner="pytest", records=xfail, **lists).detail


def test_unittest_ids_in_every_spelling_match():
    assert normalize_test_id("test_a (pkg.mod.C)") == "pkg.mod.C.test_a"
    assert normalize_test_id("test_a (pkg.mod.C.test_a)") == "pkg.mod.C.test_a"
    assert listed_tests_problem({"pkg.mod.C.test_a": "passed"}, ["test_a (pkg.mod.C)"], []) == ""


def test_counts_for_shaped_rewards():
    tests = {"a": "passed", "b": "failed", "c": "passed"}
    assert outcome_counts(tests, ["a", "b"], ["c"]) == {
        "passed": 2, "failed": 1, "fail_to_pass_total": 2, "fail_to_pass_passed": 1,
        "pass_to_pass_total": 1, "pass_to_pass_passed": 1}


def test_listed_tests_decide_as_in_swebench():
    """SWE-bench's eval scripts end with `git checkout` of the test files: that status is the
    script's. With lists, the listed tests decide; unlisted failures do not; broken evidence
    still does."""
    lists = dict(fail_to_pass=["t.py::fix"], pass_to_pass=["t.py::old"])
    records = session(("t.py::fix", "passed"), ("t.py::old", "passed"), ("t.py::flaky", "failed"),
                      exitstatus=1)
    trailing_checkout_failed = {**DONE, "eval_exit_code": "1"}
    assert grade(trailing_checkout_failed, 1, 30, runner="pytest", records=records,
                 **lists).status == "passed"
    tampered = session(("t.py::fix", "passed"), ("t.py::old", "passed"),
                       problems=["replaced _pytest.runner:call_and_report"])
    assert grade(OK, 0, 30, runner="pytest", records=tampered, **lists).status == "failed"
    assert grade({**OK, "import_changes": "x"}, 0, 30, runner="pytest", records=records,
                 **lists).status == "failed"
