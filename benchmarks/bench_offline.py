#!/usr/bin/env python
"""Offline package managers: an eval script that runs ``pip install -e ".[tests]"`` with the
network off, before and after ``swe_harness.offline`` (in one run, on one machine).

Run by hand from the repository root:

    .venv/bin/python benchmarks/bench_offline.py              # 5 rounds + verdicts, ~2 min
    .venv/bin/python benchmarks/bench_offline.py --rounds 1 --no-verdicts --variants after  # tiny

1. time: ``benchmarks/tasks/tidyargs-pipinstall-1`` (its eval script tries
   ``pip install -e ".[tests]" || pip install -e . || true``, then pytest), gold and empty,
   alternating "before" (no offline settings) and "after" in each round; eval seconds as the
   runner measures them (the eval script alone), median and min.
2. verdicts: every bundled task (``tasks/``), the SWE-bench-style instance and the bench task,
   gold and empty, before and after: the statuses must be identical.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from swe_harness import offline, sandbox  # noqa: E402
from swe_harness.evaluate import EvalOptions, candidate_for, evaluate  # noqa: E402
from swe_harness.task import load_tasks  # noqa: E402

BENCH_TASK = ROOT / "benchmarks" / "tasks" / "tidyargs-pipinstall-1"
VARIANTS = {"before": {}, "after": dict(offline.OFFLINE_ENV)}


def run(task, kind: str, variant: str):
    with mock.patch.dict(offline.OFFLINE_ENV, VARIANTS[variant], clear=True):
        return evaluate(task, candidate_for(task, kind), kind, EvalOptions())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-verdicts", action="store_true")
    parser.add_argument("--variants", nargs="+", choices=tuple(VARIANTS), default=list(VARIANTS))
    args = parser.parse_args()
    (task,), errors = load_tasks([BENCH_TASK])
    assert not errors, errors
    sandbox.ensure_image(task, "missing")
    print(f"machine: {platform.node()} {platform.machine()}, cores: {__import__('os').cpu_count()}")
    times: dict[tuple[str, str], list[float]] = {}
    statuses: dict[tuple[str, str], set[str]] = {}
    for _ in range(args.rounds):
        for kind in ("gold", "empty"):
            for variant in args.variants:
                result = run(task, kind, variant)
                times.setdefault((kind, variant), []).append(result.duration_s.get("eval", 0.0))
                statuses.setdefault((kind, variant), set()).add(result.status)
    print(f"\n{task.instance_id}, {args.rounds} round(s): eval script seconds")
    print(f"{'patch':6} {'variant':7} {'median':>7} {'min':>7}  statuses")
    for (kind, variant), values in times.items():
        print(f"{kind:6} {variant:7} {statistics.median(values):7.2f} {min(values):7.2f}  "
              f"{', '.join(sorted(statuses[(kind, variant)]))}")
    for kind in ("gold", "empty") if len(args.variants) == 2 else ():
        before = statistics.median(times[(kind, "before")])
        after = statistics.median(times[(kind, "after")])
        print(f"{kind}: {before / max(after, 1e-9):.1f}x faster")
    if args.no_verdicts:
        return 0
    tasks, errors = load_tasks([ROOT / "tasks", ROOT / "tasks" / "swebench", BENCH_TASK])
    assert not errors, errors
    changed = []
    print("\nverdicts, before -> after:")
    for task in tasks:
        sandbox.ensure_image(task, "missing")
        for kind in ("gold", "empty"):
            before, after = run(task, kind, "before").status, run(task, kind, "after").status
            print(f"  {task.instance_id:28} {kind:6} {before:8} -> {after}")
            if before != after:
                changed.append((task.instance_id, kind, before, after))
    print("verdicts changed:", changed or "none")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
