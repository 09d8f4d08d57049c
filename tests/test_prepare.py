"""prepare: tasks -> train/validation parquet, read back by pyarrow and by the task loader."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from swe_harness import cli, load_tasks, prepare
from swe_harness.train.prompt import load_config, opening_messages

from .conftest import TASKS_DIR, write_task_dir


def test_round_trip_schema_prompt_and_loader(tmp_path, bundled_tasks, capsys):
    out = tmp_path / "out"
    assert prepare.main(["--tasks", str(TASKS_DIR), "--output-dir", str(out),
                         "--validation-fraction", "0.34", "--seed", "3"]) == 0
    train, val = pq.read_table(out / "train.parquet"), pq.read_table(out / "validation.parquet")
    assert train.schema.equals(prepare.schema()) and val.schema.equals(prepare.schema())
    rows = train.to_pylist() + val.to_pylist()
    assert sorted(r["instance_id"] for r in rows) == sorted(bundled_tasks)
    assert {r["split"] for r in train.to_pylist()} == {"train"} and val.num_rows == 2
    config = load_config()
    for row in rows:
        task = bundled_tasks[row["instance_id"]]
        assert row["prompt"] == opening_messages(task, config)
        assert task.problem_statement in row["prompt"][1]["content"]
        assert row["data_source"] == "swe_harness"
        assert (row["eval_script"], row["test_patch"], row["gold_patch"], row["image_name"],
                row["workdir"]) == (task.eval_script, task.test_patch, task.gold_patch,
                                    task.image_name, task.workdir)
    # every row is a task record the loader reads back, so the env finds tasks in the same files
    loaded, errors = load_tasks([out / "train.parquet", out / "validation.parquet"])
    assert not errors
    for task in loaded:
        original = bundled_tasks[task.instance_id]
        assert (task.gold_candidate, task.test_files, task.eval_script) == (
            original.gold_candidate, original.test_files, original.eval_script)
    assert "4 train" in capsys.readouterr().out


def test_split_by_repo_never_shares_a_repo(tmp_path):
    root = tmp_path / "tasks"
    for i in range(12):
        write_task_dir(root, f"t-{i}", repo=f"org/repo{i % 4}")
    tasks, _ = load_tasks([root])
    for seed in range(5):
        train, val = prepare.split_tasks(tasks, 0.3, seed, "repo")
        assert {t.repo for t in train}.isdisjoint({t.repo for t in val})
        assert len(train) + len(val) == 12 and val
    assert prepare.split_tasks(tasks, 0.3, 7, "repo") == prepare.split_tasks(tasks, 0.3, 7, "repo")
    # by instance, the same repo lands in both splits for some seed
    assert any({t.repo for t in a} & {t.repo for t in b}
               for a, b in (prepare.split_tasks(tasks, 0.3, s) for s in range(5)))


def test_valid_ids_limit_and_broken_tasks_are_reported(tmp_path, capsys):
    root = tmp_path / "tasks"
    for i in range(5):
        write_task_dir(root, f"ok-{i}")
    write_task_dir(root, "broken", eval_script=None)
    (root / "broken" / "eval_script.sh").unlink()
    ids = tmp_path / "valid.txt"
    ids.write_text("# validated\nok-0\nok-1\nok-2\nok-3\nghost\n\n")
    out = tmp_path / "out"
    code = cli.main(["prepare", "--tasks-dir", str(root), "--output-dir", str(out),
                     "--valid-ids", str(ids), "--limit", "3", "--validation-fraction", "0"])
    assert code == 0
    err = capsys.readouterr().err
    assert "dropped broken: cannot load" in err and "eval_script" in err
    assert "dropped ok-4: not in the valid-ids file" in err
    assert err.count("over --limit 3") == 1
    assert "valid id ghost names no loaded task" in err
    kept = [r["instance_id"] for r in prepare.read_rows(out / "train.parquet")]
    assert len(kept) == 3 and set(kept) <= {"ok-0", "ok-1", "ok-2", "ok-3"}
    assert prepare.read_rows(out / "validation.parquet") == []


def test_write_is_atomic(tmp_path):
    path = tmp_path / "train.parquet"
    good = [{"instance_id": "a", "prompt": [{"role": "user", "content": "x"}]}]
    prepare.write_parquet(good, path)
    before = path.read_bytes()
    bad = [{"instance_id": "b", "prompt": "not a list of messages"}]
    with pytest.raises(Exception):
        prepare.write_parquet(bad, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["train.parquet"]


def test_bad_arguments_name_the_problem(tmp_path, capsys):
    assert prepare.main(["--tasks", str(TASKS_DIR), "--output-dir", str(tmp_path),
                         "--valid-ids", str(tmp_path / "missing.txt")]) == 2
    assert "missing.txt" in capsys.readouterr().err
    assert prepare.main(["--tasks", str(TASKS_DIR), "--output-dir", str(tmp_path),
                         "--validation-fraction", "1.5"]) == 2
    assert "validation fraction" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.parquet"))


def test_jsonl_source(tmp_path, bundled_tasks):
    source = tmp_path / "tasks.jsonl"
    task = bundled_tasks["fernleaf-unitconv-9"]
    record = {"instance_id": "x-1", "repo": task.repo, "problem_statement": "p",
              "gold_patch": task.gold_patch, "eval_script": task.eval_script}
    source.write_text(json.dumps(record) + "\n")
    result = prepare.prepare([source], validation_fraction=0.0)
    assert [r["instance_id"] for r in result.train] == ["x-1"] and not result.dropped
