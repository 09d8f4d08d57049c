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

from . import prepare, rewards, validation
from .evaluate import EvalOptions, EvalResult, candidate_for, evaluate
from .summary import EXPECTED_REWARD, PATCH_KINDS, summary_lines
from .predictions import load_predictions
from .task import load_tasks


RAY_HELP = ("run on a Ray cluster: ADDRESS (host:port), 'auto' (the running one), or nothing "
            "(start a local one); nodes take evaluations by their 'swe_engine' resource")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m swe_harness", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    images = sub.add_parser("images", help="build, list, prune, save or load the images of tasks")
    images.add_argument("tasks", nargs="*", help="task sources (dir, task dir, .jsonl, .json, "
                        ".parquet, saved dataset)")
    images.add_argument("--build", choices=("missing", "always"), default="missing")
    images.add_argument("--list", action="store_true", help="only list images and their sizes")
    images.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS", help=RAY_HELP)
    images.add_argument("--prune", action="store_true", help="remove swe_harness-built images "
                        "that no loaded task uses (and untagged leftovers of rebuilds)")
    images.add_argument("--dry-run", action="store_true", help="with --prune: only list them")
    images.add_argument("--prune-label", metavar="KEY=VALUE", help=argparse.SUPPRESS)
    images.add_argument("--save", metavar="DIR", help="save the tasks' images to DIR/images.tar")
    images.add_argument("--load", metavar="DIR", help="load DIR/images.tar (from --save)")
    images.add_argument("--image-template", help="image name of SWE-bench records without "
                        "image_name")

    ev = sub.add_parser("eval", help="evaluate a patch kind or a predictions file on tasks",
                        description=EVAL_EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    ev.add_argument("tasks", nargs="+", help="task sources")
    ev.add_argument("--patch", default="gold", help="gold | empty | test-only | predictions.jsonl")
    ev.add_argument("--report", help="JSONL report, one line per evaluation")
    ev.add_argument("--run-dir", help="keep the whole run here: report.jsonl, summary.json, "
                                      "logs/<instance_id>/")
    ev.add_argument("--resume", action="store_true",
                    help="with --run-dir: skip instances that already have a final status")
    ev.add_argument("--retry-errors", type=int, default=0, metavar="N",
                    help="evaluate again, up to N times, what ended in `error`")
    ev.add_argument("--instance-ids", nargs="+", metavar="ID|FILE",
                    help="only these instances: ids, and/or files of ids (one per line)")
    ev.add_argument("--image-template", help="image name of SWE-bench records without "
                    "image_name (default sweb.eval.x86_64.{instance_id}:latest)")
    ev.add_argument("--timeout", type=float, help="eval timeout override (seconds)")
    ev.add_argument("--build", choices=("never", "missing", "always"), default="missing")
    ev.add_argument("-j", "--jobs", type=int, default=2, help="evaluations in parallel")
    ev.add_argument("--no-cache", action="store_true",
                    help="evaluate identical (image, eval script, tests, patch) again")
    ev.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS", help=RAY_HELP)

    va = sub.add_parser("validate", help="classify tasks: gold passes, empty/test-only fail")
    va.add_argument("tasks", nargs="+", help="task sources")
    va.add_argument("--repeat", type=int, default=3, help="gold runs per task (flakiness)")
    va.add_argument("--valid-ids", help="write the ids of valid tasks here, one per line")
    va.add_argument("--validated", metavar="OUT.jsonl",
                    help="write the valid tasks with their FAIL_TO_PASS/PASS_TO_PASS lists")
    va.add_argument("--report", help="JSONL report, one line per evaluation")
    va.add_argument("--timeout", type=float, help="eval timeout override (seconds)")
    va.add_argument("--build", choices=("never", "missing", "always"), default="missing")
    va.add_argument("-j", "--jobs", type=int, default=2, help="evaluations in parallel")

    rep = sub.add_parser("report", help="write DIR/report.html from a run dir's report.jsonl")
    rep.add_argument("run_dir", help="a --run-dir of `eval` (or a report .jsonl)")
    prepare.build_parser(sub.add_parser("prepare", help="tasks -> train/validation parquet "
                                        "for GRPO training (python -m swe_harness.prepare)"))

    reap = sub.add_parser("reap", help="remove containers left by dead runs (or --all)")
    reap.add_argument("--all", action="store_true", help="every swe_harness container")

    args = parser.parse_args(argv)
    commands = {"images": cmd_images, "eval": cmd_eval, "validate": cmd_validate, "reap": cmd_reap,
                "report": cmd_report, "prepare": prepare.run}
    return commands[args.command](args)


def _load(sources, image_template=None) -> list:
    tasks, errors = load_tasks(sources, image_template)
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    return tasks


def cmd_images(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from . import sandbox

    console = Console()
    tasks = _load(args.tasks, args.image_template)
    if args.ray is not None:
        return images_on_ray(tasks, args, console)
    if args.load or args.save or args.prune:
        return _images_move_or_prune(args, tasks, console)
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


EVAL_EXIT_CODES = """exit codes:
  0    the run completed: every gold/empty/test-only reward is the one its kind expects; for
       a predictions file, whatever the patches scored
  1    gold/empty/test-only: some reward is not the one the patch kind expects
  2    usage: bad arguments, or --resume with another --patch than the run dir's
  3    input: a task or prediction failed to load, a prediction or --instance-ids names an
       unknown instance
  4    some evaluation ended in `error` (infrastructure; after --retry-errors)
  130  interrupted (Ctrl-C or SIGTERM): queued evaluations cancelled, containers removed
The first that applies, in the order 130, 2, 3, 4, 1, wins."""
EXIT_OK, EXIT_REWARD, EXIT_USAGE, EXIT_INPUT, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130


def _images_move_or_prune(args, tasks, console) -> int:
    from rich.markup import escape

    from . import images, sandbox

    try:
        if args.load:
            names = images.load(args.load)
            console.print(f"loaded {len(names)} image(s): {', '.join(names)}", highlight=False)
        if args.save:
            if not tasks:
                console.print("[red]error: --save needs task sources")
                return 2
            path = images.save(tasks, args.save, log=console.log)
            console.print(f"saved {len(tasks)} task image(s) to {path} "
                          f"({path.stat().st_size / 1e6:.0f} MB)", highlight=False)
        if args.prune:
            if not tasks:
                console.print("[red]error: --prune needs the task sources whose images to keep")
                return 2
            removed = images.prune(tasks, args.prune_label, dry_run=args.dry_run)
            verb = "would remove" if args.dry_run else "removed"
            console.print(f"{verb} {len(removed)} image(s)", highlight=False)
            for name in removed:
                console.print(f"  {name}", highlight=False)
    except (sandbox.InfraError, OSError) as exc:
        console.print(f"[red]error: {escape(str(exc))}", highlight=False)
        return 1
    except Exception as exc:  # docker SDK errors
        console.print(f"[red]error: {type(exc).__name__}: {escape(str(exc))}", highlight=False)
        return 1
    return 0


def run_evaluations(jobs: list[tuple], options: EvalOptions, workers: int, title: str,
                    on_line=None) -> list[dict]:
    """Evaluate (task, candidate, kind) triples with a progress bar; report lines, sorted.

    ``on_line(line, candidate, result)`` sees each line as its evaluation ends. Ctrl-C (or
    SIGTERM) cancels what is queued, removes this process's containers so running evaluations end
    at once, waits for them, and re-raises KeyboardInterrupt.
    """
    from rich.progress import Progress

    from . import sandbox
    from .rundir import report_line

    pm = rewards.default_manager()
    sandbox.reap_in_background()  # containers of runs that died earlier
    lines = []
    image_ids: dict[str, str | None] = {}
    with Progress() as progress:
        bar = progress.add_task(title, total=len(jobs))
        # Images first, one at a time: builds are the slow, CPU-bound part.
        for task in {id(t): t for t, _, _ in jobs}.values():
            progress.update(bar, description=f"image {task.instance_id}")
            try:
                sandbox.ensure_image(task, options.build)
                image_ids[task.image_name] = sandbox.image_id(task.image_name)
            except sandbox.InfraError:
                pass  # evaluate() reports it as this task's error
            except Exception:  # noqa: BLE001 - docker SDK errors: evaluate() reports them too
                pass
        progress.update(bar, description=title)
        pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="swe-eval")
        futures = {pool.submit(evaluate, t, c, k, options, pm): (t, c, k) for t, c, k in jobs}
        try:
            for future in as_completed(futures):
                task, candidate, kind = futures[future]
                try:
                    result = future.result()
                except Exception as exc:  # a hook or bug: this evaluation's error, not the run's
                    result = EvalResult(task.instance_id, kind, "error", image=task.image_name,
                                        error=f"{type(exc).__name__}: {exc}")
                line = report_line(task, result, rewards.reward_for(task, result, pm), candidate,
                                   image_ids.get(task.image_name))
                lines.append(line)
                if on_line:
                    on_line(line, candidate, result)
                progress.advance(bar)
        except KeyboardInterrupt:
            progress.update(bar, description="interrupted: removing this run's containers")
            _stop(pool, futures)
            raise
        pool.shutdown(wait=True)
    return sorted(lines, key=lambda line: (line["instance_id"], line["patch"]))


def _stop(pool: ThreadPoolExecutor, futures) -> None:
    """Cancel queued evaluations; remove running ones' containers until every thread is done
    (a thread between create and start could otherwise leave one behind)."""
    from concurrent.futures import wait

    from . import sandbox

    pool.shutdown(wait=False, cancel_futures=True)
    running = [f for f in futures if not f.done()]
    for _ in range(120):
        sandbox.quietly(sandbox.remove_owned)
        running = [f for f in running if not f.done()]
        if not running:
            break
        wait(running, timeout=0.5)
    sandbox.settle()
    sandbox.quietly(sandbox.remove_owned)


def _write_report(path: str | None, lines: list[dict]) -> None:
    if path:
        Path(path).write_text("".join(json.dumps(line) + "\n" for line in lines))


def _instance_ids(values: list[str] | None) -> set[str] | None:
    """``--instance-ids``: ids and files of ids (one per line, # comments)."""
    if not values:
        return None
    ids: set[str] = set()
    for value in values:
        path = Path(value)
        if path.is_file():
            ids.update(line.split("#", 1)[0].strip()
                       for line in path.read_text(encoding="utf-8").splitlines())
        else:
            ids.add(value)
    ids.discard("")
    return ids


def _terminate_as_interrupt() -> None:
    """SIGTERM unwinds like Ctrl-C."""
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


def cmd_eval(args) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from .rundir import RunDir, RunDirError, harness_version, patch_sha256
    from .summary import run_summary

    console = Console()
    input_problems = 0
    all_tasks, load_errors = load_tasks(args.tasks, args.image_template)
    for error in load_errors:
        console.print(f"[red]error: {escape(str(error))}", highlight=False)
    input_problems += len(load_errors)
    wanted = _instance_ids(args.instance_ids)
    tasks = all_tasks if wanted is None else [t for t in all_tasks if t.instance_id in wanted]
    if wanted is not None:
        unknown_wanted = sorted(wanted - {t.instance_id for t in all_tasks})
        if unknown_wanted:
            input_problems += 1
            console.print(f"[red]error: --instance-ids names {len(unknown_wanted)} unknown "
                          f"instance(s): {escape(', '.join(unknown_wanted[:10]))}", highlight=False)
    kind, predictions, unknown, submitted, empty_ids = args.patch, None, [], None, []
    if kind not in PATCH_KINDS:
        predictions, errors = load_predictions(kind)
        for error in errors:
            console.print(f"[red]error: {escape(str(error))}", highlight=False)
        input_problems += len(errors)
        kind = "model"
        unknown = sorted(set(predictions) - {t.instance_id for t in all_tasks})
        if unknown:
            input_problems += 1
            console.print(f"[red]error: {len(unknown)} prediction(s) name no loaded task: "
                          + escape(", ".join(unknown[:10])), highlight=False)
        submitted = [t.instance_id for t in tasks if t.instance_id in predictions]
        # as in SWE-bench, a blank patch is not evaluated: it is counted as "empty patch"
        empty_ids = [iid for iid in submitted if not predictions[iid].strip()]
    jobs = [(t, c, kind) for t in tasks if (c := candidate_for(t, kind, predictions)) is not None
            and (kind != "model" or c.strip())]

    run_dir = RunDir(args.run_dir) if args.run_dir else None
    if run_dir:
        try:
            run_dir.open({"kind": kind, "patch": args.patch, "tasks": args.tasks,
                          "harness_version": harness_version()}, args.resume)
        except RunDirError as exc:
            console.print(f"[red]error: {escape(str(exc))}", highlight=False)
            return EXIT_USAGE
        done = run_dir.finished()
        jobs_left = [j for j in jobs if done.get(j[0].instance_id) != patch_sha256(j[1])]
        if len(jobs_left) < len(jobs):
            console.print(f"resuming: {len(jobs) - len(jobs_left)} instance(s) already have a "
                          "final status for the same patch")
        jobs = jobs_left
    elif args.resume:
        console.print("[red]error: --resume needs --run-dir")
        return EXIT_USAGE

    def on_line(line, candidate, result):
        if run_dir:
            log = (getattr(result, "log", "") or result.log_tail) if result is not None \
                else line.get("log_tail", "")
            run_dir.record(line, candidate or "", log)

    _terminate_as_interrupt()
    lines: list[dict] = []
    interrupted = False
    with tempfile.TemporaryDirectory(prefix="swe-cache-") as cache_dir:
        options = EvalOptions(build=args.build, timeout_s=args.timeout,
                              cache_dir=None if args.no_cache else cache_dir)
        try:
            if args.ray is not None:
                lines = run_on_ray(jobs, options, args.ray, args.jobs, f"evaluating {kind} patches")
                for line in lines:
                    if on_line is not None:
                        on_line(line, None, None)
            else:
                lines = run_evaluations(jobs, options, args.jobs, f"evaluating {kind} patches",
                                        on_line)
            for attempt in range(args.retry_errors):
                again = [j for j in jobs if any(
                    line["instance_id"] == j[0].instance_id and line["status"] == "error"
                    for line in lines)]
                if not again:
                    break
                console.print(f"retrying {len(again)} evaluation(s) that ended in error "
                              f"({attempt + 1}/{args.retry_errors})")
                retried = run_evaluations(again, options, args.jobs, "retrying errors", on_line)
                redone = {line["instance_id"] for line in retried}
                lines = sorted([line for line in lines if line["instance_id"] not in redone]
                               + retried, key=lambda line: line["instance_id"])
        except KeyboardInterrupt:
            interrupted = True
            console.print("[red]interrupted: queued evaluations cancelled, containers removed")
    _write_report(args.report, lines)
    final_lines = run_dir.lines() if run_dir else lines
    summary = run_summary(final_lines, [t.instance_id for t in tasks], submitted=submitted,
                          empty_patch=empty_ids, unknown=unknown,
                          harness_version=harness_version())
    if run_dir:
        run_dir.write_summary(summary)
    table = Table("instance", "reward", "status", "seconds")
    for line in lines:
        color = {"passed": "green", "error": "red"}.get(line["status"], "yellow")
        table.add_row(line["instance_id"], str(line["reward"]), f"[{color}]{line['status']}",
                      f"{line['duration_s'].get('total', 0):.1f}")
    if lines:
        console.print(table)
    for text in summary_lines(lines) if lines else ["no evaluations"]:
        console.print(text, highlight=False)
    if predictions is not None:
        console.print(f"resolved {summary['resolved_instances']}/{summary['total_instances']}  "
                      f"unresolved {summary['unresolved_instances']} (missing predictions "
                      f"{summary['missing_prediction_instances']})  empty patch "
                      f"{summary['empty_patch_instances']}  error {summary['error_instances']}  "
                      f"unknown ids {summary['unknown_prediction_instances']}", highlight=False)
    if run_dir:
        console.print(f"run dir: {run_dir.path} (report.jsonl, summary.json, logs/)")
    if interrupted:
        return EXIT_INTERRUPTED
    if input_problems:
        return EXIT_INPUT
    current = {t.instance_id for t in tasks}
    latest = [line for line in {l["instance_id"]: l for l in final_lines}.values()
              if line["instance_id"] in current]
    if any(line["status"] == "error" for line in latest):
        return EXIT_ERROR
    if kind == "model":
        return EXIT_OK
    expected = EXPECTED_REWARD[kind]
    return EXIT_OK if latest and all(line["reward"] == expected for line in latest) else EXIT_REWARD


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
    if args.validated:
        valid = validation.write_validated_tasks(args.validated, tasks, lines, classes)
        console.print(f"{len(valid)} validated tasks with their test lists written to {args.validated}")
    return 0 if classes and all(label == "valid" for label, _ in classes.values()) else 1


def cmd_reap(args) -> int:
    from . import sandbox

    removed = sandbox.reap(dead_only=not args.all)
    print(f"removed {removed} container(s)")
    return 0


def cmd_report(args) -> int:
    from .report_page import ReportError, write

    try:
        path = write(args.run_dir)
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


# ---------------------------------------------------------------- Ray (swe_harness.distributed)


def run_on_ray(jobs: list[tuple], options: EvalOptions, address: str, slots: int,
               title: str) -> list[dict]:
    """``run_evaluations`` on a Ray cluster (a local one gets ``slots`` engine slots)."""
    from rich.progress import Progress

    from .distributed import RayExecutor

    with Progress() as progress, RayExecutor(address, slots=slots) as executor:
        bar = progress.add_task(f"{title} on {len(executor.nodes())} Ray node(s)", total=len(jobs))
        lines = executor.evaluate(jobs, options, rewards.default_manager(),
                                  on_line=lambda line: progress.advance(bar))
    return sorted(lines, key=lambda line: (line["instance_id"], line["patch"]))


def images_on_ray(tasks: list, args, console) -> int:
    """Make the images on every engine node; a table of what each node holds."""
    from rich.table import Table

    from .distributed import RayExecutor

    with RayExecutor(args.ray) as executor:
        with console.status(f"images on {len(executor.nodes())} Ray node(s)"):
            per_node = executor.prepare_images(tasks, args.build)
    table = Table("node", "instance", "image")
    failed = not per_node
    for node, states in per_node.items():
        name = f"{node.address} {node.node_id[:8]}"
        if isinstance(states, Exception):
            failed = True
            table.add_row(name, "-", f"[red]node failed: {str(states).splitlines()[0][:200]}")
            continue
        for iid, state in states.items():
            failed = failed or state.startswith("error")
            table.add_row(name, iid, state if not state.startswith("error") else f"[red]{state}")
    console.print(table)
    console.print(f"{len(per_node)} engine node(s), {len(tasks)} task image(s) each")
    return 1 if failed else 0
