"""Shared fixtures. Docker tests talk to the real engine; with CI=true a missing engine fails
the run instead of skipping it (a green run without Docker tests would be a lie)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from swe_harness.task import load_tasks

ROOT = Path(__file__).resolve().parent.parent
TASKS_DIR = ROOT / "tasks"


@pytest.fixture(scope="session")
def docker_engine():
    from swe_harness import sandbox

    try:
        return sandbox.client()
    except sandbox.InfraError as exc:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI=true and no Docker engine: {exc}", pytrace=False)
        pytest.skip(f"no Docker engine: {exc}")


@pytest.fixture(scope="session")
def calc_built(docker_engine, tmp_path_factory):
    """The synthetic ``calc`` task (tests/synthetic.py), its image built once per session."""
    from swe_harness import sandbox

    from .synthetic import calc_task

    task = calc_task(tmp_path_factory.mktemp("calc"))
    sandbox.ensure_image(task, "missing")
    return task


@pytest.fixture(scope="session")
def bundled_tasks():
    tasks, errors = load_tasks([TASKS_DIR])
    assert not errors, errors
    return {task.instance_id: task for task in tasks}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


def write_task_dir(root: Path, instance_id: str, **fields) -> Path:
    """A minimal swe-task-generator dir, fields overriding a valid default."""
    task_dir = root / instance_id
    task_dir.mkdir(parents=True)
    record = {
        "instance_id": instance_id, "repo": "demo/demo", "base_commit": "0" * 40,
        "problem_statement": "Something is broken.",
        "gold_patch": "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b",
        "test_patch": "", "image_name": f"swe-harness/test-{instance_id}:latest",
    }
    record.update(fields)
    (task_dir / "task.json").write_text(json.dumps(record))
    (task_dir / "eval_script.sh").write_text("#!/bin/bash\nexit 0\n")
    return task_dir


@pytest.fixture
def copy_tasks(tmp_path):
    """Copy some bundled task dirs into a temp tasks root."""
    def copy(*ids: str) -> Path:
        dest = tmp_path / "tasks"
        for iid in ids:
            shutil.copytree(TASKS_DIR / iid, dest / iid)
        return dest
    return copy


@pytest.fixture(scope="module")
def cluster(docker_engine):
    """A real two-node Ray cluster (:func:`tests.ray_cluster.two_nodes`), one per module:
    (address, start_node, the second node, the environment a driver needs)."""
    from .ray_cluster import two_nodes

    with two_nodes() as started:
        yield started


@pytest.fixture
def fresh_run(monkeypatch):
    run = f"raytest-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("SWE_HARNESS_RUN_ID", run)
    return run
