#!/usr/bin/env python
"""Agent episodes: step overhead, episode start, 32 episodes at once, the agent image's cost.

Run by hand from the repository root (numbers in docs/benchmarks.md):

    .venv/bin/python benchmarks/bench_agent.py --mini-python /tmp/mini-venv/bin/python
    .venv/bin/python benchmarks/bench_agent.py --tiny          # seconds: the test's smoke run

Side by side, in one run, on the bundled task ``acme-invoicekit-41``:
1. step overhead of ``true``: the persistent shell vs a fresh exec per command (SDK and CLI)
   vs mini-swe-agent's ``DockerEnvironment.execute`` (from its own venv: ``--mini-python``);
2. episode start (``Episode.start()`` + the first observation) from the warm pool vs a cold
   create+start;
3. the pool's primitive for evaluations (acquire + exec ``true`` + release) vs
   ``docker run --rm --network none IMG true``. Not an evaluation: ``evaluate()`` does not take
   its container from the pool yet;
4. N episodes x S steps at once vs the same one at a time: step p50/p95, errors, memory per idle
   container;
5. preparing the agent image (history cut at the base commit), without the build cache.
Every container carries this run's id and is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN_ID = f"bench-agent-{uuid.uuid4().hex[:8]}"
os.environ["SWE_HARNESS_RUN_ID"] = RUN_ID
sys.path.insert(0, str(ROOT))

from swe_harness import sandbox  # noqa: E402
from swe_harness.agent import Episode, load_agent_config  # noqa: E402
from swe_harness.agent.episode import shell_setup  # noqa: E402
from swe_harness.agent.shell import Shell  # noqa: E402
from swe_harness.task import load_tasks  # noqa: E402

TASK = "acme-invoicekit-41"
STEP_COMMANDS = ["ls", "cat README.md", "grep -rn 'def ' invoicekit | head -5", "git status --short",
                 "ls invoicekit", "python -c 'print(1)'", "git diff", "wc -l tests/*.py"]
RESULTS: dict = {"rows": {}, "extra": {}}


def ms(values):
    return [v * 1000 for v in values]


def record(key, label, seconds):
    values = sorted(ms(seconds))
    row = {"label": label, "n": len(values), "p50": statistics.median(values),
           "p95": values[min(len(values) - 1, int(0.95 * len(values)))], "raw_ms": values}
    RESULTS["rows"][key] = row
    print(f"  {label:<62} n={row['n']:<4} p50 {row['p50']:8.2f} ms  p95 {row['p95']:8.2f} ms",
          flush=True)
    return row


def wait_ready(pool, image, count=1, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stock = pool._stock.get(image, [])
        if sum(f.done() for f in stock) >= count:
            return
        time.sleep(0.01)
    raise SystemExit("the pool did not warm up")


def bench_steps(image, n):
    print("1. step overhead of `true`", flush=True)
    with sandbox.WarmPool(size=0) as pool:
        container = pool.acquire(image)
        shell = Shell(container, "/workspace")
        shell.start()
        for _ in range(5):
            shell.run("true", 10)
        times = []
        for _ in range(n):
            t = time.perf_counter()
            assert shell.run("true", 10).exit_code == 0
            times.append(time.perf_counter() - t)
        record("step_shell", "persistent shell (this harness)", times)
        times = []
        for _ in range(max(5, n // 4)):
            t = time.perf_counter()
            assert container.container.exec_run(["true"]).exit_code == 0
            times.append(time.perf_counter() - t)
        record("step_sdk_exec", "fresh exec per command (docker SDK exec_run)", times)
        times = []
        for _ in range(max(5, n // 8)):
            t = time.perf_counter()
            subprocess.run(["docker", "exec", container.id, "true"], check=True)
            times.append(time.perf_counter() - t)
        record("step_cli_exec", "fresh `docker exec` per command (CLI)", times)
        shell.close()


MINI = r"""
import json, logging, os, sys, tempfile, time
os.environ.setdefault("MSWEA_GLOBAL_CONFIG_DIR", tempfile.mkdtemp())
os.environ.setdefault("MSWEA_SILENT_STARTUP", "1")
import minisweagent
from minisweagent.environments.docker import DockerEnvironment
image, run_id, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
env = DockerEnvironment(image=image, cwd="/workspace", timeout=60, logger=logging.getLogger("q"),
                        run_args=["--rm", "--network", "none", "--label", f"swe_harness.run_id={run_id}"])
for _ in range(3):
    env.execute({"command": "true"})
times = []
for _ in range(n):
    t = time.perf_counter(); out = env.execute({"command": "true"}); times.append(time.perf_counter() - t)
    assert out["returncode"] == 0, out
env.cleanup()
print(json.dumps({"version": minisweagent.__version__, "times": times}))
"""


def bench_mini(image, python, n):
    if not python:
        print("  mini-swe-agent: skipped (no --mini-python)", flush=True)
        RESULTS["extra"]["mini_swe_agent"] = "skipped"
        return
    out = subprocess.run([python, "-c", MINI, image, RUN_ID, str(n)], capture_output=True,
                         text=True, timeout=600)
    if out.returncode != 0:
        print(f"  mini-swe-agent failed: {out.stderr[-500:]}", flush=True)
        RESULTS["extra"]["mini_swe_agent"] = f"failed: {out.stderr[-300:]}"
        return
    data = json.loads(out.stdout.strip().splitlines()[-1])
    RESULTS["extra"]["mini_swe_agent"] = data["version"]
    record("step_mini", f"mini-swe-agent {data['version']} DockerEnvironment.execute", data["times"])


def bench_start(task, config, n):
    print("2. episode start: Episode.start() + the first observation", flush=True)
    reply = "```bash\ntrue\n```"
    limits = sandbox.Limits(memory=config.memory, pids=config.pids)
    with sandbox.WarmPool(size=1, limits=limits) as pool:
        image = sandbox.agent_image(task)
        pool.prewarm(image, setup=shell_setup(task, config))
        warm, cold = [], []
        for _ in range(n):
            wait_ready(pool, image)
            t = time.perf_counter()
            episode = Episode(task, config, pool=pool)
            episode.start()
            assert not episode.step(reply).done and not episode.error
            warm.append(time.perf_counter() - t)
            episode.close()
        for _ in range(n):
            t = time.perf_counter()
            episode = Episode(task, config)  # a private pool of size 0: create+start now
            episode.start()
            assert not episode.step(reply).done and not episode.error
            cold.append(time.perf_counter() - t)
            episode.close()
    record("start_pool", "from the warm pool", warm)
    record("start_cold", "cold: create + start + shell", cold)


def bench_eval_primitive(task, image, n):
    print("3. the pool's primitive for evaluations vs `docker run --rm` (not an evaluation)",
          flush=True)
    floor, pooled = [], []
    source = task.image_name
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(["docker", "run", "--rm", "--network", "none", "--label",
                        f"swe_harness.run_id={RUN_ID}", source, "true"], check=True)
        floor.append(time.perf_counter() - t)
    with sandbox.WarmPool(size=1) as pool:
        pool.prewarm(source)
        for _ in range(n):
            wait_ready(pool, source)
            t = time.perf_counter()
            container = pool.acquire(source)
            assert container.exec(["true"])[0] == 0
            container.release()
            pooled.append(time.perf_counter() - t)
    record("eval_floor", "docker run --rm --network none IMG true (CLI)", floor)
    record("eval_pool_primitive", "pool: acquire + exec true + release", pooled)


def bench_eval_pool(task, n):
    """evaluate() itself through the pool, on a trivial eval (`true`): total and overhead
    (total - eval), against the same floor."""
    import dataclasses

    from swe_harness.evaluate import EvalOptions, evaluate

    print("3b. evaluate() with a trivial eval, fresh container vs from the pool", flush=True)
    trivial = dataclasses.replace(task, eval_script="#!/bin/bash\ntrue\n")
    fresh, pooled = [], []
    image = sandbox.eval_image(trivial)  # evaluations run in the evaluation image
    for _ in range(n):  # before the pool exists: its refills would compete with these
        result = evaluate(trivial, "", "empty")
        assert result.status == "passed", (result.status, result.detail, result.error)
        fresh.append(result.duration_s["total"] - result.duration_s.get("eval", 0.0))
        sandbox.settle()  # its removal, off the critical path, is done before the next one
    with sandbox.WarmPool(size=1) as pool:
        pool.prewarm(image, setup=sandbox.open_eval_launcher)
        for _ in range(n):
            wait_ready(pool, image)
            result = evaluate(trivial, "", "empty", EvalOptions(pool=pool))
            assert result.status == "passed", (result.status, result.detail, result.error)
            pooled.append(result.duration_s["total"] - result.duration_s.get("eval", 0.0))
    record("eval_fresh_overhead", "evaluate(), trivial eval, fresh container: total - eval", fresh)
    record("eval_pool_overhead", "evaluate(), trivial eval, from the pool: total - eval", pooled)


def run_episodes(task, config, pool, count, steps, concurrency):
    reply = [f"```bash\n{STEP_COMMANDS[i % len(STEP_COMMANDS)]}\n```" for i in range(steps)]
    step_times, errors = [], []
    lock = threading.Lock()

    def one(_):
        episode = Episode(task, config, pool=pool)
        try:
            episode.start()
            if episode.error:
                raise RuntimeError(episode.error)
            for text in reply:
                t = time.perf_counter()
                step = episode.step(text)
                with lock:
                    step_times.append(time.perf_counter() - t)
                if step.ending not in (None, "step_limit"):
                    raise RuntimeError(f"ended {step.ending}: {episode.error}")
            if any(c["exit_code"] != 0 for c in episode.commands):
                raise RuntimeError(f"a command failed: {episode.commands}")
        except Exception as exc:  # noqa: BLE001
            with lock:
                errors.append(repr(exc))
        finally:
            episode.close()

    t = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as ex:
        list(ex.map(one, range(count)))
    return step_times, errors, time.perf_counter() - t


def bench_concurrent(task, config, count, steps):
    print(f"4. {count} episodes x {steps} steps at once vs one at a time", flush=True)
    config = load_agent_config(overrides=[f"step_limit={steps}"])
    image = sandbox.agent_image(task)
    with sandbox.WarmPool(size=count, lifecycle_concurrency=4) as pool:
        pool.prewarm(image, setup=shell_setup(task, config))
        wait_ready(pool, image, count, timeout=300)
        usage = []
        for future in pool._stock[image]:
            stats = future.result().container.stats(stream=False)
            usage.append(stats.get("memory_stats", {}).get("usage", 0))
        concurrent, errors_c, wall_c = run_episodes(task, config, pool, count, steps, count)
    with sandbox.WarmPool(size=1) as pool:
        pool.prewarm(image, setup=shell_setup(task, config))
        wait_ready(pool, image)
        serial, errors_s, wall_s = run_episodes(task, config, pool, count, steps, 1)
    record("steps_concurrent", f"{count} at once: step latency (mixed commands)", concurrent)
    record("steps_serial", "one at a time: step latency (mixed commands)", serial)
    RESULTS["extra"].update(
        concurrent_errors=errors_c, serial_errors=errors_s, concurrent_wall_s=round(wall_c, 2),
        serial_wall_s=round(wall_s, 2),
        idle_container_memory_mib=round(statistics.median(usage) / 2**20, 2) if usage else None)
    print(f"  errors: {len(errors_c)} at once, {len(errors_s)} serial; wall {wall_c:.1f} s at once, "
          f"{wall_s:.1f} s serial; idle container memory p50 "
          f"{RESULTS['extra']['idle_container_memory_mib']} MiB", flush=True)


def bench_prepare(task, n):
    print("5. preparing the agent image (no build cache)", flush=True)
    source = sandbox.image_id(task.image_name)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        built = sandbox.derived_image(source, "swe-harness/agent-bench",
                                      sandbox.agent_recipe(task.workdir), task.image_name,
                                      nocache=True)
        times.append(time.perf_counter() - t)
        sandbox.client().images.remove(built, force=True)
    record("prepare", "agent image build (FROM task image + history cut)", times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="seconds-long smoke run")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--starts", type=int, default=20)
    parser.add_argument("--episodes", type=int, default=32)
    parser.add_argument("--episode-steps", type=int, default=20)
    parser.add_argument("--mini-python", help="python of a venv with mini-swe-agent installed")
    parser.add_argument("--json", help="write every sample here")
    args = parser.parse_args(argv)
    if args.tiny:
        args.steps, args.starts, args.episodes, args.episode_steps = 10, 2, 2, 3
    tasks, errors = load_tasks([ROOT / "tasks" / TASK])
    if errors:
        raise SystemExit(f"cannot load {TASK}: {errors}")
    task = tasks[0]
    config = load_agent_config()
    RESULTS["extra"].update(machine=f"{os.cpu_count()} cores, {platform.platform()}",
                            python=platform.python_version(), run_id=RUN_ID,
                            started=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()))
    started = time.monotonic()
    try:
        image = sandbox.agent_image(task)
        bench_steps(image, args.steps)
        bench_mini(image, args.mini_python, max(10, args.steps // 6))
        bench_start(task, config, args.starts)
        bench_eval_primitive(task, image, args.starts)
        bench_eval_pool(task, args.starts)
        bench_concurrent(task, config, args.episodes, args.episode_steps)
        if not args.tiny:
            bench_prepare(task, 3)
    finally:
        left = sandbox.reap(RUN_ID)
        RESULTS["extra"]["containers_left_removed"] = left
    rows = RESULTS["rows"]
    ratios = {
        "shell_vs_sdk_exec": rows["step_sdk_exec"]["p50"] / rows["step_shell"]["p50"],
        "start_cold_vs_pool": rows["start_cold"]["p50"] / rows["start_pool"]["p50"],
        "pool_primitive_vs_floor": rows["eval_pool_primitive"]["p50"] / rows["eval_floor"]["p50"],
        "eval_pool_overhead_vs_floor": rows["eval_pool_overhead"]["p50"] / rows["eval_floor"]["p50"],
        "eval_fresh_overhead_vs_floor": rows["eval_fresh_overhead"]["p50"] / rows["eval_floor"]["p50"],
        "steps_p50_concurrent_vs_serial": rows["steps_concurrent"]["p50"] / rows["steps_serial"]["p50"],
    }
    if "step_mini" in rows:
        ratios["mini_vs_shell"] = rows["step_mini"]["p50"] / rows["step_shell"]["p50"]
    RESULTS["ratios"] = {k: round(v, 2) for k, v in ratios.items()}
    RESULTS["extra"]["wall_s"] = round(time.monotonic() - started, 1)
    print("ratios (p50):", json.dumps(RESULTS["ratios"]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(RESULTS, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
