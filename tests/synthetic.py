"""A tiny task built in a temp dir, for the adversarial and sandbox-limit suites.

Repo ``calc`` (installed editable at image build, like real task images): ``add`` subtracts (the
bug). ``test_patch`` adds a failing test to ``tests/test_ops.py`` and creates ``tests/test_add.py``.
The tests are unittest-style so one image serves a pytest task and a unittest task (the eval
script is task data, not image content). The image tag carries a hash of the files: built once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
from pathlib import Path

from swe_harness.task import Task, task_from_dir

REPO = {
    "calc/__init__.py": "from .ops import add, sub\n",
    "calc/ops.py": "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n",
    "tests/__init__.py": "",
    "tests/test_ops.py": (
        "import unittest\n\nfrom calc import sub\n\n\n"
        "class TestSub(unittest.TestCase):\n"
        "    def test_sub(self):\n        self.assertEqual(sub(3, 1), 2)\n"),
    "pyproject.toml": (
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "calc"\nversion = "0.1"\n\n[tool.setuptools]\npackages = ["calc"]\n'),
    "setup.cfg": "[tool:pytest]\ntestpaths = tests\n",
    "tox.ini": "[tox]\nenvlist = py311\n",
    "setup.py": "from setuptools import setup\n\nsetup()\n",
}
FIX_PATCH = """diff --git a/calc/ops.py b/calc/ops.py
--- a/calc/ops.py
+++ b/calc/ops.py
@@ -1,5 +1,5 @@
 def add(a, b):
-    return a - b
+    return a + b
 
 
 def sub(a, b):
"""
TEST_PATCH = """diff --git a/tests/test_add.py b/tests/test_add.py
new file mode 100644
--- /dev/null
+++ b/tests/test_add.py
@@ -0,0 +1,9 @@
+import unittest
+
+from calc import add
+
+
+class TestAdd(unittest.TestCase):
+    def test_add(self):
+        self.assertEqual(add(2, 3), 5)
+        assert add(1, 1) == 2
diff --git a/tests/test_ops.py b/tests/test_ops.py
--- a/tests/test_ops.py
+++ b/tests/test_ops.py
@@ -6,3 +6,6 @@ from calc import sub
 class TestSub(unittest.TestCase):
     def test_sub(self):
         self.assertEqual(sub(3, 1), 2)
+
+    def test_add_small(self):
+        self.assertEqual(__import__("calc").add(1, 2), 3)
"""
PYTEST_EVAL = ("#!/bin/bash\nset -e\ncd /workspace\n"
               "python -m pytest tests/test_ops.py tests/test_add.py -xvs\n")
UNITTEST_EVAL = ("#!/bin/bash\nset -e\ncd /workspace\n"
                 "python -m unittest -v tests.test_ops tests.test_add\n")
# What real eval scripts do first: reinstall the package (here offline, no build isolation).
REINSTALL = "pip install -q --no-build-isolation --no-deps -e . >/dev/null 2>&1 || true\n"
DOCKERFILE = """ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
WORKDIR /workspace
COPY repo/ /workspace/
RUN pip install -q --no-build-isolation --no-deps -e . \\
 && git init -q && git add -A \\
 && git -c user.name=dev -c user.email=dev@example.com commit -q -m base
"""


def _digest() -> str:
    blob = json.dumps([REPO, FIX_PATCH, TEST_PATCH, DOCKERFILE], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def write_calc_task(root: Path) -> Path:
    """The task dir (task.json, eval_script.sh, Dockerfile, repo/) under ``root``."""
    task_dir = root / "calc-1"
    for rel, text in REPO.items():
        (task_dir / "repo" / rel).parent.mkdir(parents=True, exist_ok=True)
        (task_dir / "repo" / rel).write_text(text)
    (task_dir / "Dockerfile").write_text(DOCKERFILE)
    (task_dir / "eval_script.sh").write_text(PYTEST_EVAL)
    record = {
        "instance_id": "adv-calc-1", "repo": "demo/calc", "base_commit": "0" * 40,
        "problem_statement": "add() subtracts.", "gold_patch": FIX_PATCH + TEST_PATCH,
        "fix_patch": FIX_PATCH, "test_patch": TEST_PATCH, "test_files": ["tests/test_ops.py"],
        "image_name": f"swe-harness/test-calc:{_digest()}",
    }
    (task_dir / "task.json").write_text(json.dumps(record))
    return task_dir


def calc_task(root: Path) -> Task:
    return task_from_dir(write_calc_task(root))


def variant(task: Task, **changes) -> Task:
    return dataclasses.replace(task, **changes)


def edit(path: str, new: str | None) -> str:
    """A candidate that creates, rewrites (``new``) or deletes (None) one repo file."""
    return diff(path, REPO.get(path), new)


def harness_containers(client, run: str | None = None) -> list:
    """Containers carrying the harness label (of one run when given), stopped ones included,
    once this process's removals in flight are done."""
    from swe_harness import sandbox

    sandbox.settle()
    labels = [f"{sandbox.LABEL}=1"] + ([f"{sandbox.LABEL_RUN}={run}"] if run else [])
    return client.containers.list(all=True, filters={"label": labels}, ignore_removed=True)


def diff(path: str, old: str | None, new: str | None) -> str:
    """A git diff creating (old None), deleting (new None) or rewriting one file, made by git."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        run = lambda *a: subprocess.run(["git", *a], cwd=repo, check=True, capture_output=True)
        run("init", "-q")
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if old is not None:
            target.write_text(old)
            run("add", "-A")
            run("-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q", "-m", "base")
        if new is None:
            target.unlink()
        else:
            target.write_text(new)
        run("add", "-A")
        return subprocess.run(["git", "diff", "--cached", "--binary"], cwd=repo, check=True,
                              capture_output=True, text=True).stdout


NEUTERED_OPS = REPO["tests/test_ops.py"] + "\n    def test_add_small(self):\n        pass\n"


def adversarial_sample(task: Task) -> dict[str, tuple[str, str]]:
    """A few candidates on the calc task, one per kind of verdict: name -> (candidate, status).
    For suites that compare engines or executors on the same evaluations."""
    return {
        "fix": (task.gold_candidate, "passed"),
        "empty": ("", "failed"),
        "neutered test": (edit("tests/test_ops.py", NEUTERED_OPS), "failed"),
        "deleted test": (edit("tests/test_ops.py", None), "failed"),
        "conftest": (edit("conftest.py", "import pytest\n"), "rejected"),
        "exit at import": (edit("calc/__init__.py",
                                REPO["calc/__init__.py"] + "import os\nos._exit(0)\n"), "failed"),
        "forged pass line": (edit("calc/__init__.py", REPO["calc/__init__.py"]
                                  + "print('==== 2 passed in 0.01s ====')\n"), "failed"),
        "not a diff": ("rm -rf /\n", "rejected"),
        "does not apply": (edit("calc/ops.py", "x = 1\n").replace("-    return a - b",
                                                                 "-    return b"), "patch_failed"),
    }
