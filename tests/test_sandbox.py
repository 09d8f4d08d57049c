"""The Docker edge against the real engine: labels, removal, the reaper, no leaks on signals."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest

from swe_harness import sandbox
from swe_harness.task import load_tasks

from .conftest import write_task_dir

pytestmark = pytest.mark.docker

SLOW_DOCKERFILE = """ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
WORKDIR /workspace
RUN git init -q && git -c user.name=t -c user.email=t@t commit -q --allow-empty -m base
"""


def containers_of(run: str):
    sandbox.settle()
    return sandbox.client().containers.list(
        all=True, filters={"label": [f"{sandbox.LABEL_RUN}={run}"]}, ignore_removed=True)


@pytest.fixture(scope="module")
def slow_tasks(tmp_path_factory, docker_engine):
    """Two tasks whose eval sleeps for a minute."""
    root = tmp_path_factory.mktemp("slow")
    for iid in ("slow-sleep-1", "slow-sleep-2"):
        task_dir = write_task_dir(root, iid, image_name="swe-harness/test-slow:latest",
                                  timeout=120)
        (task_dir / "eval_script.sh").write_text("#!/bin/bash\nsleep 60\n")
        (task_dir / "Dockerfile").write_text(SLOW_DOCKERFILE)
    return root


def test_labels_limits_and_removal(slow_tasks):
    (task, _), _ = load_tasks([slow_tasks])
    seen = {}

    class Spy(sandbox.Container):  # a real container; we only look at it while it runs
        def start(self):
            super().start()
            attrs = sandbox.client().api.inspect_container(self._container.id)
            seen.update(labels=attrs["Config"]["Labels"], host=attrs["HostConfig"])

    sandbox.ensure_image(task)
    result_before = {c.id for c in containers_of(sandbox.run_id())}
    container = Spy(task.image_name, ["true"], "/workspace", {sandbox.LABEL_INSTANCE: task.instance_id})
    container.create()
    container.start()
    assert container.wait(30) == 0
    container.remove()
    assert seen["labels"][sandbox.LABEL_RUN] == sandbox.run_id()
    assert seen["labels"][sandbox.LABEL_INSTANCE] == "slow-sleep-1"
    host = seen["host"]
    assert host["NetworkMode"] == "none" and host["Init"] is True
    assert host["PidsLimit"] == 2048 and host["Memory"] == 4 * 1024 ** 3
    assert {c.id for c in containers_of(sandbox.run_id())} == result_before


def test_reaper_removes_only_dead_owners(slow_tasks):
    image = "swe-harness/test-slow:latest"
    sandbox.ensure_image(load_tasks([slow_tasks])[0][0])
    run = f"reap-{uuid.uuid4().hex[:6]}"
    client = sandbox.client()
    common = {sandbox.LABEL: "1", sandbox.LABEL_RUN: run}
    alive = client.containers.create(image, "true", labels={**common, sandbox.LABEL_OWNER: sandbox.owner()})
    dead_pid = _dead_pid()
    dead = client.containers.create(image, "true", labels={
        **common, sandbox.LABEL_OWNER: f"{sandbox.socket.gethostname()}:{dead_pid}"})
    try:
        assert sandbox.reap() >= 1
        remaining = {c.id for c in containers_of(run)}
        assert alive.id in remaining and dead.id not in remaining
        assert sandbox.reap(run) == 1
        assert containers_of(run) == []
    finally:
        for c in (alive, dead):
            try:
                c.remove(force=True)
            except Exception:
                pass


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _start_run(slow_tasks, tmp_path, run):
    env = {**os.environ, "SWE_HARNESS_RUN_ID": run}
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "--swe-tasks", str(slow_tasks), "--swe-patch", "empty",
         "-n", "2", "-p", "no:cacheprovider", "-q", "--swe-no-cache"],
        cwd=tmp_path, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_for_containers(run, count, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len([c for c in containers_of(run) if c.status == "running"]) >= count:
            return
        time.sleep(0.5)
    raise AssertionError(f"run {run} never had {count} running containers")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL],
                         ids=["SIGINT", "SIGTERM", "SIGKILL"])
def test_no_container_survives_a_killed_xdist_run(slow_tasks, tmp_path, signum):
    run = f"leak-{signum}-{uuid.uuid4().hex[:6]}"
    proc = _start_run(slow_tasks, tmp_path, run)
    try:
        _wait_for_containers(run, 2)
        os.killpg(proc.pid, signum)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    if signum != signal.SIGKILL:
        assert containers_of(run) == [], "an interrupted run removes its own containers"
        return
    assert containers_of(run), "SIGKILL leaves containers behind until the next start"
    # The next start of any run reaps containers whose owner process is gone.
    nxt = subprocess.run([sys.executable, "-m", "pytest", "--swe-tasks", str(slow_tasks),
                          "--collect-only", "-q", "-p", "no:cacheprovider"],
                         cwd=tmp_path, capture_output=True, timeout=120)
    assert nxt.returncode == 0, nxt.stdout
    assert containers_of(run) == []


def test_daemon_unreachable_is_an_error_for_every_item(pytester, slow_tasks):
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "--swe-tasks", str(slow_tasks),
                           "--swe-report", str(pytester.path / "r.jsonl"), "-p", "no:cacheprovider"],
                          cwd=pytester.path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    lines = [json.loads(l) for l in (pytester.path / "r.jsonl").read_text().splitlines()]
    assert [(l["status"], l["reward"]) for l in lines] == [("error", None)] * 2
    assert all("Docker engine unreachable" in l["error"] for l in lines)


ENV_DOCKERFILE = """ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
# the environment layer: same for every task of this repo
RUN mkdir -p /opt/env && head -c 5000000 /dev/urandom > /opt/env/deps.bin
WORKDIR /workspace
COPY repo/ /workspace/
RUN git init -q && git add -A && git -c user.name=t -c user.email=t@t commit -q -m base
"""


def test_tasks_of_one_repo_share_the_environment_layer(tmp_path):
    """Two tasks of one repo at different commits: one environment layer on disk, not two."""
    root = tmp_path / "tasks"
    for n, source in ((1, "x = 1\n"), (2, "x = 2\n")):
        iid = f"envshare-repo-{n}"
        task_dir = write_task_dir(root, iid, image_name=f"swe-harness/test-envshare-{n}:latest")
        (task_dir / "Dockerfile").write_text(ENV_DOCKERFILE)
        (task_dir / "repo").mkdir()
        (task_dir / "repo" / "m.py").write_text(source)
    tasks, _ = load_tasks([root])
    client = sandbox.client()
    try:
        for task in tasks:
            sandbox.ensure_image(task, "always")
        layers = [client.images.get(t.image_name).attrs["RootFS"]["Layers"] for t in tasks]
        assert layers[0] != layers[1]
        shared = [a for a, b in zip(*layers) if a == b]
        assert len(shared) == len(layers[0]) - 2, "all but the repo and commit layers are shared"
        sizes = {t.instance_id: (size, unique) for t, size, unique in sandbox.image_sizes(tasks)}
        for size, unique in sizes.values():
            assert unique < 1_000_000 < 5_000_000 < size  # the 5 MB env layer is counted once
    finally:
        for task in tasks:
            client.images.remove(task.image_name, force=True)


def test_engine_slots_cap_concurrent_operations_per_engine(monkeypatch):
    """At most ENGINE_OPS holders at once per engine, across threads (and processes: flock);
    another engine has its own slots."""
    monkeypatch.setattr(sandbox, "ENGINE_OPS", 2)
    url = f"unix:///tmp/swe-test-engine-{uuid.uuid4().hex[:8]}.sock"  # never connected to
    other = url + ".other"
    holding, most, lock = {url: 0, other: 0}, {url: 0, other: 0}, threading.Lock()

    def hold(engine_url):
        with sandbox.engine(engine_url), sandbox.engine_slot():
            with lock:
                holding[engine_url] += 1
                most[engine_url] = max(most[engine_url], holding[engine_url])
            time.sleep(0.2)
            with lock:
                holding[engine_url] -= 1

    threads = [threading.Thread(target=hold, args=(u,)) for u in [url] * 6 + [other] * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert most == {url: 2, other: 2}
