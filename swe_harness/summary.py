"""What a run of evaluations adds up to: the patch kinds and the rewards they must earn, the
printed summary, and the SWE-bench-shaped ``summary.json``. Shared by the pytest plugin and the
CLI; pure (report lines in, text or dicts out)."""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Iterable

PATCH_KINDS = ("gold", "empty", "test-only")
EXPECTED_REWARD = {"gold": 1.0, "model": 1.0, "empty": 0.0, "test-only": 0.0}
SCHEMA_VERSION = 2  # SWE-bench's run report schema this summary follows


def summary_lines(lines: list[dict]) -> list[str]:
    """Resolved counts over scored evaluations: an error is missing data, not a 0.0."""
    scored = [line for line in lines if line["reward"] is not None]
    resolved = sum(1 for line in scored if line["reward"] == 1.0)
    errors = [line.get("error") or "unknown error" for line in lines if line["status"] == "error"]
    cached = sum(1 for line in lines if line.get("cached"))
    out = [f"evaluations: {len(lines)}  resolved: {resolved}/{len(scored)} scored  "
           f"errors: {len(errors)} (not scored)" + (f"  cached: {cached}" if cached else "")]
    evals = sorted(line["duration_s"]["eval"] for line in lines if "eval" in line["duration_s"])
    if evals:
        p95 = evals[min(len(evals) - 1, round(0.95 * (len(evals) - 1)))]
        out.append(f"eval seconds: mean {statistics.mean(evals):.2f}  p95 {p95:.2f}")
    statuses = Counter(line["status"] for line in lines)
    out.append("statuses: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
    for message, count in Counter(e.splitlines()[0] for e in errors).most_common(3):
        out.append(f"error x{count}: {message[:300]}")
    return out


def latest_lines(lines: Iterable[dict]) -> dict[str, dict]:
    """The last report line of each instance (a run dir's report keeps every attempt)."""
    out: dict[str, dict] = {}
    for line in lines:
        out[line["instance_id"]] = line
    return out


def run_summary(lines: Iterable[dict], task_ids: Iterable[str], *,
                submitted: Iterable[str] | None = None, empty_patch: Iterable[str] = (),
                unknown: Iterable[str] = (), harness_version: str = "") -> dict:
    """The run report in SWE-bench's shape (``make_run_report``), plus our two lists.

    ``task_ids``: every instance of the run. ``submitted``: ids with a prediction (None: every
    task, as for gold/empty runs). ``empty_patch``: predictions with a blank patch, not evaluated
    (as in SWE-bench). A task without a prediction is ``missing_prediction`` and counts as
    unresolved, as in SWE-bench. ``unknown``: predictions that name no loaded task.
    """
    task_ids = sorted(set(task_ids))
    submitted_ids = sorted(set(task_ids if submitted is None else submitted) & set(task_ids))
    empty_ids = sorted(set(empty_patch) & set(task_ids))
    missing_ids = sorted(set(task_ids) - set(submitted_ids))
    final = latest_lines(lines)
    resolved, unresolved, error = [], [], []
    for iid in submitted_ids:
        line = final.get(iid)
        if line is None:
            continue
        if line["status"] == "error" or line["reward"] is None:
            error.append(iid)
        elif line["reward"] == 1.0:
            resolved.append(iid)
        else:
            unresolved.append(iid)
    completed = sorted(resolved + unresolved)
    incomplete = sorted(set(submitted_ids) - set(completed) - set(empty_ids))
    unresolved_all = sorted(set(unresolved) | set(missing_ids))
    return {
        "total_instances": len(task_ids),
        "submitted_instances": len(submitted_ids),
        "completed_instances": len(completed),
        "resolved_instances": len(resolved),
        "unresolved_instances": len(unresolved_all),
        "empty_patch_instances": len(empty_ids),
        "error_instances": len(error),
        "missing_prediction_instances": len(missing_ids),
        "unknown_prediction_instances": len(set(unknown)),
        "completed_ids": completed,
        "incomplete_ids": incomplete,
        "empty_patch_ids": empty_ids,
        "submitted_ids": submitted_ids,
        "resolved_ids": sorted(resolved),
        "unresolved_ids": unresolved_all,
        "error_ids": sorted(error),
        "missing_prediction_ids": missing_ids,
        "unknown_prediction_ids": sorted(set(unknown)),
        "harness_version": harness_version,
        "schema_version": SCHEMA_VERSION,
    }
