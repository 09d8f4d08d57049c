"""From what the container left behind to a status: pure functions on strings.

A pass needs the eval script's exit status 0 *and* positive evidence that tests ran and passed:
- ``pytest``: records of the injected evidence plugin (every pytest process that started must
  have finished with exit status 0, at least one test passed, none failed or errored);
- ``summary``: a runner's own summary line (unittest: ``Ran N tests`` … ``OK``, N ≥ 1);
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


def pytest_evidence(records_text: str) -> tuple[bool, str]:
    """(tests ran and passed, why not) from the evidence plugin's JSON lines."""
    sessions: dict[int, dict] = {}
    for line in records_text.splitlines():
        try:
            record = json.loads(line)
            sessions.setdefault(int(record["pid"]), {}).update(record)
        except (ValueError, KeyError, TypeError):
            return False, "unreadable pytest evidence"
    if not sessions:
        return False, "pytest never reported (not run, or the plugin was not loaded)"
    unfinished = [pid for pid, s in sessions.items() if s.get("event") != "finish"]
    if unfinished:
        return False, "pytest exited before its session finished (os._exit or a crash?)"
    if any(s.get("exitstatus") != 0 for s in sessions.values()):
        return False, "a pytest session finished with a non-zero status"
    totals = {k: sum(int(s.get(k) or 0) for s in sessions.values())
              for k in ("passed", "failed", "errors")}
    if totals["failed"] or totals["errors"]:
        return False, f"{totals['failed']} failed, {totals['errors']} errors in test calls"
    if totals["passed"] < 1:
        return False, "no test ran"
    return True, ""


def summary_evidence(log: str) -> tuple[bool, str]:
    """unittest's ``Ran N tests`` with N ≥ 1 followed by ``OK``."""
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
    if rc != 0:
        return Verdict("failed", evidence=_evidence_kind(runner, pytest_records))
    if runner == "pytest" or pytest_records.strip():
        ok, why = pytest_evidence(pytest_records)
        return Verdict("passed", "pytest") if ok else Verdict("failed", "pytest", detail=why)
    if runner == "summary":
        ok, why = summary_evidence(log)
        return Verdict("passed", "summary") if ok else Verdict("failed", "summary", detail=why)
    return Verdict("passed", "none", detail="exit status only: no evidence for this test runner")


def _evidence_kind(runner: str, pytest_records: str) -> str:
    return "pytest" if pytest_records.strip() else runner
