"""``python -m swe_harness``: the same evaluation path as the plugin, from a shell."""

import json
import subprocess
import sys

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


def test_eval_fails_when_a_reward_is_not_what_the_patch_kind_expects(docker_engine,
                                                                     bundled_tasks, copy_tasks,
                                                                     tmp_path):
    iid = sorted(bundled_tasks)[0]
    preds = tmp_path / "preds.jsonl"
    preds.write_text(json.dumps({"instance_id": iid, "model_patch": ""}) + "\n")
    run = cli("eval", str(copy_tasks(iid)), "--patch", str(preds), cwd=tmp_path)
    assert run.returncode == 1 and "failed" in run.stdout


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
        assert count >= 1
    finally:
        for container in (dead, alive):
            try:
                container.remove(force=True)
            except Exception:
                pass
