"""``python -m swe_harness``: the same evaluation path as the plugin, from a shell."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.docker


def cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "swe_harness", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_eval_gold_and_empty_with_report(docker_engine, bundled_tasks, copy_tasks, tmp_path):
    ids = sorted(bundled_tasks)[:2]
    root = copy_tasks(*ids)
    gold = cli("eval", str(root), "--report", "gold.jsonl", cwd=tmp_path)
    assert gold.returncode == 0, gold.stdout + gold.stderr
    assert "resolved: 2/2 scored" in gold.stdout
    lines = [json.loads(l) for l in (tmp_path / "gold.jsonl").read_text().splitlines()]
    assert [(l["instance_id"], l["reward"]) for l in lines] == [(i, 1.0) for i in ids]
    empty = cli("eval", str(root), "--patch", "empty", "-j", "1", cwd=tmp_path)
    assert empty.returncode == 0 and "resolved: 0/2 scored" in empty.stdout


def test_validate_writes_valid_ids(docker_engine, bundled_tasks, copy_tasks, tmp_path):
    ids = sorted(bundled_tasks)[:2]
    run = cli("validate", str(copy_tasks(*ids)), "--repeat", "1", "--valid-ids", "valid.txt",
              cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert (tmp_path / "valid.txt").read_text().split() == ids


def test_images_list_reports_unique_sizes(docker_engine, bundled_tasks, tmp_path):
    from .conftest import TASKS_DIR

    run = cli("images", str(TASKS_DIR), "--list", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{len(bundled_tasks)} task images" in run.stdout and "shared layers" in run.stdout


def test_reap_removes_containers_of_dead_owners_only(docker_engine, bundled_tasks, tmp_path):
    import uuid

    from swe_harness import sandbox

    image = bundled_tasks["brightline-semverlite-7"].image_name
    run = f"cli-reap-{uuid.uuid4().hex[:6]}"
    dead_pid = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True).stdout.strip()
    common = {sandbox.LABEL: "1", sandbox.LABEL_RUN: run}
    dead = docker_engine.containers.create(image, "true", labels={
        **common, sandbox.LABEL_OWNER: f"{sandbox.socket.gethostname()}:{dead_pid}"})
    alive = docker_engine.containers.create(image, "true", labels={
        **common, sandbox.LABEL_OWNER: sandbox.owner()})
    try:
        reaped = cli("reap", cwd=tmp_path)
        assert reaped.returncode == 0, reaped.stderr
        left = {c.id for c in docker_engine.containers.list(
            all=True, filters={"label": f"{sandbox.LABEL_RUN}={run}"}, ignore_removed=True)}
        assert left == {alive.id}
        count = int(reaped.stdout.split("removed ")[1].split()[0])
        # under xdist another worker's reaper (every session reaps dead owners at its start) may
        # remove the dead owner's container first; alone, this command must have removed it
        assert count >= 1 or "PYTEST_XDIST_WORKER" in os.environ
    finally:
        for container in (dead, alive):
            try:
                container.remove(force=True)
            except Exception:
                pass


README_PATCH = ("diff --git a/README.md b/README.md\n--- a/README.md\n+++ b/README.md\n"
                "@@ -1 +1,2 @@\n-{first}\n+{first}\n+(not a fix)\n")


def not_a_fix(task_dir) -> str:
    first = (task_dir / "repo" / "README.md").read_text().splitlines()[0]
    return README_PATCH.format(first=first)


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_predictions_run_dir_summary_logs_and_resume(docker_engine, bundled_tasks, copy_tasks,
                                                     tmp_path):
    ids = ["acme-invoicekit-41", "brightline-semverlite-7", "fernleaf-unitconv-9",
           "lumen-globmatch-15"]
    root = copy_tasks(*ids)
    fix = bundled_tasks["brightline-semverlite-7"].gold_candidate
    preds = [{"instance_id": "brightline-semverlite-7", "model_patch": fix},
             {"instance_id": "fernleaf-unitconv-9",
              "model_patch": not_a_fix(root / "fernleaf-unitconv-9")},
             {"instance_id": "lumen-globmatch-15", "model_patch": ""}]  # acme: no prediction
    first = cli("eval", str(root), "--patch", str(write_jsonl(
        tmp_path / "p1.jsonl", preds + [{"instance_id": "ghost-1", "model_patch": fix}])),
        "--run-dir", "run", cwd=tmp_path)
    assert first.returncode == 3, first.stdout + first.stderr  # an unknown prediction id
    assert "ghost-1" in first.stdout
    run = tmp_path / "run"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["resolved_ids"] == ["brightline-semverlite-7"]
    assert summary["unresolved_ids"] == ["acme-invoicekit-41", "fernleaf-unitconv-9"]
    assert summary["missing_prediction_ids"] == ["acme-invoicekit-41"]
    assert summary["empty_patch_ids"] == ["lumen-globmatch-15"]
    assert summary["unknown_prediction_ids"] == ["ghost-1"] and summary["error_ids"] == []
    lines = [json.loads(l) for l in (run / "report.jsonl").read_text().splitlines()]
    assert sorted(l["instance_id"] for l in lines) == ["brightline-semverlite-7",
                                                        "fernleaf-unitconv-9"]
    line = next(l for l in lines if l["instance_id"] == "brightline-semverlite-7")
    assert line["image_id"].startswith("sha256:") and line["harness_version"]
    assert line["test_counts"]["passed"] >= 1 and "failed" not in line["test_counts"]
    logs = run / "logs" / "brightline-semverlite-7"
    assert (logs / "patch.diff").read_text() == fix
    assert "passed" in (logs / "eval.log").read_text()
    assert json.loads((logs / "report.json").read_text())["patch_sha256"] == line["patch_sha256"]

    # resumed without the unknown id: nothing is evaluated again, and the run completes with 0
    # whatever the patches scored
    second = cli("eval", str(root), "--patch", str(write_jsonl(tmp_path / "p2.jsonl", preds)),
                 "--run-dir", "run", "--resume", cwd=tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "2 instance(s) already have a final status" in " ".join(second.stdout.split())
    assert len((run / "report.jsonl").read_text().splitlines()) == 2
    assert json.loads((run / "summary.json").read_text())["unknown_prediction_ids"] == []
    # the same dir with another patch source is refused
    other = cli("eval", str(root), "--patch", "gold", "--run-dir", "run", "--resume", cwd=tmp_path)
    assert other.returncode == 2 and "was run with --patch" in other.stdout


def test_gold_check_exit_codes_instance_ids_and_error_retries(docker_engine, copy_tasks,
                                                              tmp_path):
    from .conftest import write_task_dir

    root = copy_tasks("brightline-semverlite-7", "fernleaf-unitconv-9")
    (tmp_path / "ids.txt").write_text("brightline-semverlite-7  # the one to check\n")
    ok = cli("eval", str(root), "--instance-ids", "ids.txt", "--run-dir", "ok", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert json.loads((tmp_path / "ok" / "summary.json").read_text())["submitted_ids"] == [
        "brightline-semverlite-7"]

    task_json = root / "fernleaf-unitconv-9" / "task.json"
    record = json.loads(task_json.read_text())
    record["fix_patch"] = not_a_fix(root / "fernleaf-unitconv-9")
    task_json.write_text(json.dumps(record))
    broken = cli("eval", str(root), "--instance-ids", "fernleaf-unitconv-9", cwd=tmp_path)
    assert broken.returncode == 1, broken.stdout + broken.stderr  # a gold that fails

    unknown = cli("eval", str(root), "--instance-ids", "nope-1", cwd=tmp_path)
    assert unknown.returncode == 3 and "nope-1" in unknown.stdout

    # an image that is not there under --build never: `error`, retried once, then exit 4
    write_task_dir(tmp_path / "missing", "gone-1", image_name="swe-harness/test-gone-1:none")
    err = cli("eval", str(tmp_path / "missing"), "--build", "never", "--retry-errors", "1",
              "--run-dir", "err", cwd=tmp_path)
    assert err.returncode == 4, err.stdout + err.stderr
    lines = (tmp_path / "err" / "report.jsonl").read_text().splitlines()
    assert [json.loads(l)["status"] for l in lines] == ["error", "error"]
    assert json.loads((tmp_path / "err" / "summary.json").read_text())["error_ids"] == ["gone-1"]


def test_ctrl_c_cancels_queued_work_and_leaves_no_container(docker_engine, copy_tasks, tmp_path):
    root = copy_tasks("stormcloud-retrykit-58")
    for n in (1, 2):  # two more instances of the ~5 s eval, queued behind the first (-j 1)
        dest = root / f"stormcloud-retrykit-58{n}"
        shutil.copytree(root / "stormcloud-retrykit-58", dest)  # same context: same image
        record = json.loads((dest / "task.json").read_text())
        record["instance_id"] = dest.name
        (dest / "task.json").write_text(json.dumps(record))
    proc = subprocess.Popen([sys.executable, "-m", "swe_harness", "eval", str(root), "-j", "1",
                             "--run-dir", "run"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    owner = {"label": f"swe_harness.owner={socket.gethostname()}:{proc.pid}"}
    try:
        for _ in range(600):  # until its first container runs
            if docker_engine.containers.list(filters=owner) or proc.poll() is not None:
                break
            time.sleep(0.1)
        assert proc.poll() is None, proc.communicate()[0]
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out
    assert "interrupted" in out
    assert docker_engine.containers.list(all=True, filters=owner) == []
    assert (tmp_path / "run" / "report.jsonl").read_text() == ""  # nothing finished
