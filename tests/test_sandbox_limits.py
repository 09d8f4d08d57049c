"""Bad input and hostile evals against the real Docker engine: each ends in a clear status, never
a crash or a hang, and leaves no container behind (checked after every test, by instance label)."""

from __future__ import annotations

import resource
import threading
import time

import pytest

from swe_harness.evaluate import LOG_TAIL_CHARS, EvalOptions, evaluate
from swe_harness.rewards import reward_for

from .synthetic import edit, harness_containers, variant

pytestmark = pytest.mark.docker


def ours(client, instance: str) -> list:
    from swe_harness import sandbox

    return [c for c in harness_containers(client)
            if c.labels.get(sandbox.LABEL_INSTANCE) == instance]


@pytest.fixture
def calc(calc_built, docker_engine):
    """The calc task under an instance id of this test's own (its label value), so tests running
    in parallel never see each other's containers; none may be left when the test ends."""
    import uuid

    task = variant(calc_built, instance_id=f"limits-{uuid.uuid4().hex[:8]}")
    yield task
    assert ours(docker_engine, task.instance_id) == [], "a container of this test was left behind"


def with_eval(task, body: str):
    return variant(task, eval_script="#!/bin/bash\ncd /workspace\n" + body)


# ------------------------------------------------------------------ bad patches


def test_malformed_patch_is_patch_failed(calc):
    broken = ("diff --git a/calc/ops.py b/calc/ops.py\n--- a/calc/ops.py\n+++ b/calc/ops.py\n"
              "@@ -1,2 +1,2 @@\n-this line is not in the file\n+x = 1\n")
    result = evaluate(calc, broken)
    assert (result.status, reward_for(calc, result)) == ("patch_failed", 0.0)
    assert "patch" in result.log_tail  # the apply log says why


def test_text_that_is_no_diff_is_rejected_without_a_container(calc):
    result = evaluate(calc, "please fix the bug, thanks")
    assert (result.status, result.detail) == ("rejected", "not a diff")


@pytest.mark.parametrize("candidate", ["", "\n  \n"])
def test_empty_patch_is_evaluated_and_fails(calc, candidate):
    result = evaluate(calc, candidate)
    assert (result.status, result.apply_method, reward_for(calc, result)) == ("failed", "none", 0.0)


def test_binary_patch_applies(calc, tmp_path):
    blob = bytes(range(256)) * 64
    binary = edit_binary("calc/data.bin", blob)
    assert "GIT binary patch" in binary
    result = evaluate(calc, calc.gold_candidate + binary)
    assert (result.status, result.apply_method) == ("passed", "git_apply"), result.log_tail


def edit_binary(path: str, data: bytes) -> str:
    import subprocess
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / path).parent.mkdir(parents=True)
        (Path(tmp) / path).write_bytes(data)
        subprocess.run(["git", "init", "-q"], cwd=tmp, check=True)
        subprocess.run(["git", "add", "-A"], cwd=tmp, check=True)
        return subprocess.run(["git", "diff", "--cached", "--binary"], cwd=tmp, check=True,
                              capture_output=True, text=True).stdout


@pytest.mark.parametrize("path", ["../outside.py", "calc/../../outside.py", "/etc/profile"])
def test_patch_writing_outside_the_repo_is_rejected(calc, docker_engine, path):
    header = f"--- {path}\n+++ {path}\n" if path.startswith("/") else f"--- a/{path}\n+++ b/{path}\n"
    result = evaluate(calc, header + "@@ -1 +1 @@\n-a\n+b\n")
    assert result.status == "rejected" and "outside the repository" in result.detail
    assert reward_for(calc, result) == 0.0


@pytest.mark.parametrize("path", ["fresh", "pool"])
def test_five_megabyte_patch_applies(calc, path):
    """Fresh: copied in with put_archive. Pool: down the launcher's stdin, 5 MB in one go."""
    from swe_harness import sandbox

    lines = "".join(f"VALUE_{i} = {i!r}  # {'x' * 40}\n" for i in range(80_000))
    big = edit("calc/table.py", lines)
    assert len(big) > 5_000_000
    with sandbox.WarmPool(size=0) as pool:
        result = evaluate(calc, calc.gold_candidate + big,
                          options=EvalOptions(pool=pool if path == "pool" else None))
    assert (result.status, result.apply_method) == ("passed", "git_apply"), result.log_tail
    assert "Argument list too long" not in result.log_tail


# ------------------------------------------------------------------ hostile evals


def test_non_utf8_and_200mb_of_output_stay_bounded(calc):
    """200 MB through the eval's output: the kept log is capped in the container (1 MiB), the
    report's tail is LOG_TAIL_CHARS, undecodable bytes are replaced, and this process stays flat."""
    script = ("yes \"$(printf 'caf\\xe9 \\xff\\xfe na\\xefve')\" | head -c 200000000\n"
              "printf '\\nthe end \\xff\\n'\nexit 1\n")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = evaluate(with_eval(calc, script), "")
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert (result.status, result.exit_code) == ("failed", 1)
    assert len(result.log_tail) <= LOG_TAIL_CHARS
    assert result.log_tail.rstrip().endswith("the end \ufffd")
    assert "\ufffd" in result.log_tail
    assert grown_kib < 64 * 1024, f"harness memory grew by {grown_kib} KiB"


def test_eval_that_never_ends_times_out_inside_the_container(calc):
    """The in-container ``timeout`` ends it (TERM, then KILL for a script that ignores TERM),
    long before the client-side deadline (timeout + 60 s)."""
    script = "trap '' TERM\nwhile :; do sleep 1; done\n"
    result = evaluate(with_eval(calc, script), "", options=EvalOptions(timeout_s=3))
    assert result.status == "timeout" and result.exit_code in (124, 137)
    assert result.duration_s["total"] < 30
    assert reward_for(calc, result) == 0.0


@pytest.mark.parametrize("leftover", ["sleep 1000 &", "setsid sleep 1000 &"])
def test_background_process_left_by_the_eval_does_not_hang_the_runner(calc, leftover):
    """It holds the log pipe open; the verdict is the script's exit status, at once, with its
    output, not a timeout at the client deadline (timeout + 60 s)."""
    task = with_eval(calc, f"echo before the end\n{leftover}\nexit 1\n")
    result = evaluate(task, "", options=EvalOptions(timeout_s=20))
    assert (result.status, result.exit_code) == ("failed", 1)
    assert "before the end" in result.log_tail
    assert result.duration_s["total"] < 15


@pytest.mark.parametrize("bomb", [
    "python -c '\nimport os, time\nwhile True:\n    try:\n        os.fork()\n"
    "    except OSError:\n        time.sleep(0.01)\n'\n",
    "bomb() { bomb | bomb & }\nbomb\nsleep 2\nexit 1\n",  # the classic, left in the background
])
def test_fork_bomb_is_contained_by_the_pids_limit(calc, bomb):
    started = time.monotonic()
    result = evaluate(with_eval(calc, bomb), "", options=EvalOptions(timeout_s=5, pids=64))
    assert result.status in ("failed", "timeout"), (result.status, result.error)
    assert time.monotonic() - started < 40
    assert reward_for(calc, result) == 0.0


def test_memory_hog_is_oom_killed_and_fails(calc):
    """The eval's process is the biggest in the box, so the kernel kills it (exit 137): the
    runner survives, records that, and the verdict is ``failed`` (reward 0.0), not ``error``."""
    hog = "python -c 'b = []\nwhile True:\n    b.append(bytearray(50 << 20))\n'\n"
    result = evaluate(with_eval(calc, hog), "", options=EvalOptions(timeout_s=60, memory="256m"))
    assert (result.status, result.exit_code) == ("failed", 137), (result.error, result.log_tail)
    assert reward_for(calc, result) == 0.0


def test_container_killed_from_outside_is_an_error(calc, docker_engine):
    task = with_eval(calc, "sleep 120\n")
    box: dict = {}
    worker = threading.Thread(target=lambda: box.update(result=evaluate(task, "")))
    worker.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not [c for c in ours(docker_engine, calc.instance_id)
                                               if c.status == "running"]:
        time.sleep(0.2)
    running = [c for c in ours(docker_engine, calc.instance_id) if c.status == "running"]
    assert running, "the evaluation never started a container"
    running[0].kill()
    worker.join(60)
    result = box["result"]
    assert result.status == "error" and "killed from outside" in result.error
    assert reward_for(task, result) is None


def test_missing_image_with_build_never_is_an_error(calc):
    ghost = variant(calc, image_name="swe-harness/no-such-image:never")
    result = evaluate(ghost, ghost.gold_candidate, options=EvalOptions(build="never"))
    assert result.status == "error" and "not present locally" in result.error
    assert reward_for(ghost, result) is None


def test_pooled_container_killed_from_outside_is_an_error(calc, docker_engine):
    """The same fact on the pool's path: the runner was started by exec, the container dies."""
    from swe_harness import sandbox

    task = with_eval(calc, "sleep 120\n")
    with sandbox.WarmPool(size=0) as pool:
        box: dict = {}
        worker = threading.Thread(target=lambda: box.update(
            result=evaluate(task, "", options=EvalOptions(pool=pool))))
        worker.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not pool._live:
            time.sleep(0.2)
        time.sleep(2)  # the runner is in the eval's sleep by now
        for container in list(pool._live.values()):
            container.kill()
        worker.join(60)
    result = box["result"]
    assert result.status == "error", (result.status, result.detail)
    assert reward_for(task, result) is None
