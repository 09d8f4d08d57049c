"""Task images at scale: content-hashed build contexts, prune, save and load (real engine)."""

import io
import json
import subprocess
import sys
import tarfile
import uuid

import pytest

from swe_harness import images
from swe_harness.task import load_tasks


def test_context_hash_follows_what_enters_the_image(copy_tasks):
    root = copy_tasks("brightline-semverlite-7")
    context = root / "brightline-semverlite-7"
    before = images.context_hash.__wrapped__(str(context), "base:1")
    assert before == images.context_hash.__wrapped__(str(context), "base:1")
    assert before != images.context_hash.__wrapped__(str(context), "base:2")
    (context / "task.json").write_text((context / "task.json").read_text() + " ")
    (context / "eval_script.sh").write_text("#!/bin/bash\nexit 1\n")
    assert images.context_hash.__wrapped__(str(context), "base:1") == before  # read from data
    readme = context / "repo" / "README.md"
    readme.write_text(readme.read_text() + "edited\n")
    edited = images.context_hash.__wrapped__(str(context), "base:1")
    assert edited != before
    readme.chmod(0o755)
    assert images.context_hash.__wrapped__(str(context), "base:1") != edited


def cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "swe_harness", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.docker
def test_an_edited_task_rebuilds_and_prune_removes_what_no_task_uses(docker_engine, copy_tasks,
                                                                    tmp_path):
    from swe_harness import sandbox

    root = copy_tasks("brightline-semverlite-7")
    context = root / "brightline-semverlite-7"
    uid = uuid.uuid4().hex[:10]
    (context / "repo" / f"NOTE-{uid}.txt").write_text(uid)  # an image no other test shares
    record = json.loads((context / "task.json").read_text())
    record["image_name"] = f"swe-harness/test-images-{uid}:latest"
    (context / "task.json").write_text(json.dumps(record))
    (task,), _ = load_tasks([root])
    sandbox.ensure_image(task, "missing")
    first = docker_engine.images.get(task.image_name)
    assert first.labels[images.LABEL_CONTEXT] == images.task_context_hash(task)
    sandbox.ensure_image(task, "missing")
    assert docker_engine.images.get(task.image_name).id == first.id  # unchanged: reused

    readme = context / "repo" / "README.md"
    readme.write_text(readme.read_text() + "edited\n")
    images.context_hash.cache_clear()
    (task,), _ = load_tasks([root])
    sandbox.ensure_image(task, "missing")
    second = docker_engine.images.get(task.image_name)
    assert second.id != first.id
    assert second.labels[images.LABEL_CONTEXT] == images.task_context_hash(task)

    # prune, narrowed to this test's images (the engine is shared): the old build is an
    # untagged leftover, the new one is used by the loaded task until no task names it
    mine = f"{images.LABEL_CONTEXT}={first.labels[images.LABEL_CONTEXT]}"
    dry = cli("images", str(root), "--prune", "--dry-run", "--prune-label", mine, cwd=tmp_path)
    assert dry.returncode == 0 and "would remove 1 image(s)" in dry.stdout, dry.stdout
    assert images.prune([task], mine) == [first.short_id]
    new = f"{images.LABEL_CONTEXT}={second.labels[images.LABEL_CONTEXT]}"
    assert images.prune([task], new) == []  # still used
    from .conftest import TASKS_DIR

    run = cli("images", str(TASKS_DIR), "--prune", "--prune-label", new, cwd=tmp_path)
    assert run.returncode == 0 and task.image_name in run.stdout, run.stdout + run.stderr
    ids = {image.id for image in docker_engine.images.list(all=True)}
    assert first.id not in ids and second.id not in ids


@pytest.mark.docker
def test_save_and_load_move_task_images(docker_engine, tmp_path):
    uid = uuid.uuid4().hex[:10]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        data = uid.encode()
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    names = [f"swe-harness/test-save-{uid}:{n}" for n in ("a", "b")]
    for name in names:
        repo, tag = name.rsplit(":", 1)
        docker_engine.api.import_image_from_data(buf.getvalue(), repository=repo, tag=tag,
                                                 changes=[f"LABEL swe_harness.test={uid}"])
    ids = {name: docker_engine.images.get(name).id for name in names}
    diff = "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("".join(json.dumps({
        "instance_id": f"save-{n}", "problem_statement": "p", "gold_patch": diff,
        "eval_script": "true", "image_name": name}) + "\n" for n, name in enumerate(names)))
    try:
        saved = cli("images", str(tasks), "--save", "moved", cwd=tmp_path)
        assert saved.returncode == 0, saved.stdout + saved.stderr
        assert json.loads((tmp_path / "moved" / "images.json").read_text()) == ids
        for name in names:
            docker_engine.images.remove(name)
        loaded = cli("images", "--load", "moved", cwd=tmp_path)
        assert loaded.returncode == 0, loaded.stdout + loaded.stderr
        assert {name: docker_engine.images.get(name).id for name in names} == ids
        missing = cli("images", "--load", "nowhere", cwd=tmp_path)
        assert missing.returncode == 1 and "images.tar" in missing.stdout
    finally:
        for name in names:
            try:
                docker_engine.images.remove(name, force=True)
            except Exception:
                pass
