"""Task validation: from the report lines of one task's checks to valid / invalid / flaky.

Checks per task: gold (``--swe-repeat`` times) must pass, empty must fail, test-only (when the
task has a test_patch) must fail. From the per-test outcomes of those runs come the task's
``FAIL_TO_PASS`` (passes with gold every time, not with the empty patch) and ``PASS_TO_PASS``
(passes both ways) lists, written with the valid tasks so later evaluations grade per test.
Pure functions on report lines, shared by pytest and the CLI.
"""

from __future__ import annotations

import json
import os
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


def derive_test_lists(lines: list[dict]) -> tuple[list[str], list[str]]:
    """(FAIL_TO_PASS, PASS_TO_PASS) of one task from the ``tests`` of its gold and empty runs."""
    gold = [line.get("tests") or {} for line in lines if line["patch"] == "gold"]
    empty = [line.get("tests") or {} for line in lines if line["patch"] == "empty"]
    if not gold or not empty:
        return [], []
    stable = set.intersection(*(set(t for t, o in run.items() if o == "passed") for run in gold))
    passing_without = set.union(*(set(t for t, o in run.items() if o == "passed") for run in empty))
    return sorted(stable - passing_without), sorted(stable & passing_without)


def task_record(task, fail_to_pass: list[str], pass_to_pass: list[str]) -> dict:
    """A task as one record the loader reads back (with its lists and where its image builds)."""
    record = {**task.extra, "instance_id": task.instance_id, "repo": task.repo,
              "base_commit": task.base_commit, "problem_statement": task.problem_statement,
              "gold_patch": task.gold_patch, "test_patch": task.test_patch,
              "fix_patch": task.fix_patch, "eval_script": task.eval_script,
              "image_name": task.image_name, "test_files": list(task.test_files),
              "workdir": task.workdir, "network": task.network,
              "FAIL_TO_PASS": fail_to_pass, "PASS_TO_PASS": pass_to_pass}
    if task.timeout_s:
        record["timeout"] = task.timeout_s
    if task.build_context:
        record["build_context"] = task.build_context
    return record


def write_validated_tasks(path: str, tasks: list, lines: list[dict],
                          classes: dict[str, tuple[str, str]]) -> list[str]:
    """The valid tasks with their derived test lists, as JSONL (atomically); their ids."""
    by_task: dict[str, list[dict]] = defaultdict(list)
    for line in lines:
        by_task[line["instance_id"]].append(line)
    valid = [t for t in tasks if classes.get(t.instance_id, ("",))[0] == "valid"]
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        for task in valid:
            f2p, p2p = derive_test_lists(by_task[task.instance_id])
            fh.write(json.dumps(task_record(task, f2p, p2p)) + "\n")
    os.replace(tmp, path)
    return [t.instance_id for t in valid]
