"""Tasks -> ``train.parquet`` + ``validation.parquet`` for GRPO training.

``python -m swe_harness.prepare --tasks DIR_OR_FILE --output-dir OUT`` reads every task source
the loader reads, keeps the valid ids (when given), splits by instance or by repo, and writes
both files atomically (a temporary name, then a rename). Every dropped task is reported with
its reason. The schema is in the README ("Training"); each row is also a task record the loader
reads back, so the training environment finds its tasks from the same files.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from .task import Task, load_tasks

DATA_SOURCE = "swe_harness"
SPLITS = ("train", "validation")


@dataclass
class Prepared:
    train: list[dict]
    validation: list[dict]
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (instance id or source, why)


def schema():
    """The parquet schema (documented in the README); one place, so readers can check it."""
    import pyarrow as pa

    message = pa.struct([("role", pa.string()), ("content", pa.string())])
    return pa.schema([
        ("instance_id", pa.string()), ("data_source", pa.string()), ("split", pa.string()),
        ("prompt", pa.list_(message)), ("problem_statement", pa.string()),
        ("repo", pa.string()), ("base_commit", pa.string()), ("image_name", pa.string()),
        ("workdir", pa.string()), ("eval_script", pa.string()), ("test_patch", pa.string()),
        ("gold_patch", pa.string()), ("fix_patch", pa.string()),
        ("test_files", pa.list_(pa.string())), ("timeout_s", pa.float64()),
        ("network", pa.bool_()), ("build_context", pa.string()),
    ])


def prompt_messages(task: Task, agent_config=None) -> list[dict[str, str]]:
    """The opening chat messages of an episode on ``task`` (what the policy sees first).

    Rendered from the agent config's templates, so a prepared dataset and a live episode show the
    model the same prompt.
    """
    from .train.prompt import opening_messages

    return opening_messages(task, agent_config)


def task_row(task: Task, split: str, agent_config=None, data_source: str = DATA_SOURCE) -> dict:
    return {
        "instance_id": task.instance_id, "data_source": data_source, "split": split,
        "prompt": prompt_messages(task, agent_config),
        "problem_statement": task.problem_statement, "repo": task.repo,
        "base_commit": task.base_commit, "image_name": task.image_name, "workdir": task.workdir,
        "eval_script": task.eval_script, "test_patch": task.test_patch,
        "gold_patch": task.gold_patch, "fix_patch": task.fix_patch,
        "test_files": list(task.test_files), "timeout_s": task.timeout_s,
        "network": task.network, "build_context": task.build_context,
    }


def read_ids(path: str | Path) -> set[str]:
    """One instance id per line; blank lines and ``#`` comments ignored."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")}


def split_tasks(tasks: Sequence[Task], validation_fraction: float, seed: int,
                split_by: str = "instance") -> tuple[list[Task], list[Task]]:
    """Shuffle with ``seed`` and cut ``validation_fraction`` off for validation.

    ``split_by="repo"`` moves whole repos, so no repo is in both splits. With at least two
    units and a positive fraction, each split gets at least one unit.
    """
    if not 0.0 <= validation_fraction < 1.0:
        raise ValueError(f"validation fraction must be in [0, 1), got {validation_fraction}")
    if split_by not in ("instance", "repo"):
        raise ValueError(f"split_by must be 'instance' or 'repo', got {split_by!r}")
    unit = (lambda t: t.repo or t.instance_id) if split_by == "repo" else (lambda t: t.instance_id)
    units = sorted({unit(t) for t in tasks})
    random.Random(seed).shuffle(units)
    n_val = round(len(units) * validation_fraction)
    if validation_fraction > 0 and len(units) >= 2:
        n_val = min(max(n_val, 1), len(units) - 1)
    val_units = set(units[:n_val])
    train = [t for t in tasks if unit(t) not in val_units]
    validation = [t for t in tasks if unit(t) in val_units]
    return train, validation


def prepare(sources: Iterable[str | Path], *, valid_ids: set[str] | None = None,
            validation_fraction: float = 0.1, seed: int = 0, split_by: str = "instance",
            limit: int | None = None, agent_config=None,
            data_source: str = DATA_SOURCE) -> Prepared:
    """Load, filter, limit and split tasks into rows; nothing is written here."""
    tasks, errors = load_tasks(sources)
    dropped = [(e.instance_id or e.source, f"cannot load: {e}") for e in errors]
    if valid_ids is not None:
        dropped += [(t.instance_id, "not in the valid-ids file") for t in tasks
                    if t.instance_id not in valid_ids]
        tasks = [t for t in tasks if t.instance_id in valid_ids]
    if limit is not None and len(tasks) > limit:
        kept = sorted(random.Random(seed).sample(range(len(tasks)), limit))
        dropped += [(t.instance_id, f"over --limit {limit}") for i, t in enumerate(tasks)
                    if i not in set(kept)]
        tasks = [tasks[i] for i in kept]
    train, validation = split_tasks(tasks, validation_fraction, seed, split_by)
    rows = []
    for split, part in (("train", train), ("validation", validation)):
        out = []
        for task in part:
            try:
                out.append(task_row(task, split, agent_config, data_source))
            except Exception as exc:  # a template that cannot render this task drops only it
                dropped.append((task.instance_id, f"cannot build the prompt: {exc}"))
        rows.append(out)
    return Prepared(rows[0], rows[1], dropped)


def write_parquet(rows: list[dict], path: str | Path) -> Path:
    """Write ``rows`` to ``path`` atomically: a temporary file beside it, then a rename."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(rows, schema=schema())
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_rows(path: str | Path) -> list[dict]:
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="python -m swe_harness.prepare",
                                               description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", "--tasks-dir", dest="tasks", action="append", required=True,
                        help="a task source (dir, task dir, .jsonl, .json, .parquet); repeatable")
    parser.add_argument("--output-dir", required=True, help="where train/validation.parquet go")
    parser.add_argument("--valid-ids", help="file of valid instance ids (from validate); only "
                        "these are kept")
    parser.add_argument("--validation-fraction", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split-by", choices=("instance", "repo"), default="instance",
                        help="repo: no repo is in both splits")
    parser.add_argument("--limit", type=int, help="keep at most this many tasks (seeded sample)")
    parser.add_argument("--agent-config", help="agent config YAML for the prompt "
                        "(default: configs/agent/default.yaml)")
    parser.add_argument("--data-source", default=DATA_SOURCE)
    return parser


def run(args: argparse.Namespace) -> int:
    from .train.prompt import load_config

    try:
        valid = read_ids(args.valid_ids) if args.valid_ids else None
        agent_config = load_config(args.agent_config)
        result = prepare(args.tasks, valid_ids=valid, validation_fraction=args.validation_fraction,
                         seed=args.seed, split_by=args.split_by, limit=args.limit,
                         agent_config=agent_config, data_source=args.data_source)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for what, why in result.dropped:
        print(f"dropped {what}: {why}", file=sys.stderr)
    if valid is not None:
        seen = {r["instance_id"] for r in result.train + result.validation} | {
            w for w, _ in result.dropped}
        for iid in sorted(valid - seen):
            print(f"warning: valid id {iid} names no loaded task", file=sys.stderr)
    if not result.train:
        print("error: no training task left", file=sys.stderr)
        return 1
    out = Path(args.output_dir)
    train = write_parquet(result.train, out / "train.parquet")
    val = write_parquet(result.validation, out / "validation.parquet")
    print(f"{len(result.train)} train -> {train}")
    print(f"{len(result.validation)} validation -> {val}")
    print(f"{len(result.dropped)} dropped")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
