"""A real two-node Ray cluster on this machine: ``ray start --head`` and a second ``ray start
--address`` node, each with its own ``swe_engine`` resource and temp dir (both use this
machine's Docker engine). The ``cluster`` fixture (conftest) starts one per test module."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

HEAD_IP, NODE_IP = "127.0.0.2", "127.0.0.3"  # loopback addresses Ray keeps as they are
# one per test process: a driver process keeps the first token it reads, so every cluster it
# starts (one per test module) takes this one
TOKEN = uuid.uuid4().hex + uuid.uuid4().hex


def import_ray():
    try:
        import ray
    except ImportError:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI=true and Ray is not installed (pip install -e '.[ray]')", pytrace=False)
        pytest.skip("Ray is not installed (pip install -e '.[ray]')")
    return ray


class Node:
    """One ``ray start --block`` process group; its workers are the raylet's children."""

    def __init__(self, tmp: Path, name: str, env: dict[str, str], *args: str):
        ray_cli = Path(sys.executable).parent / "ray"
        self.log = tmp / f"{name}.log"
        self.proc = subprocess.Popen(
            [str(ray_cli), "start", "--block", "--num-cpus", "1", "--disable-usage-stats",
             "--object-store-memory", str(80 * 1024 * 1024), "--temp-dir", str(tmp / name),
             "--dashboard-agent-listen-port", "0", "--metrics-export-port", "0", *args],
            stdin=subprocess.DEVNULL, stdout=self.log.open("w"), stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **env})

    def kill(self) -> None:
        """Everything of this node dies at once, as when its machine goes away."""
        workers = _children_of({pid for pid in _pids_in_group(self.proc.pid)})
        os.killpg(self.proc.pid, signal.SIGKILL)
        for pid in workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(30)


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _pids_in_group(pgid: int) -> set[int]:
    return {int(p) for p in os.listdir("/proc") if p.isdigit()
            and (fields := _stat(int(p))) and int(fields[2]) == pgid}


def _children_of(parents: set[int]) -> set[int]:
    return {int(p) for p in os.listdir("/proc") if p.isdigit()
            and (fields := _stat(int(p))) and int(fields[1]) in parents}


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)


@contextlib.contextmanager
def two_nodes():
    """Head (2 engine slots) + node (2 engine slots), token auth with a token of their own
    (:data:`TOKEN`); this process is their driver. Yields (address, start_node, the second node, the
    environment a driver needs)."""
    ray_module = import_ray()
    # short: Ray's unix sockets live below it (107 bytes at most), xdist's tmp paths are long
    tmp = Path(tempfile.mkdtemp(prefix="swe-ray-", dir="/tmp"))
    address = f"{HEAD_IP}:{_free_port(HEAD_IP)}"
    resources = '{"swe_engine": 2}'
    env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": TOKEN}
    saved = {key: os.environ.get(key) for key in env}
    head = Node(tmp, "head", env, "--head", "--node-ip-address", HEAD_IP,
                "--port", address.split(":")[1], "--include-dashboard", "false",
                "--resources", resources)
    nodes = [head]

    def start_node() -> Node:
        node = Node(tmp, f"node{len(nodes)}", env, "--address", address, "--node-ip-address", NODE_IP,
                    "--resources", resources)
        nodes.append(node)
        return node

    try:
        wait_for(lambda: "Ray runtime started" in head.log.read_text()
                 or head.proc.poll() is not None, 120, "the head node")
        assert head.proc.poll() is None, "the head node ended:\n" + head.log.read_text()[-3000:]
        second = start_node()
        os.environ.update(env)  # this process is the driver
        from ray._raylet import Config

        Config.initialize("")  # Ray reads RAY_AUTH_* then (it may have been imported already)
        ray_module.init(address=address, logging_level="warning", log_to_driver=False)
        from swe_harness.distributed import RayExecutor

        wait_for(lambda: len(RayExecutor(address).nodes()) == 2, 120, "the second node")
        yield address, start_node, second, env
    finally:
        ray_module.shutdown()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        for node in nodes:
            if node.proc.poll() is None:
                node.kill()
        shutil.rmtree(tmp, ignore_errors=True)
