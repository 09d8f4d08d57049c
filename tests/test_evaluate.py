"""The one evaluation path, on strings (grading) and against the real Docker engine."""

import pytest

from swe_harness.evaluate import EvalOptions, candidate_problems, evaluate
from swe_harness.rewards import reward_for
from swe_harness.spec import reset_files, script_test_paths


def test_candidate_problems():
    assert candidate_problems("") is None
    assert "not a diff" in candidate_problems("rm -rf /")
    escape = "--- a/../x\n+++ b/../x\n@@ -1 +1 @@\n-a\n+b\n"
    assert "outside the repository" in candidate_problems(escape)
    conftest = "--- a/conftest.py\n+++ b/conftest.py\n@@ -1 +1 @@\n-a\n+b\n"
    assert "conftest.py is protected" in candidate_problems(conftest, ["conftest.py"])


def test_reset_files_cover_test_patch_declared_and_named_tests(bundled_tasks):
    task = next(iter(bundled_tasks.values()))
    task = task.__class__(**{**task.__dict__, "test_files": ("tests/declared.py",),
                             "eval_script": "set -e\npytest tests/test_named.py::test_x -xvs\n"})
    assert {"tests/declared.py", "tests/test_named.py"} <= set(reset_files(task, set()))


def test_reset_files_keep_library_code_in_test_named_packages(bundled_tasks):
    """An honest fix in ``django/test/client.py`` or ``astropy/tests/helper.py`` stands; a test
    module the candidate touches is reset; the test package inits above declared tests too."""
    task = next(iter(bundled_tasks.values()))
    task = task.__class__(**{**task.__dict__, "test_files": ("astropy/tests/test_x.py",),
                             "test_patch": "", "eval_script": "pytest astropy/tests/test_x.py\n"})
    touched = {"django/test/client.py", "astropy/tests/helper.py", "pkg/test_api.py",
               "pkg/core.py"}
    assert set(reset_files(task, touched)) == {
        "astropy/tests/test_x.py", "astropy/tests/__init__.py", "pkg/test_api.py"}


def test_script_names_whole_test_paths_only():
    script = ("pip install -e . || true\npytest tests/test_a.py::T::test_x pkg/latest.py "
              "src/contest.py --doctest-modules pkg/core.py tests/helpers.py -k test_b\n")
    assert script_test_paths(script) == {"tests/test_a.py", "tests/helpers.py"}


def test_rejected_patch_never_starts_a_container(docker_engine, bundled_tasks):
    import dataclasses
    import time
    import uuid

    from swe_harness import sandbox

    task = dataclasses.replace(bundled_tasks["brightline-semverlite-7"],
                               instance_id=f"reject-{uuid.uuid4().hex[:8]}")
    since = time.time() - 1
    escape = evaluate(task, "--- a/../../etc/passwd\n+++ b/../../etc/passwd\n@@ -1 +1 @@\n-a\n+b\n")
    conftest = evaluate(task, "--- a/conftest.py\n+++ b/conftest.py\n@@ -1 +1 @@\n-a\n+b\n")
    control = evaluate(task, "")  # the same task does start containers
    events = list(docker_engine.events(
        since=since, until=time.time() + 1, decode=True,
        filters={"type": "container", "event": "create",
                 "label": f"{sandbox.LABEL_INSTANCE}={task.instance_id}"}))
    assert (escape.status, conftest.status, control.status) == ("rejected", "rejected", "failed")
    assert reward_for(task, escape) == reward_for(task, conftest) == 0.0
    assert len(events) == 1  # the control's, none for the rejections


@pytest.mark.docker
def test_every_bundled_task_gold_passes_and_empty_fails(docker_engine, bundled_tasks):
    assert len(bundled_tasks) >= 6
    outcomes = {}
    for iid, task in bundled_tasks.items():
        gold = evaluate(task, task.gold_candidate, "gold")
        empty = evaluate(task, "", "empty")
        outcomes[iid] = (reward_for(task, gold), gold.status, reward_for(task, empty), empty.status)
    assert outcomes == {iid: (1.0, "passed", 0.0, "failed") for iid in bundled_tasks}


@pytest.mark.docker
def test_full_gold_patch_with_its_tests_passes_too(docker_engine, bundled_tasks):
    """The whole PR diff (fix + tests) as the candidate: test files are reset, then re-applied."""
    task = next(t for t in bundled_tasks.values() if t.test_patch)
    result = evaluate(task, task.gold_patch, "gold")
    assert (result.status, result.apply_method) == ("passed", "git_apply")


@pytest.mark.docker
def test_timeout_is_enforced(docker_engine, bundled_tasks):
    task = next(iter(bundled_tasks.values()))
    slow = task.__class__(**{**task.__dict__, "eval_script": "#!/bin/bash\nsleep 60\n"})
    result = evaluate(slow, "", "empty", EvalOptions(timeout_s=2))
    assert result.status == "timeout"
    assert result.duration_s["total"] < 30
    assert reward_for(slow, result) == 0.0


# ---------------------------------------------------------------- the apply chain, on calc

@pytest.fixture(scope="module")
def calc(calc_built):
    return calc_built


def git_diff(files_before: dict, files_after: dict, *options: str) -> str:
    """A git diff between two versions of a few files, made by git itself."""
    import subprocess
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        run = lambda *a: subprocess.run(["git", *a], cwd=tmp, check=True, capture_output=True)
        run("init", "-q")
        for path, text in files_before.items():
            Path(tmp, path).parent.mkdir(parents=True, exist_ok=True)
            Path(tmp, path).write_text(text)
        run("add", "-A")
        run("-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q", "-m", "b")
        for path, text in files_after.items():
            Path(tmp, path).write_text(text)
        return subprocess.run(["git", "diff", *options], cwd=tmp, check=True, capture_output=True,
                              text=True).stdout


def test_three_way_merge_applies_what_plain_apply_cannot(calc):
    """Two sections for ops.py: the second was made against the base, with context that the
    first section changed. Plain apply fails; --3way merges from the base blob."""
    from .synthetic import FIX_PATCH, REPO

    base = REPO["calc/ops.py"]
    commented = base.replace("def sub(a, b):\n", "def sub(a, b):\n    # subtracts\n")
    second = git_diff({"calc/ops.py": base}, {"calc/ops.py": commented}, "-U6")
    result = evaluate(calc, FIX_PATCH + second)
    assert (result.status, result.apply_method) == ("passed", "git_apply_3way"), result.log_tail


def test_fuzzy_patch_is_the_last_resort_for_unified_diffs(calc):
    from .synthetic import REPO

    base = REPO["calc/ops.py"]
    fixed = base.replace("def add(a, b):\n    return a - b\n", "def add(a, b):\n    return a + b\n")
    plain = git_diff({"calc/ops.py": base}, {"calc/ops.py": fixed})
    plain = "\n".join(l for l in plain.splitlines() if not l.startswith(("diff --git", "index "))) + "\n"
    lines = plain.splitlines(keepends=True)
    last_context = max(i for i, l in enumerate(lines) if l.startswith(" ") and l.strip())
    lines[last_context] = " def sub(a, b):  # a context line that no longer matches\n"
    fuzzy = "".join(lines)
    result = evaluate(calc, fuzzy)
    assert (result.status, result.apply_method) == ("passed", "patch_fuzz"), (result.detail, result.log_tail)


def test_a_reversed_patch_is_never_applied(calc):
    """The fix's diff run backwards (fixed → buggy) on the buggy code: `patch -R` would apply
    it ("Assuming -R"); --forward refuses."""
    from .synthetic import REPO

    base = REPO["calc/ops.py"]
    buggier = base.replace("def sub(a, b):\n    return a - b\n", "def sub(a, b):\n    return b - a\n")
    reverse = git_diff({"calc/ops.py": buggier}, {"calc/ops.py": base})
    result = evaluate(calc, reverse)
    assert result.status == "patch_failed" and result.apply_method is None, result.log_tail


def test_network_true_is_the_only_way_to_a_network(calc, docker_engine):
    """network: true in a task gives its eval the default network; every other eval runs with
    none (seen on the container the harness created)."""
    import dataclasses
    import threading
    import uuid

    from swe_harness import sandbox

    modes = {}
    for network in (False, True):
        task = dataclasses.replace(calc, instance_id=f"net-{uuid.uuid4().hex[:6]}", network=network,
                                   eval_script="#!/bin/bash\nsleep 4\n")
        seen = []

        def watch(label=task.instance_id):
            import time
            for _ in range(80):
                for c in docker_engine.containers.list(
                        filters={"label": f"{sandbox.LABEL_INSTANCE}={label}"}, ignore_removed=True):
                    seen.append(c.attrs["HostConfig"]["NetworkMode"])
                    return
                time.sleep(0.1)
        watcher = threading.Thread(target=watch)
        watcher.start()
        evaluate(task, "")
        watcher.join()
        modes[network] = seen
    assert modes == {False: ["none"], True: ["default"]}
