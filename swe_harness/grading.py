"""From what the container left behind to a status: pure functions on strings.

A pass needs the eval script's exit status 0 *and* positive evidence that tests ran and passed:
- ``pytest``: records of the injected evidence plugin (every pytest process that started must
  have finished with exit status 0, at least one test passed, none failed or errored);
- ``summary``: a runner's own summary line (unittest: ``Ran N tests`` … ``OK``, N ≥ 1) *and* the
  records of the injected unittest recorder (evidence_site.py), since a printed line is forgeable;
- ``none``: no evidence can be had for this runner; the exit status alone decides.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

PYTEST_CALL = re.compile(r"(^|[\s;&|(])(python[\d.]*\s+-m\s+)?(py\.test|pytest)\b", re.MULTILINE)
UNITTEST_CALL = re.compile(r"\bunittest\b|\bmanage\.py\s+test\b|\bruntests\.py\b")
UNITTEST_RAN = re.compile(r"^Ran (\d+) tests? in [\d.]+s\s*$", re.MULTILINE)
UNITTEST_OK = re.compile(r"^OK( \(.*\))?\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Verdict:
    status: str
    evidence: str = "none"  # "pytest" | "summary" | "none"
    detail: str | None = None  # why, when it is not a plain pass/fail
    error: str | None = None  # set when status == "error"


def parse_result(text: str) -> dict[str, str]:
    """``key=value`` lines written by runner.sh. The runner writes its post-eval keys last, so
    the last value wins (anything the eval itself appended comes earlier)."""
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


def _by_run(records: list[dict], key) -> tuple[dict, str]:
    """Records merged per run (start, then finish); why they look forged, or ''."""
    runs: dict = {}
    finishes: dict = {}
    try:
        for record in records:
            k = key(record)
            runs.setdefault(k, {}).update(record)
            finishes[k] = finishes.get(k, 0) + (record.get("event") == "finish")
    except (KeyError, TypeError, ValueError):
        return {}, "unreadable evidence"
    if any(n > 1 for n in finishes.values()):
        return runs, "a run reported its end twice: the evidence was tampered with"
    altered = sorted({name for run in runs.values() for name in run.get("altered") or ()})
    if altered:
        return runs, "the test machinery was altered while tests ran: " + ", ".join(altered[:5])
    foreign = sorted({path for run in runs.values() for path in run.get("foreign_conftests") or ()})
    if foreign:
        return runs, "pytest loaded a conftest.py that was not in the repo when the eval started: " \
            + ", ".join(foreign[:5])
    return runs, ""


def pytest_evidence(records_text: str) -> tuple[bool, str]:
    """(tests ran and passed, why not) from the evidence plugin's JSON lines."""
    records = _records(records_text, "pytest")
    if records is None:
        return False, "unreadable pytest evidence"
    sessions, forged = _by_run(records, lambda r: int(r["pid"]))
    if forged:
        return False, forged
    if not sessions:
        return False, "pytest never reported (not run, or the plugin was not loaded)"
    unfinished = [pid for pid, s in sessions.items() if s.get("event") != "finish"]
    if unfinished:
        return False, "pytest exited before its session finished (os._exit or a crash?)"
    if any(s.get("exitstatus") != 0 for s in sessions.values()):
        return False, "a pytest session finished with a non-zero status"
    if any("ran" in s and int(s["ran"]) < int(s.get("collected") or 0) for s in sessions.values()):
        return False, "pytest stopped before every collected test ran"
    totals = {k: sum(int(s.get(k) or 0) for s in sessions.values())
              for k in ("passed", "failed", "errors")}
    if totals["failed"] or totals["errors"]:
        return False, f"{totals['failed']} failed, {totals['errors']} errors in test calls"
    if totals["passed"] < 1:
        return False, "no test ran"
    return True, ""


def unittest_evidence(records_text: str) -> tuple[bool, str]:
    """Every ``TextTestRunner.run`` that started finished, ran ≥ 1 test in all, none failed."""
    records = _records(records_text, "unittest")
    if records is None:
        return False, "unreadable unittest evidence"
    runs, forged = _by_run(records, lambda r: (int(r["pid"]), int(r["run"])))
    if forged:
        return False, forged
    if not runs:
        return False, "no unittest runner reported (not run, or the recorder was not loaded)"
    if any(run.get("event") != "finish" for run in runs.values()):
        return False, "the unittest process exited before its run finished (os._exit or a crash?)"
    bad = sum(int(run.get(k) or 0) for run in runs.values()
              for k in ("failures", "errors", "unexpected_successes"))
    if bad:
        return False, f"{bad} unittest failures or errors"
    if sum(int(run.get("tests_run") or 0) for run in runs.values()) < 1:
        return False, "the runner ran 0 tests"
    return True, ""


def summary_evidence(log: str, records_text: str | None = None) -> tuple[bool, str]:
    """unittest's ``Ran N tests`` with N ≥ 1 followed by ``OK`` and, when ``records_text`` is
    given, the recorder's agreement (a printed line alone can be forged)."""
    if records_text is not None:
        ok, why = unittest_evidence(records_text)
        if not ok:
            return ok, why
    runs = list(UNITTEST_RAN.finditer(log))
    if not runs:
        return False, "no 'Ran N tests' summary in the log"
    last = runs[-1]
    if int(last.group(1)) < 1:
        return False, "the runner ran 0 tests"
    if not UNITTEST_OK.search(log, last.end()):
        return False, "the summary does not say OK"
    return True, ""


def grade(fields: dict[str, str], container_exit: int | None, timeout_s: float, *,
          runner: str = "none", pytest_records: str = "", log: str = "",
          oom_killed: bool = False) -> Verdict:
    """The status of one evaluation from the runner's fields and how the container ended."""
    if container_exit is None:
        return Verdict("timeout", detail="the container did not end before the client deadline")
    phase = fields.get("phase")
    if phase == "patch_failed":
        return Verdict("patch_failed")
    if phase == "test_patch_failed":
        return Verdict("error", error="the task's test_patch does not apply after the candidate "
                                      "(the task is broken)")
    if "error" in fields:
        return Verdict("error", error=fields["error"])
    if phase != "done" or "eval_exit_code" not in fields:
        how = "was OOM-killed" if oom_killed else f"ended ({container_exit}) before the eval finished"
        return Verdict("error", error=f"the harness runner {how}: container killed from outside?")
    rc = int(fields["eval_exit_code"])
    if rc != container_exit:
        return Verdict("error", error=f"runner record ({rc}) and container exit ({container_exit}) "
                                      "disagree: the result file was tampered with")
    elapsed = float(fields["t_eval_end"]) - float(fields["t_apply_end"])
    if rc in (124, 137) and elapsed >= timeout_s - 0.5:
        return Verdict("timeout")
    kind = _evidence_kind(runner, pytest_records)
    if rc == 0 and fields.get("tests_modified"):
        return Verdict("failed", kind, detail="the task's test files or a conftest.py changed during the eval")
    if rc != 0:
        return Verdict("failed", evidence=kind)
    if kind == "pytest":
        ok, why = pytest_evidence(pytest_records)
        return Verdict("passed", "pytest") if ok else Verdict("failed", "pytest", detail=why)
    if kind == "summary":
        ok, why = summary_evidence(log, pytest_records)
        return Verdict("passed", "summary") if ok else Verdict("failed", "summary", detail=why)
    return Verdict("passed", "none", detail="exit status only: no evidence for this test runner")


def _evidence_kind(runner: str, records_text: str) -> str:
    """The script's runner decides; an unrecognised script is judged by what did report."""
    if runner != "none":
        return runner
    for kind, name in (("pytest", "pytest"), ("summary", "unittest")):
        if _records(records_text, name):
            return kind
    return "none"
