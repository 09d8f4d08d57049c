"""``python -m swe_harness.rollout``: the CLI names, the outputs, resuming, re-scoring."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from swe_harness.predictions import load_predictions
from swe_harness.rollout import RolloutError, load_script, pass_at_k, summarize

ROOT = Path(__file__).resolve().parent.parent
SOLVED, UNSOLVED = "brightline-semverlite-7", "fernleaf-unitconv-9"


def test_unbiased_pass_at_k():
    assert pass_at_k(5, 0, 1) == 0.0 and pass_at_k(5, 5, 3) == 1.0
    assert pass_at_k(4, 2, 1) == 0.5
    assert pass_at_k(4, 2, 2) == pytest.approx(1 - 1 / 6)


def test_summary_counts_infra_errors_apart():
    records = [
        {"instance_id": "a", "sample": 0, "ending": "submitted", "reward": 1.0, "steps": 4},
        {"instance_id": "a", "sample": 1, "ending": "step_limit", "reward": 0.0, "steps": 20},
        {"instance_id": "b", "sample": 0, "ending": "infra_error", "reward": None, "steps": 1},
        {"instance_id": "b", "sample": 1, "ending": "submitted", "reward": 0.0, "steps": 3},
    ]
    summary = summarize(records, samples=2)
    assert (summary["scored"], summary["infra_errors"], summary["resolved_rate"]) == (3, 1, 0.3333)
    assert summary["pass@1"] == 0.25  # a: 1/2, b: 0/1
    assert summary["pass@2"] == 1.0  # only a has two scored samples
    assert summary["endings"] == {"submitted": 2, "step_limit": 1, "infra_error": 1}
    assert summary["mean_steps"] == 7.0


def test_a_bad_script_is_named(tmp_path):
    bad = tmp_path / "script.jsonl"
    bad.write_text('{"instance_id": "x", "replies": "ls"}\n')
    with pytest.raises(RolloutError, match=r"script.jsonl:1 \[x\]: field 'replies'"):
        load_script(bad)


def rollout(*args, cwd):
    return subprocess.run([sys.executable, "-m", "swe_harness.rollout", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_rollout_cli_writes_trajectories_preds_and_summary_and_resumes(
        tmp_path, copy_tasks, docker_engine):
    tasks_dir = copy_tasks(SOLVED, UNSOLVED)
    examples = [json.loads(line) for line in (ROOT / "examples" / "scripted_replies.jsonl")
                .read_text().splitlines()]
    solve = next(e for e in examples if e["instance_id"] == SOLVED)
    script = tmp_path / "script.jsonl"
    script.write_text(json.dumps(solve) + "\n" + json.dumps({"instance_id": UNSOLVED, "replies": [
        "```bash\ngrep -rn def . | head\n```",
        "```bash\necho COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT\n```"]}) + "\n")
    out = tmp_path / "out"
    args = [f"tasks={tasks_dir}", f"output_dir={out}", "samples=2", "concurrency=2",
            "model=scripted", f"model.script={script}", "progress=false"]
    first = rollout(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr + first.stdout
    lines = [json.loads(line) for line in (out / "trajectories.jsonl").read_text().splitlines()]
    assert sorted((r["instance_id"], r["sample"], r["reward"]) for r in lines) == [
        (SOLVED, 0, 1.0), (SOLVED, 1, 1.0), (UNSOLVED, 0, 0.0), (UNSOLVED, 1, 0.0)]
    for record in lines:
        assert record["ending"] == "submitted" and record["steps"] == len(record["commands"])
        assert record["messages"][0]["role"] == "system"
        assert record["eval"]["instance_id"] == record["instance_id"]
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["resolved_rate"], summary["pass@1"], summary["pass@2"]) == (0.5, 0.5, 0.5)
    assert summary["endings"] == {"submitted": 4} and summary["infra_errors"] == 0

    preds, errors = load_predictions(out / "preds.jsonl")
    assert not errors and preds[UNSOLVED] == ""
    assert preds[SOLVED] == next(r["patch"] for r in lines if r["instance_id"] == SOLVED)
    report = tmp_path / "report.jsonl"
    rescored = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", f"--swe-tasks={tasks_dir}",
         f"--swe-patch={out / 'preds.jsonl'}", f"--swe-report={report}", "--rootdir", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    rewards = {json.loads(line)["instance_id"]: json.loads(line)["reward"]
               for line in report.read_text().splitlines()}
    assert rewards == {SOLVED: 1.0, UNSOLVED: 0.0}, rescored.stdout

    again = rollout(*args, cwd=tmp_path)
    assert again.returncode == 0 and "0 episodes to run, 4 already done" in again.stdout
    assert len((out / "trajectories.jsonl").read_text().splitlines()) == 4


def test_rollout_cli_names_a_missing_script(tmp_path, copy_tasks):
    result = rollout(f"tasks={copy_tasks(SOLVED)}", f"output_dir={tmp_path / 'o'}", "model=scripted",
                     f"model.script={tmp_path / 'nope.jsonl'}", cwd=tmp_path)
    assert result.returncode == 2 and "nope.jsonl: cannot read the script" in result.stderr


def test_sigterm_mid_run_leaves_no_container(tmp_path, copy_tasks, docker_engine):
    import os
    import signal
    import time
    import uuid

    script = tmp_path / "script.jsonl"
    script.write_text(json.dumps({"instance_id": SOLVED, "replies": ["```bash\nsleep 60\n```"]}) + "\n")
    run = f"sigterm-{uuid.uuid4().hex[:8]}"
    child = subprocess.Popen(
        [sys.executable, "-m", "swe_harness.rollout", f"tasks={copy_tasks(SOLVED)}",
         f"output_dir={tmp_path / 'out'}", "samples=2", "concurrency=2", "model=scripted",
         f"model.script={script}", "progress=false"],
        cwd=tmp_path, env={**os.environ, "SWE_HARNESS_RUN_ID": run},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    labels = {"label": f"swe_harness.run_id={run}"}
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # both episodes are running their `sleep 60`
            procs = [c for c in docker_engine.containers.list(filters=labels)
                     if "sleep 60" in repr(c.top(ps_args="-eo pid,args"))]
            if len(procs) >= 2:
                break
            time.sleep(0.2)
        assert len(procs) == 2, "the episodes never got to their command"
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=30)
    finally:
        child.kill()
    assert child.returncode != 0
    assert docker_engine.containers.list(all=True, filters=labels) == []
    assert not (tmp_path / "out" / "trajectories.jsonl").exists()  # no infra-error "results"
