"""The same evaluations on Podman's Docker-compatible service (``scripts/podman.sh`` starts it):
the registry-free base image and task builds, limits, labels, the reaper, evidence and the
timeout, with the statuses Docker gives. Only these tests talk to Podman, through
``sandbox.engine(url)``; every other test keeps the process's default engine."""

from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from swe_harness import sandbox
from swe_harness.evaluate import EvalOptions, candidate_for, evaluate
from swe_harness.rewards import reward_for

from .synthetic import adversarial_sample, calc_task, harness_containers, variant

pytestmark = pytest.mark.docker

PODMAN = os.environ.get("SWE_HARNESS_PODMAN_HOST", "unix:///run/podman/podman.sock")


@pytest.fixture(scope="module")
def podman(docker_engine):
    """The Podman client; with CI=true a missing Podman service fails the run."""
    with sandbox.engine(PODMAN):
        try:
            client = sandbox.client()
        except sandbox.InfraError as exc:
            if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
                pytest.fail(f"CI=true and no Podman service (bash scripts/podman.sh): {exc}",
                            pytrace=False)
            pytest.skip(f"no Podman service (bash scripts/podman.sh): {exc}")
    assert "Podman" in str(client.version().get("Components", [{}])[0].get("Name"))
    return client


def on(url: str | None, jobs, options=EvalOptions()):
    """Report lines of ``jobs`` evaluated on the engine at ``url`` (None: the default one)."""
    def one(job):
        task, candidate, kind = job
        with sandbox.engine(url):
            result = evaluate(task, candidate, kind, options)
        return result.report(reward_for(task, result))

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(one, jobs))


def verdict(line: dict) -> tuple:
    return line["status"], line["reward"], line["exit_code"], line["apply_method"], line["evidence"]


@pytest.fixture(scope="module")
def calc(podman, tmp_path_factory):
    task = variant(calc_task(tmp_path_factory.mktemp("podman")), instance_id="podman-calc-1")
    for url in (None, PODMAN):
        with sandbox.engine(url):
            sandbox.ensure_image(task)
    return task


def test_bundled_gold_builds_and_passes_as_on_docker(podman, bundled_tasks):
    """Builds the base image (imported from a debootstrap root) and the task images in Podman's
    own store the first time; afterwards they are cached there."""
    jobs = [(task, candidate_for(task, "gold"), "gold") for task in bundled_tasks.values()]
    with sandbox.engine(PODMAN):
        for task in bundled_tasks.values():
            sandbox.ensure_image(task)
    podman_lines = on(PODMAN, jobs)
    assert [line["status"] for line in podman_lines] == ["passed"] * len(jobs), podman_lines
    assert [verdict(line) for line in podman_lines] == [verdict(line) for line in on(None, jobs)]


def test_adversarial_sample_as_on_docker(calc):
    sample = adversarial_sample(calc)
    jobs = [(calc, text, "gold" if name == "fix" else "model") for name, (text, _) in sample.items()]
    podman_lines = on(PODMAN, jobs)
    assert ({name: line["status"] for name, line in zip(sample, podman_lines)}
            == {name: status for name, (_, status) in sample.items()}), podman_lines
    assert [verdict(line) for line in podman_lines] == [verdict(line) for line in on(None, jobs)]


def with_eval(task, body: str):
    return variant(task, eval_script="#!/bin/bash\ncd /workspace\n" + body)


def test_limits_and_timeout(calc):
    hog = "python -c 'b = []\nwhile True:\n    b.append(bytearray(50 << 20))\n'\n"
    bomb = ("python -c '\nimport os, time\nwhile True:\n    try:\n        os.fork()\n"
            "    except OSError:\n        time.sleep(0.01)\n'\n")
    with sandbox.engine(PODMAN):
        oom = evaluate(with_eval(calc, hog), "", options=EvalOptions(timeout_s=60, memory="256m"))
        forks = evaluate(with_eval(calc, bomb), "", options=EvalOptions(timeout_s=5, pids=64))
        late = evaluate(with_eval(calc, "trap '' TERM\nwhile :; do sleep 1; done\n"), "",
                        options=EvalOptions(timeout_s=3))
    assert (oom.status, oom.exit_code) == ("failed", 137), (oom.error, oom.log_tail)
    assert forks.status in ("failed", "timeout"), (forks.status, forks.error)
    assert late.status == "timeout" and late.exit_code in (124, 137), (late.error, late.log_tail)
    assert late.duration_s["total"] < 30


def test_labels_and_the_reaper(calc, podman):
    run = f"podman-{uuid.uuid4().hex[:8]}"
    labels = {sandbox.LABEL: "1", sandbox.LABEL_RUN: run}
    alive = podman.containers.create(calc.image_name, "true",
                                     labels={**labels, sandbox.LABEL_OWNER: sandbox.owner()})
    dead = podman.containers.create(calc.image_name, "true", labels={
        **labels, sandbox.LABEL_OWNER: f"{sandbox.socket.gethostname()}:{_dead_pid()}"})
    try:
        with sandbox.engine(PODMAN):
            sandbox.reap()
        left = {c.id for c in harness_containers(podman, run)}
        assert alive.id in left and dead.id not in left
    finally:
        with sandbox.engine(PODMAN):
            sandbox.reap(run)
    assert not harness_containers(podman, run)


def _dead_pid() -> int:
    import subprocess

    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_no_container_left_behind(calc, podman):
    """After evaluations on Podman (the gold patch passes, the empty one fails), none of their
    containers is left. Under an instance id of its own: xdist runs the module's other tests
    beside it."""
    task = variant(calc, instance_id="podman-leak-1")
    with sandbox.engine(PODMAN):
        assert evaluate(task, task.gold_candidate).status == "passed"
        assert evaluate(task, "").status == "failed"
    assert not [c for c in harness_containers(podman)
                if c.labels.get(sandbox.LABEL_INSTANCE) == task.instance_id]


def test_container_settings(calc, podman):
    """What the harness asks of every container, as Podman reports it back."""
    with sandbox.engine(PODMAN):
        box = sandbox.Container(calc.image_name, ["true"], "/workspace",
                                {sandbox.LABEL_INSTANCE: calc.instance_id})
        box.create()
        try:
            attrs = podman.api.inspect_container(box._container.id)
            box.start()
            assert box.wait(60) == 0
        finally:
            box.remove()
    host, labels = attrs["HostConfig"], attrs["Config"]["Labels"]
    assert host["NetworkMode"] == "none" and host["Init"] is True
    assert host["PidsLimit"] == 2048 and host["Memory"] == 4 * 1024 ** 3
    assert "no-new-privileges" in host["SecurityOpt"]
    assert labels[sandbox.LABEL_OWNER] == sandbox.owner()
    assert labels[sandbox.LABEL_RUN] == sandbox.run_id()


def test_pool_made_in_an_engine_context_serves_that_engine(calc, podman):
    """A warm pool made under ``sandbox.engine(PODMAN)`` creates, prepares and removes its
    containers on Podman (its threads do not inherit the caller's context), and an evaluation
    from it gives the verdict a fresh Podman container gives."""
    calc = variant(calc, instance_id="podman-pool-1")  # test_no_container_left_behind's is apart
    with sandbox.engine(PODMAN):
        with sandbox.WarmPool(size=1) as pool:
            pool.prewarm(sandbox.eval_image(calc), setup=sandbox.open_eval_launcher)
            pooled = evaluate(calc, calc.gold_candidate, options=EvalOptions(pool=pool))
            fresh = evaluate(calc, calc.gold_candidate)
        assert (pooled.status, pooled.error) == ("passed", None), pooled.error
        assert pool.stats["created"] >= 1 and pool.stats["hits"] + pool.stats["misses"] == 1
    assert (pooled.status, pooled.exit_code, pooled.evidence) == (
        fresh.status, fresh.exit_code, fresh.evidence)
    assert not [c for c in harness_containers(podman, sandbox.run_id())
                if c.labels.get(sandbox.LABEL_INSTANCE) in ("pool", calc.instance_id)]
