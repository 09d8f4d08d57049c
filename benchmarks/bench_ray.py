"""Ray executor: dispatch overhead per evaluation, and throughput of 2 Ray nodes against xdist.

1. Dispatch overhead: the same evaluations one at a time, in-process (``evaluate()``) and as Ray
   tasks on a one-slot node (submit, run on a worker, result back, reward on the driver). The
   evaluations are rejected candidates, so no container runs and the difference is Ray's.
   Then real evaluations (gold, one bundled task), again one at a time.
2. Throughput: ``pytest --swe-tasks tasks/ --swe-validate --swe-repeat 3 --swe-no-cache`` (30
   evaluations) with ``-n 2`` against ``--swe-ray ADDRESS`` on a cluster of 2 local nodes with
   one ``swe_engine`` slot each.

    .venv/bin/python benchmarks/bench_ray.py [--n 200]

Starts its own cluster on loopback addresses (token auth) and removes it at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RAY = str(Path(sys.executable).parent / "ray")


def start_cluster(tmp: Path, env: dict[str, str], slots: int) -> tuple[str, list]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.2", 0))
        port = sock.getsockname()[1]
    address = f"127.0.0.2:{port}"
    common = ["start", "--block", "--num-cpus", "1", "--disable-usage-stats",
              "--object-store-memory", str(80 << 20), "--dashboard-agent-listen-port", "0",
              "--metrics-export-port", "0", "--resources", json.dumps({"swe_engine": slots})]
    procs = []
    for name, extra in (("head", ["--head", "--port", str(port), "--node-ip-address", "127.0.0.2",
                                  "--include-dashboard", "false"]),
                        ("node", ["--address", address, "--node-ip-address", "127.0.0.3"])):
        log = (tmp / f"{name}.log").open("w")
        procs.append(subprocess.Popen([RAY, *common, "--temp-dir", str(tmp / name), *extra],
                                      stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True, env={**os.environ, **env}))
        deadline = time.monotonic() + 120
        while "Ray runtime started" not in (tmp / f"{name}.log").read_text():
            assert time.monotonic() < deadline, f"{name} did not start"
            time.sleep(0.2)
    return address, procs


def stop_cluster(procs: list) -> None:
    for proc in procs:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def dispatch(n: int) -> dict:
    import ray

    from swe_harness import sandbox
    from swe_harness.distributed import RayExecutor
    from swe_harness.evaluate import EvalOptions, candidate_for, evaluate
    from swe_harness.rewards import reward_for
    from swe_harness.task import load_tasks

    tasks, _ = load_tasks([ROOT / "tasks"])
    task = tasks[0]
    sandbox.ensure_image(task)
    rejected = [(task, f"not a diff {i}\n", "model") for i in range(n)]
    gold = [(task, candidate_for(task, "gold"), "gold")] * max(1, min(10, n // 20))
    out = {}
    for name, jobs in (("rejected", rejected), ("gold", gold)):
        started = time.perf_counter()
        for job in jobs:
            reward_for(job[0], evaluate(*job, EvalOptions()))
        out[f"local_{name}_ms"] = (time.perf_counter() - started) / len(jobs) * 1000
    with RayExecutor(slots=1) as executor:  # a local one-node cluster, one slot: one at a time
        executor.evaluate(rejected[:20])  # workers started, functions exported
        for name, jobs in (("rejected", rejected), ("gold", gold)):
            started = time.perf_counter()
            lines = executor.evaluate(jobs)
            out[f"ray_{name}_ms"] = (time.perf_counter() - started) / len(jobs) * 1000
            assert all(line["status"] != "error" for line in lines), lines[:2]
        # the run's fixed costs (node probe, end-of-run reap), paid once per run, not per eval
        started = time.perf_counter()
        executor.evaluate(rejected[:1])
        out["ray_run_fixed_ms"] = (time.perf_counter() - started) * 1000 - out["ray_rejected_ms"]
    assert not ray.is_initialized()
    for name in ("rejected", "gold"):
        out[f"overhead_{name}_ms"] = out[f"ray_{name}_ms"] - out[f"local_{name}_ms"]
    return out


def throughput(tiny: bool = False) -> dict:
    env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": uuid.uuid4().hex * 2}
    args = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--swe-tasks",
            str(ROOT / "tasks"), "--swe-validate", "--swe-repeat", "1" if tiny else "3",
            "--swe-no-cache"] + (["-k", "brightline"] if tiny else [])
    out = {}
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
        address, procs = start_cluster(Path(tmp), env, slots=1)
        try:
            for name, extra in (("xdist_n2", ["-n", "2"]), ("ray_2_nodes", ["--swe-ray", address])):
                times = []
                for _ in range(1 if tiny else 2):
                    started = time.perf_counter()
                    run = subprocess.run(args + extra, cwd=tmp, capture_output=True, text=True,
                                         env={**os.environ, **env})
                    times.append(time.perf_counter() - started)
                    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
                out[f"{name}_s"] = min(times)
                out[f"{name}_runs_s"] = times
        finally:
            stop_cluster(procs)
    out["evaluations"] = 3 if tiny else 6 * 5
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200, help="rejected evaluations for dispatch")
    parser.add_argument("--tiny", action="store_true",
                        help="every step once on one task (tests/test_benchmarks.py)")
    args = parser.parse_args()
    n = 5 if args.tiny else args.n
    result = {"machine": f"{platform.node()} {os.cpu_count()} CPUs, {platform.platform()}",
              "dispatch": dispatch(n), "throughput": throughput(args.tiny)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
