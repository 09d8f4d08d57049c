"""SWE-bench-format records from every source the loader reads, including a dataset saved with
``datasets`` (written here with pyarrow exactly as ``save_to_disk`` lays it out)."""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from swe_harness import swebench_format as sbf
from swe_harness.task import load_tasks

from .conftest import ROOT

INSTANCE_DIR = ROOT / "tasks" / "swebench" / "pinecone__slugkit-12"


def instance_record(**overrides) -> dict:
    record = json.loads((INSTANCE_DIR / "task.json").read_text())
    record["eval_script"] = (INSTANCE_DIR / "eval_script.sh").read_text()
    record.update(overrides)
    return record


def save_to_disk(path: Path, records: list[dict]) -> Path:
    """What ``datasets.Dataset.save_to_disk`` writes: arrow IPC stream + state + info."""
    path.mkdir(parents=True)
    table = pa.Table.from_pylist(records)
    with pa.OSFile(str(path / "data-00000-of-00001.arrow"), "wb") as sink:
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
    features = {name: {"dtype": "string", "_type": "Value"} for name in table.column_names}
    (path / "dataset_info.json").write_text(json.dumps(
        {"citation": "", "description": "", "features": features, "homepage": "", "license": ""}))
    (path / "state.json").write_text(json.dumps(
        {"_data_files": [{"filename": "data-00000-of-00001.arrow"}], "_fingerprint": "0" * 16,
         "_format_columns": None, "_format_kwargs": {}, "_format_type": None,
         "_output_all_columns": False, "_split": "test"}))
    return path


def as_jsonl(tmp_path, records):
    path = tmp_path / "instances.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def as_json(tmp_path, records):
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(records))
    return path


def as_parquet(tmp_path, records):
    path = tmp_path / "instances.parquet"
    pq.write_table(pa.Table.from_pylist(records), path)
    return path


def as_dataset(tmp_path, records):
    return save_to_disk(tmp_path / "ds", records)


def as_dataset_dict(tmp_path, records):
    root = tmp_path / "dsdict"
    save_to_disk(root / "test", records[:1])
    save_to_disk(root / "dev", records[1:])
    (root / "dataset_dict.json").write_text(json.dumps({"splits": ["test", "dev"]}))
    return root


@pytest.mark.parametrize("write", [as_jsonl, as_json, as_parquet, as_dataset, as_dataset_dict])
def test_every_source_gives_the_same_swebench_task(tmp_path, write):
    records = [instance_record(), instance_record(instance_id="pinecone__slugkit-13")]
    tasks, errors = load_tasks([write(tmp_path, records)])
    assert not errors
    assert [t.instance_id for t in tasks] == ["pinecone__slugkit-12", "pinecone__slugkit-13"]
    task = tasks[0]
    assert task.fail_to_pass == ("tests/test_slug.py::test_runs_of_separators_collapse",)
    assert len(task.pass_to_pass) == 3 and task.workdir == "/testbed"
    assert task.image_name == "sweb.eval.x86_64.pinecone__slugkit-12:latest"
    assert task.gold_candidate.startswith("diff --git a/slugkit/slug.py")
    assert task.eval_script.rstrip().endswith("tests/test_slug.py")  # the trailing checkout
    assert task.extra["version"] == "1.2"


def test_lists_as_lists_and_an_explicit_image_name(tmp_path):
    record = instance_record(FAIL_TO_PASS=["a::b"], PASS_TO_PASS=[], image_name="mine/x:1",
                             log_parser="parse_log_pytest")
    tasks, errors = load_tasks([as_jsonl(tmp_path, [record])])
    assert not errors
    assert (tasks[0].fail_to_pass, tasks[0].pass_to_pass) == (("a::b",), ())
    assert tasks[0].image_name == "mine/x:1" and tasks[0].log_parser == "parse_log_pytest"


def test_image_template_from_argument_and_environment(tmp_path, monkeypatch):
    path = as_jsonl(tmp_path, [instance_record(instance_id="Django__django-11099")])
    hub = "swebench/sweb.eval.x86_64.{id_1776}:latest"
    tasks, _ = load_tasks([path], image_template=hub)
    assert tasks[0].image_name == "swebench/sweb.eval.x86_64.django_1776_django-11099:latest"
    monkeypatch.setenv(sbf.IMAGE_TEMPLATE_ENV, "local/{instance_id}:v1")
    tasks, _ = load_tasks([path])
    assert tasks[0].image_name == "local/django__django-11099:v1"
    _, errors = load_tasks([path], image_template="x/{nope}")
    assert "image template" in str(errors[0]) and "Django__django-11099" in str(errors[0])


def test_bad_test_lists_name_the_instance_and_field(tmp_path):
    path = as_jsonl(tmp_path, [instance_record(FAIL_TO_PASS="[not json"),
                               instance_record(instance_id="b__c-1", PASS_TO_PASS=[1, 2])])
    tasks, errors = load_tasks([path])
    assert not tasks
    text = [str(e) for e in errors]
    assert "instances.jsonl:1 [pinecone__slugkit-12]: field 'FAIL_TO_PASS'" in text[0]
    assert "instances.jsonl:2 [b__c-1]: field 'PASS_TO_PASS'" in text[1]


def test_missing_eval_script_without_swebench_is_a_clear_error(tmp_path):
    try:
        import swebench  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("swebench is installed here; this checks the error without it")
    record = instance_record()
    del record["eval_script"]
    _, errors = load_tasks([as_jsonl(tmp_path, [record])])
    assert len(errors) == 1
    message = str(errors[0])
    assert "[pinecone__slugkit-12]: field 'eval_script'" in message and "swebench" in message


def test_a_generator_record_keeps_its_default_image_and_loads_validated_lists(tmp_path):
    from .conftest import write_task_dir

    write_task_dir(tmp_path / "t", "demo-1", FAIL_TO_PASS=["t::x"], PASS_TO_PASS='["t::y"]')
    tasks, errors = load_tasks([tmp_path / "t"])
    assert not errors
    assert tasks[0].image_name == "swe-harness/test-demo-1:latest"
    assert (tasks[0].fail_to_pass, tasks[0].pass_to_pass) == (("t::x",), ("t::y",))


# ---------------------------------------------------------------- the instance, on the engine


@pytest.fixture(scope="module")
def slugkit(docker_engine):
    from swe_harness import sandbox

    tasks, errors = load_tasks([INSTANCE_DIR])
    assert not errors
    sandbox.ensure_image(tasks[0], "missing")  # built locally from its Dockerfile
    return tasks[0]


def run(task, kind):
    from swe_harness.evaluate import EvalOptions, candidate_for, evaluate
    from swe_harness.rewards import default_manager, reward_for

    result = evaluate(task, candidate_for(task, kind), kind, EvalOptions())
    return result, reward_for(task, result, default_manager())


@pytest.fixture(scope="module")
def slugkit_gold(slugkit):
    return run(slugkit, "gold")


@pytest.mark.docker
def test_swebench_instance_gold_resolves_its_lists(slugkit, slugkit_gold):
    from swe_harness.logs import grade_from_log, lists_report

    result, _ = slugkit_gold
    report = lists_report(slugkit, grade_from_log(slugkit, result.log_tail))
    assert report["resolved"], (report, result.log_tail[-2000:])


@pytest.mark.docker
def test_swebench_instance_gold_earns_one(slugkit_gold):
    result, reward = slugkit_gold
    assert reward == 1.0, (result.status, result.detail)


@pytest.mark.docker
def test_swebench_instance_empty_scores_zero_from_a_jsonl_record(slugkit, tmp_path):
    from swe_harness.logs import grade_from_log, lists_report

    (task,), errors = load_tasks([as_jsonl(tmp_path, [instance_record()])])
    assert not errors and task.build_context is None  # the image built above, by its name
    result, reward = run(task, "empty")
    assert reward == 0.0, result.log_tail[-2000:]
    report = lists_report(task, grade_from_log(task, result.log_tail))
    assert report["FAIL_TO_PASS"]["failure"] == list(task.fail_to_pass)
    assert report["PASS_TO_PASS"]["failure"] == []
