"""A run directory: one folder per run of thousands of evaluations, resumable.

``report.jsonl``: every evaluation's report line, appended as it ends (every attempt, so a
retried error stays visible; the last line of an instance is its result). ``summary.json``: the
SWE-bench-shaped run report (summary.py). ``logs/<instance_id>/``: ``patch.diff``, ``eval.log``
(the kept tail of the eval's output) and ``report.json`` (its last report line). ``run.json``:
the patch kind the run evaluates, so ``--resume`` never mixes gold and model patches in one
report; a resumed instance is skipped only if its final line graded the same patch (sha256).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

FINAL_STATUSES = ("passed", "failed", "patch_failed", "rejected", "timeout")  # not "error"


def harness_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("swe_harness")
    except PackageNotFoundError:
        from . import __version__

        return __version__


def patch_sha256(candidate: str) -> str:
    return hashlib.sha256(candidate.encode("utf-8")).hexdigest()


def report_line(task, result, reward: float | None, candidate: str,
                image_id: str | None) -> dict:
    """The evaluation's report line plus what a run at scale needs to audit it: the harness
    version, the image id the tag resolved to, the patch's sha256 and per-test counts.

    Per-test counts come from the result when it carries them (the evidence), else from the
    eval log's per-test lines (``test_counts_from: "log"``: informative, never a verdict). For a
    task with FAIL_TO_PASS/PASS_TO_PASS lists, ``tests_status`` is SWE-bench's per-list report
    read from the log."""
    from collections import Counter

    from . import logs

    line = result.report(reward)
    line["repo"] = task.repo
    line["harness_version"] = harness_version()
    line["image_id"] = image_id
    line["patch_sha256"] = patch_sha256(candidate)
    counts = getattr(result, "test_counts", None) or None  # {}: the evidence had no tests
    outcomes = {}
    if result.status != "error":
        try:
            outcomes = logs.grade_from_log(task, getattr(result, "log", "") or result.log_tail)
        except Exception:  # a parser we lack, or one of swebench's failing: counts are optional
            outcomes = {}
    if counts is None and outcomes:
        counts = dict(Counter(status.lower() for status in outcomes.values()))
        line["test_counts_from"] = "log"
    if counts is not None:
        line["test_counts"] = counts
    if task.fail_to_pass or task.pass_to_pass:
        line["tests_status"] = logs.lists_report(task, outcomes)
    return line


class RunDirError(Exception):
    """A run directory that cannot be used as asked (e.g. resumed with another patch source)."""


class RunDir:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.report = self.path / "report.jsonl"
        self.summary = self.path / "summary.json"
        self.logs = self.path / "logs"
        self._lock = threading.Lock()

    def open(self, meta: dict, resume: bool) -> None:
        """Create the dir, or check that a resumed one evaluates the same thing."""
        meta_path = self.path / "run.json"
        if self.report.exists() and self.report.stat().st_size and not resume:
            raise RunDirError(f"{self.report} already holds a run: pass --resume to continue "
                              "it, or choose another --run-dir")
        if resume and meta_path.exists():
            before = json.loads(meta_path.read_text())
            if before.get("kind") != meta.get("kind"):
                raise RunDirError(f"{self.path} was run with --patch {before.get('patch')}, "
                                  f"not {meta.get('patch')}")
        self.logs.mkdir(parents=True, exist_ok=True)
        meta_path.write_text(json.dumps(meta, indent=1) + "\n")
        self.report.touch()

    def lines(self) -> list[dict]:
        """Every report line so far (a line cut short by a crash is skipped)."""
        if not self.report.exists():
            return []
        out = []
        for text in self.report.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(text))
            except json.JSONDecodeError:
                continue
        return out

    def finished(self) -> dict[str, str]:
        """Instance -> patch sha256, for instances whose last line has a final status
        (``error`` is not final)."""
        last = {line["instance_id"]: line for line in self.lines()}
        return {iid: line.get("patch_sha256", "") for iid, line in last.items()
                if line.get("status") in FINAL_STATUSES}

    def record(self, line: dict, candidate: str, log: str) -> None:
        """Append the line (flushed, so a crash loses at most the line being written) and write
        the instance's log folder."""
        folder = self.logs / _safe(line["instance_id"])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "patch.diff").write_text(candidate, encoding="utf-8")
        (folder / "eval.log").write_text(log, encoding="utf-8")
        (folder / "report.json").write_text(json.dumps(line, indent=1) + "\n", encoding="utf-8")
        with self._lock, self.report.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def write_summary(self, summary: dict) -> None:
        tmp = self.summary.with_suffix(".tmp")
        tmp.write_text(json.dumps(summary, indent=1) + "\n")
        tmp.replace(self.summary)


def _safe(instance_id: str) -> str:
    """Instance ids are ``[A-Za-z0-9._-]`` (task.py), so they are already safe folder names;
    this guards the ``.``/``..`` corner."""
    return instance_id if instance_id.strip(".") else f"_{instance_id}"
