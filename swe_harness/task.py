"""Task instances: one frozen dataclass, loaded from every source format with errors that name
the file, the instance and the field.

Sources: a directory of task dirs (``*/task.json`` + ``eval_script.sh`` + ``Dockerfile``, the
swe-task-generator layout), one task dir, ``.jsonl``, ``.json`` (an object or a list), ``.parquet``
or a dataset saved with ``datasets``. SWE-bench records (``patch``, ``FAIL_TO_PASS``, ``/testbed``)
load too; see swebench_format.py.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from . import patch as patchlib
from . import swebench_format as sbf

DEFAULT_TIMEOUT_S = 1800.0
INSTANCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class TaskError(Exception):
    """A task that cannot be loaded; names where it came from and what is wrong."""

    def __init__(self, source: str, message: str, instance_id: str | None = None,
                 field_name: str | None = None):
        self.source = source
        self.instance_id = instance_id
        self.field_name = field_name
        self.message = message
        where = source + (f" [{instance_id}]" if instance_id else "")
        what = f"field {field_name!r}: " if field_name else ""
        super().__init__(f"{where}: {what}{message}")


@dataclass(frozen=True)
class Task:
    instance_id: str
    repo: str
    base_commit: str
    problem_statement: str
    gold_patch: str
    test_patch: str
    eval_script: str
    image_name: str
    fix_patch: str = ""
    test_files: tuple[str, ...] = ()
    workdir: str = "/workspace"
    timeout_s: float | None = None
    network: bool = False
    build_context: str | None = None  # directory holding the task's Dockerfile
    fail_to_pass: tuple[str, ...] = ()  # tests that must pass with the fix and fail without
    pass_to_pass: tuple[str, ...] = ()  # tests that must pass both ways
    source: str = ""
    # how to read per-test outcomes from the eval log (see logs.py): a parser name such as
    # "parse_log_pytest", or "" for the repo's default
    log_parser: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def gold_candidate(self) -> str:
        """The gold fix as a candidate patch: the fix without the test files.

        ``gold_patch`` is the whole PR (fix + tests); the harness applies ``test_patch`` itself,
        so the candidate is ``fix_patch`` or, lacking it, ``gold_patch`` minus the test files.
        """
        if self.fix_patch:
            return self.fix_patch
        return patchlib.drop_files(self.gold_patch, patchlib.touched_paths(self.test_patch))

    @property
    def test_only_candidate(self) -> str:
        """``test_patch`` submitted as if it were the fix: must never pass."""
        return self.test_patch


def load_tasks(sources: Iterable[str | Path], image_template: str | None = None
               ) -> tuple[list[Task], list[TaskError]]:
    """Load every task from every source; broken ones come back as errors, never raised.

    ``image_template`` names the images of SWE-bench records without ``image_name`` (default:
    ``$SWE_HARNESS_IMAGE_TEMPLATE``, else SWE-bench's ``sweb.eval.x86_64.{instance_id}:latest``).

    Tasks are sorted by instance id so every xdist worker collects the same items in the same
    order. A duplicate id is an error naming both places; the first one is kept.
    """
    tasks: dict[str, Task] = {}
    errors: list[TaskError] = []
    for source in sources:
        for item in _load_source(Path(source), image_template):
            if isinstance(item, TaskError):
                errors.append(item)
            elif item.instance_id in tasks:
                first = tasks[item.instance_id].source
                errors.append(TaskError(item.source, f"duplicate instance_id, first seen in {first}",
                                        item.instance_id, "instance_id"))
            else:
                tasks[item.instance_id] = item
    return [tasks[k] for k in sorted(tasks)], errors


def _load_source(path: Path, template: str | None = None) -> Iterator[Task | TaskError]:
    if not path.exists():
        yield TaskError(str(path), "no such file or directory")
    elif path.is_dir() and (path / "task.json").is_file():
        yield _guard(str(path / "task.json"), lambda: task_from_dir(path, template))
    elif path.is_dir() and sbf.is_saved_dataset(path):
        yield from _records(path, sbf.saved_dataset_records(path), template)
    elif path.is_dir():
        task_dirs = sorted(p.parent for p in path.glob("*/task.json"))
        if not task_dirs:
            yield TaskError(str(path), "no task found (expected */task.json)")
        for task_dir in task_dirs:
            yield _guard(str(task_dir / "task.json"),
                         lambda d=task_dir: task_from_dir(d, template))
    elif path.suffix == ".jsonl":
        yield from _records(path, _jsonl_records(path), template)
    elif path.suffix == ".json":
        yield from _records(path, _json_records(path), template)
    elif path.suffix == ".parquet":
        yield from _records(path, _parquet_records(path), template)
    else:
        yield TaskError(str(path), "unknown task source (a directory, a dataset saved with "
                                   "`datasets`, .jsonl, .json or .parquet)")


def _guard(source: str, make) -> Task | TaskError:
    try:
        return make()
    except TaskError as exc:
        return exc
    except (OSError, ValueError) as exc:
        return TaskError(source, str(exc))


def _records(path: Path, records: Iterator[tuple[str, Any]],
             template: str | None = None) -> Iterator[Task | TaskError]:
    try:
        for where, record in records:
            yield _guard(where, lambda r=record, w=where: task_from_record(
                r, w, image_template=template))
    except (OSError, ValueError, KeyError) as exc:
        yield TaskError(str(path), f"cannot read: {exc}")


def _jsonl_records(path: Path) -> Iterator[tuple[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                yield where, json.loads(line)
            except json.JSONDecodeError as exc:
                yield where, TaskError(where, f"invalid JSON: {exc.msg}")


def _json_records(path: Path) -> Iterator[tuple[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    items = data if isinstance(data, list) else [data]
    for index, record in enumerate(items):
        yield (f"{path}[{index}]" if isinstance(data, list) else str(path)), record


def _parquet_records(path: Path) -> Iterator[tuple[str, Any]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises its own error family
        raise ValueError(str(exc)) from exc
    for index, record in enumerate(table.to_pylist()):
        yield f"{path}[row {index}]", record


def task_from_dir(task_dir: Path, image_template: str | None = None) -> Task:
    """A swe-task-generator task dir: ``task.json`` + ``eval_script.sh`` (+ ``Dockerfile``)."""
    task_json = task_dir / "task.json"
    try:
        record = json.loads(task_json.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise TaskError(str(task_json), f"invalid JSON: {exc.msg} (line {exc.lineno})") from exc
    if not isinstance(record, dict):
        raise TaskError(str(task_json), "must hold a JSON object")
    record = dict(record)
    script = task_dir / "eval_script.sh"
    if script.is_file():
        record["eval_script"] = script.read_text(encoding="utf-8")
    build_context = str(task_dir.resolve()) if (task_dir / "Dockerfile").is_file() else None
    return task_from_record(record, str(task_json), build_context=build_context,
                            image_template=image_template)


def task_from_record(record: Any, source: str, build_context: str | None = None,
                     image_template: str | None = None) -> Task:
    """Validate one record (swe-task-generator or SWE-bench shape) into a Task.

    SWE-bench records (``patch``, no ``gold_patch``) may lack ``eval_script`` (made with the
    ``swebench`` package when installed) and ``image_name`` (made from ``image_template``)."""
    if isinstance(record, TaskError):
        raise record
    if not isinstance(record, dict):
        raise TaskError(source, f"a task must be a JSON object, got {type(record).__name__}")
    iid = record.get("instance_id")
    if not isinstance(iid, str) or not INSTANCE_ID.match(iid):
        raise TaskError(source, "missing or not a valid id ([A-Za-z0-9._-], no spaces)",
                        iid if isinstance(iid, str) else None, "instance_id")

    def text(name: str, *, required: bool = False, default: str = "") -> str:
        value = record.get(name)
        if value is None or value == "":
            if required:
                raise TaskError(source, "missing or empty", iid, name)
            return default
        if not isinstance(value, str):
            raise TaskError(source, f"must be a string, got {type(value).__name__}", iid, name)
        return value

    swebench = sbf.is_swebench_record(record)
    gold = text("patch" if swebench else "gold_patch", required=True)
    test_patch = text("test_patch")
    fix_patch = text("fix_patch")
    for name, value in (("gold_patch", gold), ("test_patch", test_patch), ("fix_patch", fix_patch)):
        if value and not patchlib.looks_like_diff(value):
            raise TaskError(source, "is not a unified diff", iid, name)
    eval_script = text("eval_script", required=not swebench)
    if swebench and not eval_script:
        try:
            eval_script = sbf.generated_eval_script(record)
        except ValueError as exc:
            raise TaskError(source, str(exc), iid, "eval_script") from None
    image = text("image_name") or text("image")
    if not image and swebench:
        try:
            image = sbf.image_name(iid, image_template)
        except ValueError as exc:
            raise TaskError(source, str(exc), iid, "image_name") from None
    if not eval_script.strip():
        raise TaskError(source, "is blank", iid, "eval_script")
    timeout = record.get("timeout", record.get("timeout_s"))
    if timeout is not None and (not isinstance(timeout, (int, float)) or timeout <= 0):
        raise TaskError(source, "must be a positive number of seconds", iid, "timeout")
    test_files = record.get("test_files") or ()
    if not isinstance(test_files, (list, tuple)) or not all(isinstance(f, str) for f in test_files):
        raise TaskError(source, "must be a list of paths", iid, "test_files")
    network = record.get("network", False)
    if not isinstance(network, bool):
        raise TaskError(source, "must be true or false", iid, "network")
    lists = {name: _test_list(record, name, source, iid) for name in ("FAIL_TO_PASS", "PASS_TO_PASS")}
    known = {"build_context", "FAIL_TO_PASS", "PASS_TO_PASS", "fail_to_pass", "pass_to_pass", "instance_id", "repo", "base_commit", "problem_statement", "gold_patch", "patch",
             "test_patch", "fix_patch", "eval_script", "image_name", "image", "test_files",
             "workdir", "timeout", "timeout_s", "network", "log_parser", *sbf.SWEBENCH_FIELDS}
    return Task(
        instance_id=iid,
        repo=text("repo"),
        base_commit=text("base_commit"),
        problem_statement=text("problem_statement", required=True),
        gold_patch=patchlib.normalize(gold),
        test_patch=patchlib.normalize(test_patch),
        fix_patch=patchlib.normalize(fix_patch),
        eval_script=eval_script,
        image_name=image or f"swe-harness/swe-task-{iid.lower()}:latest",
        test_files=tuple(test_files),
        workdir=text("workdir", default="/testbed" if swebench else "/workspace"),
        timeout_s=float(timeout) if timeout is not None else None,
        network=network,
        build_context=build_context or _build_context(record, source, iid),
        fail_to_pass=lists["FAIL_TO_PASS"],
        pass_to_pass=lists["PASS_TO_PASS"],
        source=source,
        log_parser=text("log_parser"),
        extra={k: v for k, v in record.items() if k not in known},
    )


def _test_list(record: dict, name: str, source: str, iid: str) -> tuple[str, ...]:
    """``FAIL_TO_PASS``/``PASS_TO_PASS`` (or lower case): a list of test ids, or its JSON text."""
    value = record.get(name, record.get(name.lower()))
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise TaskError(source, f"not a JSON list: {exc.msg}", iid, name) from exc
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise TaskError(source, "must be a list of test ids", iid, name)
    return tuple(value)


def _build_context(record: dict, source: str, iid: str) -> str | None:
    """A record's own ``build_context``: the task dir whose Dockerfile builds its image."""
    value = record.get("build_context")
    if value is None:
        return None
    if not isinstance(value, str) or not (Path(value) / "Dockerfile").is_file():
        raise TaskError(source, "must name a directory holding a Dockerfile", iid, "build_context")
    return value
