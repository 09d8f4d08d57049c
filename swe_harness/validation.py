"""Task validation: from the report lines of one task's checks to valid / invalid / flaky.

Checks per task: gold (``--swe-repeat`` times) must pass, empty must fail, test-only (when the
task has a test_patch) must fail. Pure functions on report lines, shared by pytest and the CLI.
"""

from __future__ import annotations

from collections import defaultdict


def checks(has_test_patch: bool, repeat: int = 1) -> list[tuple[str, float]]:
    """(patch kind, expected reward) for each evaluation a validation runs."""
    plan = [("gold", 1.0)] * max(1, repeat) + [("empty", 0.0)]
    if has_test_patch:
        plan.append(("test-only", 0.0))
    return plan


def classify(lines: list[dict]) -> tuple[str, str]:
    """(``valid`` | ``invalid`` | ``flaky``, reason) for one task's report lines."""
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for line in lines:
        by_kind[line["patch"]].append(line)
    errors = [line for line in lines if line["status"] == "error"]
    if any("failed to build" in (line.get("error") or "") for line in errors):
        return "invalid", "image does not build"
    if errors:
        return "invalid", f"evaluation error ({errors[0]['patch']}): {errors[0].get('error')}"
    gold = [line["status"] for line in by_kind["gold"]]
    if "passed" in gold and any(status != "passed" for status in gold):
        runs = ", ".join(gold)
        return "flaky", f"gold passed {gold.count('passed')}/{len(gold)} runs ({runs})"
    reasons = []
    if gold and all(status == "patch_failed" for status in gold):
        reasons.append("gold does not apply")
    elif not gold or "passed" not in gold:
        reasons.append(f"gold fails ({gold[0] if gold else 'not run'})")
    if any(line["status"] == "passed" for line in by_kind["empty"]):
        reasons.append("empty passes")
    if any(line["status"] == "passed" for line in by_kind["test-only"]):
        reasons.append("test-only passes")
    return ("invalid", "; ".join(reasons)) if reasons else ("valid", "")


def classify_all(lines: list[dict]) -> dict[str, tuple[str, str]]:
    """instance_id -> classification, for every task in a report."""
    grouped: dict[str, list[dict]] = defaultdict(list)
    for line in lines:
        grouped[line["instance_id"]].append(line)
    return {iid: classify(grouped[iid]) for iid in sorted(grouped)}


def write_valid_ids(path: str, classes: dict[str, tuple[str, str]]) -> list[str]:
    """One valid instance id per line: the file dataset preparation consumes."""
    valid = [iid for iid, (label, _) in classes.items() if label == "valid"]
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(iid + "\n" for iid in valid)
    return valid
