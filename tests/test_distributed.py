"""Evaluations on a real two-node Ray cluster started here (the ``cluster`` fixture,
:mod:`tests.ray_cluster`): the same statuses as a local run, placement, and a node killed
mid-run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

from swe_harness import sandbox
from swe_harness.evaluate import EvalOptions, candidate_for, evaluate
from swe_harness.rewards import reward_for
from swe_harness.task import load_tasks

from .conftest import write_task_dir
from .ray_cluster import HEAD_IP, NODE_IP, wait_for
from .synthetic import adversarial_sample, calc_task, harness_containers

pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("ray-cluster")]

SLOW_DOCKERFILE = """ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
WORKDIR /workspace
RUN git init -q && git -c user.name=t -c user.email=t@t commit -q --allow-empty -m base
"""
# what a report line says about the verdict (durations and log timings differ run to run)
VERDICT = ("instance_id", "patch", "reward", "status", "exit_code", "apply_method", "evidence",
           "image", "error", "detail")


def local_lines(jobs, options=EvalOptions()):
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda job: evaluate(job[0], job[1], job[2], options), jobs))
    return [r.report(reward_for(job[0], r)) for job, r in zip(jobs, results)]


def verdicts(lines):
    return [{key: line.get(key) for key in VERDICT} for line in lines]


def test_submit_places_work_on_a_chosen_node(cluster):
    from swe_harness.distributed import RayExecutor

    executor = RayExecutor(cluster[0])
    nodes = executor.nodes()
    assert [node.slots for node in nodes] == [2, 2]
    assert {node.address for node in nodes} == {HEAD_IP, NODE_IP}
    import ray

    where = ray.get([executor.submit(_node_id, node=node, strict=True) for node in nodes])
    assert where == [node.node_id for node in nodes]


def _node_id() -> str:
    import ray

    return ray.get_runtime_context().get_node_id()


def test_gold_statuses_match_a_local_run(cluster, bundled_tasks, fresh_run):
    from swe_harness.distributed import RayExecutor

    jobs = [(task, candidate_for(task, "gold"), "gold") for task in bundled_tasks.values()]
    lines = RayExecutor(cluster[0]).evaluate(jobs)
    assert [line["status"] for line in lines] == ["passed"] * len(jobs), lines
    assert verdicts(lines) == verdicts(local_lines(jobs))
    assert not harness_containers(sandbox.client(), fresh_run)


def test_adversarial_statuses_match_a_local_run(cluster, tmp_path, fresh_run):
    from swe_harness.distributed import RayExecutor

    calc = calc_task(tmp_path)
    sandbox.ensure_image(calc)
    sample = adversarial_sample(calc)
    jobs = [(calc, text, "gold" if name == "fix" else "model") for name, (text, _) in sample.items()]
    ray_lines = RayExecutor(cluster[0]).evaluate(jobs, EvalOptions(cache_dir=None))
    statuses = dict(zip(sample, (line["status"] for line in ray_lines)))
    assert statuses == {name: status for name, (_, status) in sample.items()}, [
        line.get("error") for line in ray_lines]
    assert verdicts(ray_lines) == verdicts(local_lines(jobs))


def cli(*args, env, cwd):
    return subprocess.run([sys.executable, "-m", "swe_harness", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_cli_and_pytest_entries_give_the_local_report(cluster, bundled_tasks, copy_tasks,
                                                      tmp_path):
    address, _, _, auth = cluster
    env = {**os.environ, **auth}
    root = copy_tasks(*sorted(bundled_tasks)[:2])
    images = cli("images", str(root), "--ray", address, env=env, cwd=tmp_path)
    assert images.returncode == 0, images.stdout + images.stderr
    assert images.stdout.count("present") == 4 and "2 engine node(s)" in images.stdout
    local = cli("eval", str(root), "--report", "local.jsonl", env=env, cwd=tmp_path)
    on_ray = cli("eval", str(root), "--ray", address, "--report", "ray.jsonl", env=env,
                 cwd=tmp_path)
    assert local.returncode == 0 and on_ray.returncode == 0, on_ray.stdout + on_ray.stderr
    plugin = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--swe-tasks", str(root),
         "--swe-ray", address, "--swe-report", "pytest.jsonl"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert plugin.returncode == 0, plugin.stdout[-3000:] + plugin.stderr[-3000:]
    read = lambda name: [json.loads(line) for line in (tmp_path / name).read_text().splitlines()]
    by_id = lambda lines: sorted(lines, key=lambda line: line["instance_id"])
    assert verdicts(read("ray.jsonl")) == verdicts(read("local.jsonl"))
    assert verdicts(by_id(read("pytest.jsonl"))) == verdicts(read("local.jsonl"))
    started_here = cli("eval", str(root), "--ray", "--report", "own.jsonl", env=env, cwd=tmp_path)
    assert started_here.returncode == 0, started_here.stdout + started_here.stderr
    assert "on 1 Ray node(s)" in started_here.stdout
    assert verdicts(read("own.jsonl")) == verdicts(read("local.jsonl"))


def test_a_build_context_missing_on_the_nodes_is_shipped_to_them(cluster, tmp_path, fresh_run):
    """As on a node of another machine: the task's directory is not there, so the image is
    built from the copy the driver put in the object store."""
    from swe_harness.distributed import RayExecutor

    task_dir = write_task_dir(tmp_path / "tasks", "ray-ctx-1",
                              image_name="swe-harness/test-ray-ctx:latest")
    (task_dir / "Dockerfile").write_text(SLOW_DOCKERFILE + "COPY eval_script.sh /opt/\n")
    (task,), _ = load_tasks([task_dir])
    executor = RayExecutor(cluster[0])
    executor._context_ref(task.build_context)  # what the driver holds before the path goes
    task_dir.rename(tmp_path / "gone")
    states = executor.prepare_images([task], "always")
    assert [s["ray-ctx-1"] for s in states.values()] == ["made", "made"], states


def test_placer_prefers_the_node_that_holds_the_image():
    from swe_harness.distributed import EngineNode, Placer

    def job(image):
        return (SimpleNamespace(image_name=image), "", "gold")

    a, b = EngineNode("a", "10.0.0.1", 1), EngineNode("b", "10.0.0.2", 1)
    jobs = [job("x"), job("y"), job("x"), job("z")]
    placer = Placer(jobs, {a: set(), b: {"y"}})
    first = dict((node.node_id, index) for node, index in placer.assign())
    assert first == {"a": 0, "b": 1}  # a makes x (nobody has it); b runs y, which it holds
    placer.release(a)
    assert list(placer.assign()) == [(a, 2)]  # x again: a holds it now
    placer.release(b)
    assert list(placer.assign()) == [(b, 3)]  # z: nobody holds it
    assert placer.pending == 0


def test_placer_stops_placing_on_dead_nodes_and_drains():
    from swe_harness.distributed import EngineNode, Placer

    a, b = EngineNode("a", "h", 2), EngineNode("b", "h", 2)
    jobs = [(SimpleNamespace(image_name="x"), "", "gold")] * 6
    placer = Placer(jobs, {a: {"x"}, b: set()})
    assert sorted(node.node_id for node, _ in placer.assign()) == ["a", "a", "b", "b"]
    placer.forget_dead({"a"})
    placer.release(a)
    assert [node.node_id for node, _ in placer.assign()] == ["a"]
    placer.forget_dead(set())
    assert list(placer.assign()) == [] and placer.drain() == [5]


# ------------------------------------------------------------------ last: it kills nodes


@pytest.fixture(scope="module")
def slow_task(docker_engine, tmp_path_factory):
    root = tmp_path_factory.mktemp("ray-slow")
    task_dir = write_task_dir(root, "ray-slow-1", image_name="swe-harness/test-ray-slow:latest",
                              timeout=120)
    (task_dir / "eval_script.sh").write_text("#!/bin/bash\nsleep 8\necho done\n")
    (task_dir / "Dockerfile").write_text(SLOW_DOCKERFILE)
    (task,), _ = load_tasks([task_dir])
    sandbox.ensure_image(task)
    return task


def _run_and_kill(address, node, jobs, max_retries):
    """Evaluate ``jobs`` on the cluster; kill ``node`` once every evaluation's container runs."""
    from swe_harness.distributed import RayExecutor

    run = sandbox.run_id()
    out: list = []
    driver = threading.Thread(daemon=True, target=lambda: out.extend(
        RayExecutor(address, max_retries=max_retries).evaluate(jobs, EvalOptions(cache_dir=None))))
    driver.start()
    # the raw listing: containers come and go, and inspecting each one races with removal
    running = lambda: sandbox.client().api.containers(
        filters={"label": f"{sandbox.LABEL_RUN}={run}", "status": "running"})
    wait_for(lambda: len(running()) >= len(jobs), 120, "every evaluation to start")
    node.kill()
    driver.join(300)
    assert not driver.is_alive()
    return out


def test_a_node_killed_mid_run(cluster, slow_task, monkeypatch):
    """Killed with retries left: its evaluations run again on the other node and pass.
    Killed without: they end as ``error`` (reward None), never 0.0. Either way, the containers
    the dead node's workers left are gone after the next run."""
    address, start_node, second, _ = cluster
    jobs = [(slow_task, "", "empty")] * 4  # 2 slots per node: two evaluations on each

    runs = [f"raykill-{uuid.uuid4().hex[:8]}", f"raykill-{uuid.uuid4().hex[:8]}"]
    monkeypatch.setenv("SWE_HARNESS_RUN_ID", runs[0])
    retried = _run_and_kill(address, second, jobs, max_retries=2)
    assert [line["status"] for line in retried] == ["passed"] * 4, retried

    replacement = start_node()
    from swe_harness.distributed import RayExecutor

    wait_for(lambda: len(RayExecutor(address).nodes()) == 2, 120, "the replacement node")
    monkeypatch.setenv("SWE_HARNESS_RUN_ID", runs[1])
    exhausted = _run_and_kill(address, replacement, jobs, max_retries=0)
    statuses = sorted(line["status"] for line in exhausted)
    assert statuses == ["error", "error", "passed", "passed"], exhausted
    assert all(line["reward"] is None for line in exhausted if line["status"] == "error")
    assert all(line["reward"] == 1.0 for line in exhausted if line["status"] == "passed")

    monkeypatch.setenv("SWE_HARNESS_RUN_ID", f"raynext-{uuid.uuid4().hex[:8]}")
    RayExecutor(address).evaluate([(slow_task, "", "empty")], EvalOptions(timeout_s=1))
    for run in runs:
        assert not harness_containers(sandbox.client(), run)
