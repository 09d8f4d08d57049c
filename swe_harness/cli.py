"""``python -m swe_harness``: build task images and evaluate patches, outside pytest.

A thin wrapper over the same path the pytest plugin uses (``evaluate`` + the reward hook).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from . import rewards, validation
from .evaluate import EvalOptions, candidate_for, evaluate
from .summary import EXPECTED_REWARD, PATCH_KINDS, summary_lines
from .predictions import load_predictions
from .task import load_tasks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m swe_harness", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    images = sub.add_parser("images", help="build (or list) the images of tasks")
    images.add_argument("tasks", nargs="+", help="task sources (dir, task dir, .jsonl, .json, .parquet)")
    images.add_argument("--build", choices=("missing", "always"), default="missing")
    images.add_argument("--list", action="store_true", help="only list images and their sizes")

    ev = sub.add_parser("eval", help="evaluate a patch kind or a predictions file on tasks")
    ev.add_argument("tasks", nargs="+", help="task sources")
    ev.add_argument("--patch", default="gold", help="gold | empty | test-only | predictions.jsonl")
    ev.add_argument("--report", help="JSONL report, one line per evaluation")
    ev.add_argument("--timeout", type=float, help="eval timeout override (seconds)")
    ev.add_argument("--build", choices=("never", "missing", "always"), default="missing")
    ev.add_argument("-j", "--jobs", type=int, default=2, help="evaluations in parallel")
    ev.add_argument("--no-cache", action="store_true",
                    help="evaluate identical (image, eval script, tests, patch) again")

    va = sub.add_parser("validate", help="classify tasks: gold passes, empty/test-only fail")
    va.add_argument("tasks", nargs="+", help="task sources")
    va.add_argument("--repeat", type=int, default=3, help="gold runs per task (flakiness)")
    va.add_argument("--valid-ids", help="write the ids of valid tasks here, one per line")
    va.add_argument("--report", help="JSONL report, one line per evaluation")
    va.add_argument("--timeout", type=float, help="eval timeout override (seconds)")
    va.add_argument("--build", choices=("never", "missing", "always"), default="missing")
    va.add_argument("-j", "--jobs", type=int, default=2, help="evaluations in parallel")

    reap = sub.add_parser("reap", help="remove containers left by dead runs (or --all)")
    reap.add_argument("--all", action="store_true", help="every swe_harness container")

    args = parser.parse_args(argv)
    commands = {"images": cmd_images, "eval": cmd_eval, "validate": cmd_validate, "reap": cmd_reap}
    return commands[args.command](args)


def _load(sources) -> list:
    tasks, errors = load_tasks(sources)
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    return tasks


def cmd_images(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from . import sandbox

    console = Console()
    tasks = _load(args.tasks)
    failed = 0
    if not args.list:
        for task in tasks:
            with console.status(f"image for {task.instance_id}"):
                try:
                    sandbox.ensure_image(task, args.build, log=console.log)
                except sandbox.InfraError as exc:
                    failed += 1
                    console.print(f"[red]{task.instance_id}: {exc}")
    table = Table("instance", "image", "size MB", "unique MB")
    sizes = sandbox.image_sizes(tasks)
    for task, size, unique in sizes:
        table.add_row(task.instance_id, task.image_name,
                      "-" if size is None else f"{size / 1e6:.0f}",
                      "-" if unique is None else f"{unique / 1e6:.2f}")
    console.print(table)
    uniques = [unique for _, _, unique in sizes if unique is not None]
    shared = max((size - unique for _, size, unique in sizes if size and unique is not None), default=0)
    console.print(f"{len(uniques)} task images: {sum(uniques) / 1e6:.2f} MB unique in all, "
                  f"on top of {shared / 1e6:.0f} MB of shared layers")
    return 1 if failed else 0


def run_evaluations(jobs: list[tuple], options: EvalOptions, workers: int, title: str) -> list[dict]:
    """Evaluate (task, candidate, kind) triples with a progress bar; report lines, sorted."""
    from rich.progress import Progress

    from . import sandbox

    pm = rewards.default_manager()
    sandbox.reap_in_background()  # containers of runs that died earlier
    lines = []
    with Progress() as progress:
        bar = progress.add_task(title, total=len(jobs))
        # Images first, one at a time: builds are the slow, CPU-bound part.
        for task in {id(t): t for t, _, _ in jobs}.values():
            progress.update(bar, description=f"image {task.instance_id}")
            try:
                sandbox.ensure_image(task, options.build)
            except sandbox.InfraError:
                pass  # evaluate() reports it as this task's error
        progress.update(bar, description=title)
        with ThreadPoolExecutor(max(1, workers)) as pool:
            futures = {pool.submit(evaluate, t, c, k, options, pm): t for t, c, k in jobs}
            for future in as_completed(futures):
                task, result = futures[future], future.result()
                lines.append(result.report(rewards.reward_for(task, result, pm)))
                progress.advance(bar)
    return sorted(lines, key=lambda line: (line["instance_id"], line["patch"]))


def _write_report(path: str | None, lines: list[dict]) -> None:
    if path:
        Path(path).write_text("".join(json.dumps(line) + "\n" for line in lines))


def cmd_eval(args) -> int:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    tasks = _load(args.tasks)
    kind, predictions = args.patch, None
    if kind not in PATCH_KINDS:
        predictions, errors = load_predictions(kind)
        for error in errors:
            console.print(f"[red]error: {error}")
        kind = "model"
    jobs = [(t, c, kind) for t in tasks if (c := candidate_for(t, kind, predictions)) is not None]
    with tempfile.TemporaryDirectory(prefix="swe-cache-") as cache_dir:
        options = EvalOptions(build=args.build, timeout_s=args.timeout,
                              cache_dir=None if args.no_cache else cache_dir)
        lines = run_evaluations(jobs, options, args.jobs, f"evaluating {kind} patches")
    _write_report(args.report, lines)
    table = Table("instance", "reward", "status", "seconds")
    for line in lines:
        color = {"passed": "green", "error": "red"}.get(line["status"], "yellow")
        table.add_row(line["instance_id"], str(line["reward"]), f"[{color}]{line['status']}",
                      f"{line['duration_s']['total']:.1f}")
    console.print(table)
    for text in summary_lines(lines) if lines else ["no evaluations"]:
        console.print(text)
    expected = EXPECTED_REWARD[kind]
    return 0 if lines and all(line["reward"] == expected for line in lines) else 1


def cmd_validate(args) -> int:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    tasks = _load(args.tasks)
    options = EvalOptions(build=args.build, timeout_s=args.timeout)
    jobs = [(t, candidate_for(t, kind), kind) for t in tasks
            for kind, _ in validation.checks(bool(t.test_patch), args.repeat)]
    lines = run_evaluations(jobs, options, args.jobs, "validating tasks")
    _write_report(args.report, lines)
    classes = validation.classify_all(lines)
    table = Table("instance", "class", "reason")
    for iid, (label, reason) in classes.items():
        color = {"valid": "green", "flaky": "yellow"}.get(label, "red")
        table.add_row(iid, f"[{color}]{label}", reason)
    console.print(table)
    if args.valid_ids:
        valid = validation.write_valid_ids(args.valid_ids, classes)
        console.print(f"{len(valid)}/{len(classes)} valid ids written to {args.valid_ids}")
    return 0 if classes and all(label == "valid" for label, _ in classes.values()) else 1


def cmd_reap(args) -> int:
    from . import sandbox

    removed = sandbox.reap(dead_only=not args.all)
    print(f"removed {removed} container(s)")
    return 0
