"""``python -m swe_harness``: build task images and evaluate patches, outside pytest.

A thin wrapper over the same path the pytest plugin uses (``evaluate`` + the reward hook).
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from . import rewards
from .evaluate import EvalOptions, candidate_for, evaluate
from .plugin import PATCH_KINDS, summary_lines
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

    reap = sub.add_parser("reap", help="remove containers left by dead runs (or --all)")
    reap.add_argument("--all", action="store_true", help="every swe_harness container")

    args = parser.parse_args(argv)
    return {"images": cmd_images, "eval": cmd_eval, "reap": cmd_reap}[args.command](args)


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
    for task, size, unique in sandbox.image_sizes(tasks):
        table.add_row(task.instance_id, task.image_name,
                      "-" if size is None else f"{size / 1e6:.0f}",
                      "-" if unique is None else f"{unique / 1e6:.1f}")
    console.print(table)
    return 1 if failed else 0


def cmd_eval(args) -> int:
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from . import sandbox

    console = Console()
    tasks = _load(args.tasks)
    kind, predictions = args.patch, None
    if kind not in PATCH_KINDS:
        predictions, errors = load_predictions(kind)
        for error in errors:
            console.print(f"[red]error: {error}")
        kind = "model"
    options = EvalOptions(build=args.build, timeout_s=args.timeout)
    pm = rewards.default_manager()
    sandbox.reap_in_background()  # containers of runs that died earlier
    todo = [(t, c) for t in tasks if (c := candidate_for(t, kind, predictions)) is not None]
    lines = []
    with Progress(console=console) as progress:
        bar = progress.add_task(f"evaluating {kind} patches", total=len(todo))
        # Images first, one at a time: builds are the slow, CPU-bound part.
        for task, _ in todo:
            progress.update(bar, description=f"image {task.instance_id}")
            try:
                sandbox.ensure_image(task, options.build)
            except sandbox.InfraError:
                pass  # evaluate() reports it as this task's error
        progress.update(bar, description=f"evaluating {kind} patches")
        with ThreadPoolExecutor(max(1, args.jobs)) as pool:
            futures = {pool.submit(evaluate, t, c, kind, options): t for t, c in todo}
            for future in as_completed(futures):
                task, result = futures[future], future.result()
                lines.append(result.report(rewards.reward_for(task, result, pm)))
                progress.advance(bar)
    lines.sort(key=lambda line: line["instance_id"])
    if args.report:
        Path(args.report).write_text("".join(json.dumps(line) + "\n" for line in lines))
    table = Table("instance", "reward", "status", "seconds")
    for line in lines:
        color = {"passed": "green", "error": "red"}.get(line["status"], "yellow")
        table.add_row(line["instance_id"], str(line["reward"]), f"[{color}]{line['status']}",
                      f"{line['duration_s']['total']:.1f}")
    console.print(table)
    for text in summary_lines(lines) if lines else ["no evaluations"]:
        console.print(text)
    expected = {"gold": 1.0, "model": 1.0, "empty": 0.0, "test-only": 0.0}[kind]
    return 0 if lines and all(line["reward"] == expected for line in lines) else 1


def cmd_reap(args) -> int:
    from . import sandbox

    removed = sandbox.reap(dead_only=not args.all)
    print(f"removed {removed} container(s)")
    return 0
