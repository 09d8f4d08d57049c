"""From what the container left behind to a status: pure functions on strings.

A pass needs the eval script's exit status 0 *and* positive evidence that tests ran and passed:
- ``pytest``: records the injected evidence plugin streamed to the runner (every pytest session
  that started finished once with status 0, ran every test it collected, none failed, nothing
  was tampered with);
- ``summary``: a runner's own summary line (unittest: ``Ran N tests`` … ``OK``, N ≥ 1) *and* the
  records of the injected unittest recorder (evidence_site.py), since a printed line is forgeable;
- ``none``: no evidence can be had for this runner; the exit status alone decides.
A task that lists its tests (``FAIL_TO_PASS``/``PASS_TO_PASS``) is graded per test, as SWE-bench
grades: every listed test must have run and passed, and the evidence must be whole (untampered,
every run finished); the eval script's exit status and unlisted tests do not decide (SWE-bench's
eval scripts end with a ``git checkout`` of the test files, whose status is the script's).

Only the harness may say ``error``: what the code under test can bring about (a killed or silent
runner, a flood, a malformed result) grades as ``failed``. ``error`` comes from the runner's own
checks of the image before any candidate code ran, a task whose test patch does not apply to its
own base commit, and a container that was killed from outside.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field

PYTEST_CALL = re.compile(r"(^|[\s;&|(])(python[\d.]*\s+-m\s+)?(py\.test|pytest)\b", re.MULTILINE)
UNITTEST_CALL = re.compile(r"\bunittest\b|\bmanage\.py\s+test\b|\bruntests\.py\b")
UNITTEST_RAN = re.compile(r"^Ran (\d+) tests? in [\d.]+s\s*$", re.MULTILINE)
UNITTEST_OK = re.compile(r"^OK( \(.*\))?\s*$", re.MULTILINE)
SEVERITY = {"error": 5, "failed": 4, "xpassed": 3, "skipped": 2, "xfailed": 2, "passed": 1}
KILLED_FROM_OUTSIDE = 137  # SIGKILL of the container's init: only the engine can send it


@dataclass(frozen=True)
class Verdict:
    status: str
    evidence: str = "none"  # "pytest" | "summary" | "none"
    detail: str | None = None  # why, when it is not a plain pass/fail
    error: str | None = None  # set when status == "error"
    tests: dict[str, str] = field(default_factory=dict)  # test id -> outcome


@dataclass(frozen=True)
class Evidence:
    """What the evidence records prove: the outcome of each test, why it is no pass (''), and
    whether that is because the evidence itself cannot be trusted (``integrity``)."""

    tests: dict[str, str]
    problem: str
    integrity: bool = False  # the problem is missing, forged or tampered-with evidence


def parse_result(text: str) -> dict[str, str]:
    """``key=value`` lines written once by runner.sh, from its memory."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key] = value
    return fields


def runner_kind(eval_script: str) -> str:
    """Which evidence an eval script can give: ``pytest``, ``summary`` or ``none``."""
    code = "\n".join(line.split("#", 1)[0] for line in eval_script.splitlines())
    if PYTEST_CALL.search(code):
        return "pytest"
    if UNITTEST_CALL.search(code):
        return "summary"
    return "none"


def _records(records_text: str, runner: str) -> list[dict] | None:
    """The evidence lines of one runner (pytest lines carry no ``runner`` key); None if unreadable."""
    out = []
    for line in records_text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            return None
        if not isinstance(record, dict):
            return None
        if record.get("runner", "pytest") == runner:
            out.append(record)
    return out


def _worse(a: str | None, b: str) -> str:
    return b if a is None or SEVERITY.get(b, 5) > SEVERITY.get(a, 5) else a


def _runs(records: list[dict], run_key: str) -> tuple[dict, str]:
    """Records grouped per run: start, collected ids, test outcomes, finishes."""
    runs: dict = {}
    try:
        for record in records:
            key = (int(record["pid"]), int(record[run_key]))
            run = runs.setdefault(key, {"started": False, "finishes": [], "collected": set(),
                                        "tests": {}})
            event = record.get("event")
            if event == "start":
                run["started"] = True
                run["collect_only"] = bool(record.get("collect_only"))
            elif event == "collected":
                run["collected"].update(str(i) for i in record["ids"])
            elif event == "test":
                test_id = str(record["id"])
                run["tests"][test_id] = _worse(run["tests"].get(test_id), str(record["outcome"]))
            elif event == "finish":
                run["finishes"].append(record)
            else:
                return runs, "unreadable evidence"
    except (KeyError, TypeError, ValueError):
        return {}, "unreadable evidence"
    return runs, ""


def _run_problem(run: dict) -> str:
    if not run["started"]:
        return "evidence of a run that never started: the evidence was tampered with"
    if len(run["finishes"]) > 1:
        return "a run reported its end twice: the evidence was tampered with"
    if not run["finishes"]:
        return "the test process exited before its run finished (os._exit or a crash?)"
    finish = run["finishes"][0]
    problems = finish.get("problems") or finish.get("altered") or []
    if problems:
        return "the test machinery was altered while tests ran: " + "; ".join(map(str, problems[:5]))
    return ""


def _merge(runs: dict) -> dict[str, str]:
    tests: dict[str, str] = {}
    for run in runs.values():
        for test_id, outcome in run["tests"].items():
            tests[test_id] = _worse(tests.get(test_id), outcome)
    return tests


def _outcome_problem(tests: dict[str, str], skips_from_code: int) -> str:
    counts = Counter(tests.values())
    bad = counts["failed"] + counts["error"] + skips_from_code
    if bad:
        return f"{counts['failed'] + skips_from_code} failed, {counts['error']} errors in tests"
    if counts["passed"] < 1:
        return "no test ran"
    return ""


def pytest_evidence(records_text: str) -> Evidence:
    """What the evidence plugin's records prove about the eval's pytest sessions."""
    records = _records(records_text, "pytest")
    if records is None:
        return Evidence({}, "unreadable pytest evidence", True)
    runs, problem = _runs(records, "session")
    runs = {k: r for k, r in runs.items() if not r.get("collect_only")}
    tests = _merge(runs)
    if problem:
        return Evidence(tests, problem, True)
    if not runs:
        return Evidence(tests, "pytest never reported (not run, or the plugin was not loaded)", True)
    for run in runs.values():
        problem = _run_problem(run)
        if problem:
            return Evidence(tests, problem, True)
    if any(run["finishes"][0].get("exitstatus") != 0 for run in runs.values()):
        return Evidence(tests, "a pytest session finished with a non-zero status")
    if any(run["collected"] - set(run["tests"]) for run in runs.values()):
        return Evidence(tests, "pytest stopped before every collected test ran")
    skips = sum(int(run["finishes"][0].get("skips_from_code") or 0) for run in runs.values())
    return Evidence(tests, _outcome_problem(tests, skips))


def unittest_evidence(records_text: str) -> Evidence:
    """Every ``TextTestRunner.run`` that started finished, ran ≥ 1 test in all, none failed."""
    records = _records(records_text, "unittest")
    if records is None:
        return Evidence({}, "unreadable unittest evidence", True)
    runs, problem = _runs(records, "run")
    tests = _merge(runs)
    if problem:
        return Evidence(tests, problem, True)
    if not runs:
        return Evidence(tests, "no unittest runner reported (not run, or the recorder was not "
                               "loaded)", True)
    for run in runs.values():
        problem = _run_problem(run)
        if problem:
            return Evidence(tests, problem, True)
    bad = sum(int(run["finishes"][0].get(k) or 0) for run in runs.values()
              for k in ("failures", "errors", "unexpected_successes"))
    if bad:
        return Evidence(tests, f"{bad} unittest failures or errors")
    if sum(int(run["finishes"][0].get("tests_run") or 0) for run in runs.values()) < 1:
        return Evidence(tests, "the runner ran 0 tests")
    return Evidence(tests, _outcome_problem(tests, 0))


def summary_evidence(log: str, records_text: str) -> Evidence:
    """unittest's ``Ran N tests`` with N ≥ 1 followed by ``OK``, and the recorder's agreement
    (a printed line alone can be forged)."""
    evidence = unittest_evidence(records_text)
    if evidence.problem:
        return evidence
    runs = list(UNITTEST_RAN.finditer(log))
    if not runs:
        return Evidence(evidence.tests, "no 'Ran N tests' summary in the log")
    last = runs[-1]
    if int(last.group(1)) < 1:
        return Evidence(evidence.tests, "the runner ran 0 tests")
    if not UNITTEST_OK.search(log, last.end()):
        return Evidence(evidence.tests, "the summary does not say OK")
    return evidence


_UNITTEST_STR = re.compile(r"^(\w+) \(([\w.]+)\)$")


def normalize_test_id(test_id: str) -> str:
    """One spelling per test: unittest's ``test_x (pkg.mod.Class)`` and Python 3.11's
    ``test_x (pkg.mod.Class.test_x)`` both become ``pkg.mod.Class.test_x``."""
    match = _UNITTEST_STR.match(test_id.strip())
    if not match:
        return test_id.strip()
    name, where = match.groups()
    return where if where.endswith("." + name) else f"{where}.{name}"


def listed_tests_problem(tests: dict[str, str], fail_to_pass, pass_to_pass) -> str:
    """Every listed test ran and passed, or why not."""
    by_id = {normalize_test_id(k): v for k, v in tests.items()}
    for group, listed in (("FAIL_TO_PASS", fail_to_pass), ("PASS_TO_PASS", pass_to_pass)):
        for test_id in listed:
            outcome = by_id.get(normalize_test_id(test_id))
            if outcome is None:
                return f"{group} test did not run: {test_id}"
            if outcome != "passed":
                return f"{group} test {outcome}: {test_id}"
    return ""


def outcome_counts(tests: dict[str, str], fail_to_pass=(), pass_to_pass=()) -> dict[str, int]:
    """Outcome counts, and how many of each listed group passed (for shaped rewards)."""
    counts = dict(Counter(tests.values()))
    by_id = {normalize_test_id(k): v for k, v in tests.items()}
    for name, listed in (("fail_to_pass", fail_to_pass), ("pass_to_pass", pass_to_pass)):
        if listed:
            counts[f"{name}_total"] = len(listed)
            counts[f"{name}_passed"] = sum(by_id.get(normalize_test_id(t)) == "passed" for t in listed)
    return counts


def grade(fields: dict[str, str], container_exit: int | None, timeout_s: float, *,
          runner: str = "none", records: str = "", log: str = "", oom_killed: bool = False,
          fail_to_pass=(), pass_to_pass=(), log_tests: dict[str, str] | None = None) -> Verdict:
    """The status of one evaluation from the runner's fields and how the container ended.

    ``log_tests``: per-test outcomes parsed from the log by a per-repo parser, for runners that
    give no evidence records (django's runtests.py, sympy's bin/test)."""
    if container_exit is None:
        return Verdict("timeout", detail="the container did not end before the client deadline")
    phase = fields.get("phase")
    if "error" in fields:  # the runner's checks of the image, before any candidate code ran
        return Verdict("error", error=fields["error"])
    if phase is None:
        if oom_killed:
            return Verdict("failed", detail="the eval exhausted the container's memory")
        if container_exit == KILLED_FROM_OUTSIDE:
            return Verdict("error", error="the container was killed from outside (SIGKILL of init)")
        return Verdict("failed", detail=f"the runner's result did not come back (exit {container_exit})")
    if phase == "patch_failed":
        return Verdict("patch_failed")
    if phase == "rejected":
        return Verdict("rejected", detail="git changed paths the diff text does not name: "
                                          + fields.get("rejected_paths", "?"))
    if phase == "test_patch_failed":
        return Verdict("error", error="the task's test_patch does not apply to its base commit "
                                      "(the task is broken)")
    if phase == "test_patch_blocked":
        return Verdict("failed", detail="the task's test_patch does not apply after the candidate")
    if phase != "done" or "eval_exit_code" not in fields:
        return Verdict("failed", detail=f"the runner stopped in phase {phase!r}")
    try:
        rc = int(fields["eval_exit_code"])
        elapsed = float(fields["t_eval_end"]) - float(fields["t_apply_end"])
    except (KeyError, ValueError):
        return Verdict("failed", detail="malformed runner fields")
    if rc in (124, 137) and elapsed >= timeout_s - 0.5:
        return Verdict("timeout")
    kind = _evidence_kind(runner, records)
    evidence = _evidence(kind, records, log)
    tests = dict(evidence.tests or log_tests or {})
    if fields.get("tests_modified"):
        return Verdict("failed", kind, "the task's test files or a conftest.py changed during the eval", tests=tests)
    if fields.get("import_changes"):
        return Verdict("failed", kind, "the eval changed the interpreter's import machinery: "
                       + fields["import_changes"], tests=tests)
    if fail_to_pass or pass_to_pass:  # SWE-bench style: the listed tests decide
        problem = evidence.problem if evidence.integrity else listed_tests_problem(
            tests, fail_to_pass, pass_to_pass)
        if problem:
            return Verdict("failed", kind, problem, tests=tests)
        return Verdict("passed", kind, tests=tests)
    if rc != 0:
        return Verdict("failed", kind, tests=tests)
    if evidence.problem:
        return Verdict("failed", kind, evidence.problem, tests=tests)
    if kind == "none":
        return Verdict("passed", "none", "exit status only: no evidence for this test runner", tests=tests)
    return Verdict("passed", kind, tests=tests)


def _evidence(kind: str, records: str, log: str) -> Evidence:
    if kind == "pytest":
        return pytest_evidence(records)
    if kind == "summary":
        return summary_evidence(log, records)
    return Evidence({}, "")


def _evidence_kind(runner: str, records_text: str) -> str:
    """The script's runner decides; an unrecognised script is judged by what did report."""
    if runner != "none":
        return runner
    for kind, name in (("pytest", "pytest"), ("summary", "unittest")):
        if _records(records_text, name):
            return kind
    return "none"
