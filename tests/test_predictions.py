"""SWE-bench prediction files: good lines load, bad ones are named and lose nothing else."""

import json

from swe_harness.predictions import load_predictions


def test_jsonl_with_bad_lines(tmp_path):
    path = tmp_path / "preds.jsonl"
    path.write_text("\n".join([
        json.dumps({"instance_id": "a-1", "model_patch": "diff"}),
        "{broken",
        json.dumps({"instance_id": "b-2", "model_patch": None}),
        json.dumps({"model_patch": "x"}),
        json.dumps({"instance_id": "c-3", "model_patch": 7}),
        json.dumps({"instance_id": "a-1", "model_patch": "again"}),
        json.dumps(["not", "an", "object"]),
    ]) + "\n")
    predictions, errors = load_predictions(path)
    assert predictions == {"a-1": "diff", "b-2": ""}
    messages = [str(e) for e in errors]
    assert [m.split(": ", 1)[0] for m in messages] == [
        f"{path}:2", f"{path}:4", f"{path}:5 [c-3]", f"{path}:6 [a-1]", f"{path}:7"]
    assert "invalid JSON" in messages[0] and "'instance_id'" in messages[1]
    assert "duplicate" in messages[3]


def test_json_list_and_unreadable_file(tmp_path):
    path = tmp_path / "preds.json"
    path.write_text(json.dumps([{"instance_id": "a-1", "model_patch": "d"}]))
    assert load_predictions(path) == ({"a-1": "d"}, [])
    predictions, errors = load_predictions(tmp_path / "missing.jsonl")
    assert predictions == {} and "cannot read predictions" in str(errors[0])
