"""The agent cannot read the answer: its image shows nothing after the base commit, and no
task secret (test patch, gold patch, eval script) is in its container."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from swe_harness.agent import load_agent_config
from swe_harness.agent.models import ScriptedModel
from swe_harness.rollout import run_episode
from swe_harness.task import task_from_dir

DOCKERFILE = """ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
WORKDIR /workspace
COPY repo/ /workspace/
RUN set -e; export GIT_AUTHOR_NAME=dev GIT_AUTHOR_EMAIL=d@x GIT_COMMITTER_NAME=dev GIT_COMMITTER_EMAIL=d@x; \\
    git init -q -b main && git add -A && git commit -qm base \\
 && git checkout -q -b fix && echo "LEAK_BRANCH = 1" >> mod.py && git commit -qam fix \\
 && git update-ref refs/remotes/origin/fix HEAD \\
 && git checkout -q --detach main && echo "LEAK_TAG = 1" >> mod.py && git commit -qam tagged \\
 && git tag -a v2 -m release && git checkout -q main \\
 && echo "LEAK_REFLOG = 1" >> mod.py && git commit -qam later && git reset -q --hard HEAD~1 \\
 && echo "LEAK_STASH = 1" >> mod.py && git stash -q \\
 && git notes add -m "LEAK_NOTE" HEAD \\
 && tree=$(printf 'LEAK_DANGLING = 1\\n' | git hash-object -w --stdin) \\
 && git commit-tree -m dangling $(git write-tree) >/dev/null \\
 && git status --short | wc -l | grep -qx 0
"""
PROBE = ("git log --all --oneline | wc -l; git for-each-ref | wc -l; git reflog | wc -l; "
         "git stash list | wc -l; git fsck --lost-found --unreachable --dangling --no-reflogs "
         "2>&1 | wc -l; git cat-file --batch-all-objects --batch | grep -ac LEAK_; "
         "grep -rac LEAK_ .git | grep -vc ':0$'; git status --short | wc -l")


def leaky_task(root: Path):
    task_dir = root / "leaky"
    (task_dir / "repo").mkdir(parents=True)
    (task_dir / "repo" / "mod.py").write_text("VALUE = 1\n")
    (task_dir / "Dockerfile").write_text(DOCKERFILE)
    (task_dir / "eval_script.sh").write_text("#!/bin/bash\necho EVAL_SCRIPT_SECRET\nexit 1\n")
    digest = hashlib.sha256(DOCKERFILE.encode()).hexdigest()[:12]
    (task_dir / "task.json").write_text(json.dumps({
        "instance_id": "leaky-1", "repo": "demo/leaky", "base_commit": "0" * 40,
        "problem_statement": "VALUE should be 2.",
        "gold_patch": "diff --git a/mod.py b/mod.py\n--- a/mod.py\n+++ b/mod.py\n@@ -1 +1 @@\n"
                      "-VALUE = 1\n+VALUE = 2  # GOLD_SECRET\n",
        "test_patch": "diff --git a/test_mod.py b/test_mod.py\nnew file mode 100644\n--- /dev/null\n"
                      "+++ b/test_mod.py\n@@ -0,0 +1 @@\n+TEST_PATCH_SECRET = 1\n",
        "image_name": f"swe-harness/test-leaky:{digest}"}))
    return task_from_dir(task_dir)


@pytest.fixture(scope="module")
def task(tmp_path_factory, docker_engine):
    return leaky_task(tmp_path_factory.mktemp("leaky"))


def probe(pool, image, command) -> str:
    container = pool.acquire(image)
    try:
        code, out = container.exec(["bash", "-c", command], workdir="/workspace")
    finally:
        container.release()
    assert code == 0, out
    return out.decode()


def test_the_task_image_does_leak(task, pool):
    """The premise: the source image holds the fix in every hiding place git has."""
    from swe_harness import sandbox

    counts = probe(pool, sandbox.ensure_image(task), PROBE).split()
    assert [int(n) >= 1 for n in counts[:6]] == [True] * 6, counts


def test_nothing_after_the_base_commit_is_reachable_inside_the_episode(task, pool):
    record = run_episode(task, 0, ScriptedModel([
        f"```bash\n{PROBE}\n```",
        "```bash\ngit show v2 fix origin/fix stash@{0} HEAD@{1} 2>&1 | grep -c LEAK_ || true\n```",
        "```bash\ngit log --oneline; cat mod.py\n```",
        "```bash\necho COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT\n```"]),
        load_agent_config(), pool=pool)
    outputs = [m["content"].split("<output>\n")[1].split("</output>")[0]
               for m in record["messages"][3::2]]
    # 1 commit; no ref; no reflog; no stash; nothing unreachable; no LEAK_ object; clean tree
    assert outputs[0].split() == ["1", "0", "0", "0", "0", "0", "0", "0"], outputs[0]
    assert outputs[1].split() == ["0"]
    assert outputs[2].split()[1:] == ["base", "VALUE", "=", "1"]
    assert record["ending"] == "submitted" and record["patch"] == ""


def test_no_task_secret_is_in_the_agent_container(task, pool, docker_engine):
    from swe_harness import sandbox

    image = sandbox.agent_image(task)
    container = pool.acquire(image)
    try:
        attrs = docker_engine.api.inspect_container(container.id)
        code, out = container.exec(["bash", "-c", "cat /proc/*/environ; env; grep -rIl "
                                    "'SECRET' / --exclude-dir=proc --exclude-dir=sys "
                                    "--exclude-dir=usr --exclude-dir=dev 2>/dev/null; true"])
    finally:
        container.release()
    seen = json.dumps(attrs) + out.decode(errors="replace")
    for secret in ("TEST_PATCH_SECRET", "GOLD_SECRET", "EVAL_SCRIPT_SECRET"):
        assert secret not in seen
