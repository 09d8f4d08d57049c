"""The run summary: printed lines and the SWE-bench-shaped summary.json (pure)."""

from swe_harness.summary import run_summary, summary_lines

LINE = {"duration_s": {"total": 1.0}}


def test_summary_counts_errors_as_missing_data_and_names_them_once():
    lines = [{**LINE, "instance_id": "x", "reward": 1.0, "status": "passed"},
             {**LINE, "instance_id": "x", "reward": 0.0, "status": "failed", "cached": True},
             {**LINE, "instance_id": "x", "reward": None, "status": "error",
              "error": "Docker engine unreachable: x"},
             {**LINE, "instance_id": "x", "reward": None, "status": "error",
              "error": "Docker engine unreachable: x"}]
    text = "\n".join(summary_lines(lines))
    assert "resolved: 1/2 scored  errors: 2 (not scored)  cached: 1" in text
    assert "error x2: Docker engine unreachable: x" in text


def test_run_summary_has_swebench_shape_and_counts_missing_predictions_unresolved():
    lines = [{**LINE, "instance_id": "a", "reward": None, "status": "error"},
             {**LINE, "instance_id": "a", "reward": 1.0, "status": "passed"},  # retried: last wins
             {**LINE, "instance_id": "b", "reward": 0.0, "status": "failed"},
             {**LINE, "instance_id": "c", "reward": None, "status": "error"}]
    summary = run_summary(lines, ["a", "b", "c", "d", "e"], submitted=["a", "b", "c", "e", "zz"],
                          empty_patch=["e"], unknown=["zz"], harness_version="9.9")
    assert summary["resolved_ids"] == ["a"]
    assert summary["unresolved_ids"] == ["b", "d"]  # d has no prediction
    assert summary["missing_prediction_ids"] == ["d"]
    assert summary["error_ids"] == ["c"] and summary["error_instances"] == 1
    assert summary["empty_patch_ids"] == ["e"] and summary["unknown_prediction_ids"] == ["zz"]
    assert summary["completed_ids"] == ["a", "b"] and summary["incomplete_ids"] == ["c"]
    assert (summary["total_instances"], summary["submitted_instances"]) == (5, 4)
    assert summary["unresolved_instances"] == 2 and summary["harness_version"] == "9.9"


def test_run_summary_without_predictions_submits_every_task():
    lines = [{**LINE, "instance_id": "a", "reward": 0.0, "status": "timeout"}]
    summary = run_summary(lines, ["a", "b"])
    assert summary["submitted_ids"] == ["a", "b"] and summary["missing_prediction_ids"] == []
    assert summary["unresolved_ids"] == ["a"] and summary["incomplete_ids"] == ["b"]
