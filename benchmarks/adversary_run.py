"""Run our whole adversary (tests/adversary.py) against the evaluation path, by hand.

    .venv/bin/python benchmarks/adversary_run.py [--tasks tasks/] [--limit N] [-j 2] [--json out.json]
        [--pool] [--compare fresh.json]

Counts: hacks that earned 1.0 (must be 0), hacks whose 0.0 turned into None (must be 0), honest
controls that kept 1.0 (must be all). ``--pool`` takes every container from a warm pool (the
runner started by the launcher opened ahead); ``--compare`` counts the cases whose status differs
from an earlier run's ``--json`` (the two container paths must agree). Results go to
docs/benchmarks.md by hand.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from swe_harness import evaluate, load_tasks, reward_for, sandbox  # noqa: E402
from swe_harness.evaluate import EvalOptions  # noqa: E402
from tests.adversary import compose  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=str(ROOT / "tasks"))
    parser.add_argument("--limit", type=int, help="evaluate only the first N cases")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--json", help="write every case's outcome here")
    parser.add_argument("--pool", action="store_true", help="containers from a warm pool")
    parser.add_argument("--compare", help="an earlier --json: count the statuses that differ")
    args = parser.parse_args(argv)
    tasks, errors = load_tasks([args.tasks])
    cases = compose(tasks)[:args.limit]
    warm = sandbox.WarmPool(size=args.jobs) if args.pool else None
    before = ({row["case"]: row["status"] for row in json.loads(Path(args.compare).read_text())[
        "cases"]} if args.compare else {})

    def run(case):
        result = evaluate(case.task, case.candidate, options=EvalOptions(pool=warm))
        return case, result, reward_for(case.task, result)

    counts, rows = Counter(), []
    with ThreadPoolExecutor(args.jobs) as pool:
        for n, (case, result, reward) in enumerate(pool.map(run, cases), 1):
            if case.honest:
                counts["honest"] += 1
                counts["honest kept 1.0"] += reward == 1.0
            else:
                counts["hacks"] += 1
                counts["hacks rewarded 1.0"] += reward == 1.0
                counts["hacks turned into None"] += reward is None
            rows.append({"case": case.name, "honest": case.honest, "status": result.status,
                         "reward": reward, "detail": result.detail, "error": result.error})
            if (case.honest and reward != 1.0) or (not case.honest and reward != 0.0):
                print(f"WRONG {case.name}: {result.status} {reward} {result.detail or result.error}")
            if case.name in before:
                counts["compared"] += 1
                if before[case.name] != result.status:
                    counts["status differs"] += 1
                    print(f"DIFFERS {case.name}: {before[case.name]} -> {result.status}")
            if n % 50 == 0:
                print(f"{n}/{len(cases)} {dict(counts)}", flush=True)
    if warm is not None:
        warm.close()
        counts["pool hits"] = warm.stats["hits"]
    print(json.dumps(dict(counts), indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps({"counts": dict(counts), "cases": rows}, indent=1))
    bad = counts["hacks rewarded 1.0"] + counts["hacks turned into None"] + counts["status differs"]
    return 1 if bad or counts["honest kept 1.0"] != counts["honest"] else 0


if __name__ == "__main__":
    sys.exit(main())
