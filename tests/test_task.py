import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from swe_harness.task import Task, load_tasks, task_from_record

from .conftest import write_task_dir

GOLD = ("diff --git a/src/m.py b/src/m.py\n--- a/src/m.py\n+++ b/src/m.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
        "diff --git a/tests/test_m.py b/tests/test_m.py\nnew file mode 100644\n--- /dev/null\n"
        "+++ b/tests/test_m.py\n@@ -0,0 +1 @@\n+assert True")
TEST = ("diff --git a/tests/test_m.py b/tests/test_m.py\nnew file mode 100644\n--- /dev/null\n"
        "+++ b/tests/test_m.py\n@@ -0,0 +1 @@\n+assert True")


def record(**fields):
    base = {"instance_id": "acme-demo-1", "problem_statement": "p", "gold_patch": GOLD,
            "test_patch": TEST, "eval_script": "pytest"}
    base.update(fields)
    return base


def test_task_dir_loads_eval_script_and_build_context(tmp_path):
    task_dir = write_task_dir(tmp_path, "acme-demo-1")
    (task_dir / "Dockerfile").write_text("FROM scratch\n")
    tasks, errors = load_tasks([task_dir])
    assert errors == []
    (task,) = tasks
    assert task.eval_script == "#!/bin/bash\nexit 0\n"
    assert task.build_context == str(task_dir.resolve())
    assert task.gold_patch.endswith("+b\n"), "a patch stored without a final newline is normalised"


def test_directory_of_tasks_is_sorted_and_reports_broken_ones(tmp_path):
    write_task_dir(tmp_path, "zeta-b-2")
    write_task_dir(tmp_path, "alpha-a-1")
    write_task_dir(tmp_path, "broken-c-3", gold_patch=42)
    (tmp_path / "badjson").mkdir()
    (tmp_path / "badjson" / "task.json").write_text("{not json")
    tasks, errors = load_tasks([tmp_path])
    assert [t.instance_id for t in tasks] == ["alpha-a-1", "zeta-b-2"]
    messages = sorted(str(e) for e in errors)
    assert any("badjson/task.json" in m and "invalid JSON" in m for m in messages)
    assert any("broken-c-3" in m and "'gold_patch'" in m and "must be a string" in m for m in messages)


@pytest.mark.parametrize("field,value,message", [
    ("instance_id", "has space", "instance_id"),
    ("gold_patch", "", "missing or empty"),
    ("gold_patch", "just prose", "not a unified diff"),
    ("eval_script", None, "'eval_script'"),
    ("problem_statement", None, "'problem_statement'"),
    ("timeout", -5, "positive number"),
    ("test_files", "tests/x.py", "list of paths"),
    ("network", "yes", "true or false"),
])
def test_invalid_fields_name_the_field(field, value, message):
    with pytest.raises(Exception) as excinfo:
        task_from_record(record(**{field: value}), "somewhere.jsonl:3")
    assert "somewhere.jsonl:3" in str(excinfo.value)
    assert message in str(excinfo.value)


def test_jsonl_keeps_good_lines_and_names_bad_ones(tmp_path):
    path = tmp_path / "tasks.jsonl"
    path.write_text("\n".join([json.dumps(record(instance_id="a-b-1")), "{oops",
                               json.dumps(record(instance_id="a-b-2")),
                               json.dumps(record(instance_id="a-b-1"))]) + "\n")
    tasks, errors = load_tasks([path])
    assert [t.instance_id for t in tasks] == ["a-b-1", "a-b-2"]
    assert len(errors) == 2
    assert f"{path}:2" in str(errors[0]) and "invalid JSON" in str(errors[0])
    assert "duplicate instance_id" in str(errors[1]) and f"{path}:4" in str(errors[1])


def test_json_list_and_parquet_sources(tmp_path):
    json_path = tmp_path / "tasks.json"
    json_path.write_text(json.dumps([record(instance_id="j-j-1")]))
    parquet_path = tmp_path / "tasks.parquet"
    pq.write_table(pa.Table.from_pylist([record(instance_id="p-p-1", timeout=30)]), parquet_path)
    tasks, errors = load_tasks([json_path, parquet_path])
    assert errors == []
    assert {t.instance_id: t.timeout_s for t in tasks} == {"j-j-1": None, "p-p-1": 30.0}


def test_missing_and_unknown_sources(tmp_path):
    (tmp_path / "x.csv").write_text("")
    _, errors = load_tasks([tmp_path / "nope", tmp_path / "x.csv", tmp_path])
    text = " | ".join(map(str, errors))
    assert "no such file" in text and "unknown task source" in text and "no task found" in text


def test_gold_candidate_is_the_fix_without_test_files():
    task = task_from_record(record(), "t")
    assert "src/m.py" in task.gold_candidate
    assert "tests/test_m.py" not in task.gold_candidate
    with_fix = task_from_record(record(fix_patch=GOLD.split("diff --git a/tests")[0]), "t")
    assert with_fix.gold_candidate == with_fix.fix_patch


def test_swebench_record_shape():
    task = task_from_record({"instance_id": "django__django-1", "problem_statement": "p",
                             "patch": GOLD, "test_patch": TEST, "eval_script": "x",
                             "FAIL_TO_PASS": ["t"]}, "sb.jsonl:1")
    assert isinstance(task, Task)
    assert task.workdir == "/testbed"
    assert task.fail_to_pass == ("t",) and task.pass_to_pass == ()
    assert task.image_name == "sweb.eval.x86_64.django__django-1:latest"
