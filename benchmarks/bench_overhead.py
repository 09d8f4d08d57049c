#!/usr/bin/env python
"""swe_harness evaluation overhead, measured side by side with the Docker floor and with peers.

Run by hand (not part of the test suite), from the repository root:

    .venv/bin/python benchmarks/bench_overhead.py            # full run, ~5 min on 2 cores
    .venv/bin/python benchmarks/bench_overhead.py --quick    # smaller N, ~2 min (smoke)

What it measures, all in one run on one machine and one image (see docs/benchmarks.md):

1. floor: ``docker run --rm --network none IMAGE true`` (CLI) and the docker-py SDK calls the
   harness is made of (create, start, exec, put_archive, get_archive, remove);
2. swe_harness: ``evaluate(task, patch)`` on a trivial eval; overhead = total - eval, teardown;
3. peers on the same task and patch: the seed's ``docker run --rm ... bash -c 'git apply && eval'``,
   mini-swe-agent's DockerEnvironment (fresh ``docker exec`` per command), a SWE-bench-style
   teardown (``tail -f /dev/null`` as PID 1 without init, ``stop`` with a 10 s grace period);
4. throughput: ``sleep 3`` evals, serial vs ``pytest -n 2`` (and a 2-thread pool);
5. overhead vs concurrency (1, 2, 4, 8 threads) -> docs/benchmark_overhead_vs_concurrency.png;
6. profile: each SDK call inside one evaluation, timed around the same calls, plus cProfile.

The benchmark makes its own synthetic task (a tiny git repo built FROM the harness base image),
labels every container it creates and removes them all at the end; it prints a table of medians and
ratios and writes the raw numbers as JSON (``--json``).
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import io
import json
import logging
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN_ID = f"bench-{uuid.uuid4().hex[:8]}"
# Every harness container of this run carries this run id (sandbox.LABEL_RUN); set before import.
os.environ["SWE_HARNESS_RUN_ID"] = RUN_ID
os.environ.setdefault("MSWEA_SILENT_STARTUP", "1")
BENCH_LABEL = "swe_harness.bench"  # on every non-harness container this script creates
IMAGE = "swe-harness/bench-synthetic:latest"
WORKDIR = "/workspace"

from swe_harness import patch as patchlib  # noqa: E402
from swe_harness import sandbox  # noqa: E402
from swe_harness.evaluate import EvalOptions, evaluate  # noqa: E402
from swe_harness.spec import build_spec  # noqa: E402
from swe_harness.task import load_tasks  # noqa: E402

# the package re-exports the function evaluate() under the module's name
evaluate_mod = importlib.import_module("swe_harness.evaluate")

# ---------------------------------------------------------------- the synthetic task

REPO = {
    "calc.py": "def add(a, b):\n    return a - b\n",
    "tests/__init__.py": "",
    "README.md": "A tiny repository for benchmarks.\n",
}
FIX_PATCH = """diff --git a/calc.py b/calc.py
--- a/calc.py
+++ b/calc.py
@@ -1,2 +1,2 @@
 def add(a, b):
-    return a - b
+    return a + b
"""
TEST_PATCH = """diff --git a/tests/test_calc.py b/tests/test_calc.py
new file mode 100644
--- /dev/null
+++ b/tests/test_calc.py
@@ -0,0 +1,4 @@
+from calc import add
+
+def test_add():
+    assert add(2, 3) == 5
"""
DOCKERFILE = f"""ARG BASE_IMAGE=python:3.11-slim
FROM ${{BASE_IMAGE}}
WORKDIR {WORKDIR}
COPY repo/ {WORKDIR}/
RUN git init -q && git add -A \\
 && git -c user.name=bench -c user.email=bench@localhost commit -q -m base
"""
EVALS = {
    "trivial": "#!/bin/bash\nset -e\ncd /workspace\nexit 0\n",
    "pytest1": "#!/bin/bash\nset -e\ncd /workspace\npython -m pytest tests/test_calc.py -q -p no:cacheprovider\n",
    "sleep3": "#!/bin/bash\nset -e\ncd /workspace\nsleep 3\n",
}


def write_task(root: Path, instance_id: str, eval_kind: str, salt: str = "") -> Path:
    """A task dir; ``salt`` (a comment in the eval script) makes otherwise identical tasks distinct
    for the harness's per-run reward cache, as distinct real tasks are."""
    task_dir = root / instance_id
    (task_dir / "repo" / "tests").mkdir(parents=True)
    for rel, text in REPO.items():
        (task_dir / "repo" / rel).write_text(text)
    (task_dir / "Dockerfile").write_text(DOCKERFILE)
    script = EVALS[eval_kind] + (f"# {salt}\n" if salt else "")
    (task_dir / "eval_script.sh").write_text(script)
    record = {
        "instance_id": instance_id, "repo": "bench/calc", "base_commit": "0" * 40,
        "problem_statement": "add() subtracts.", "gold_patch": FIX_PATCH + TEST_PATCH,
        "fix_patch": FIX_PATCH, "test_patch": TEST_PATCH, "test_files": ["tests/test_calc.py"],
        "image_name": IMAGE, "eval_script": script,
    }
    (task_dir / "task.json").write_text(json.dumps(record, indent=1))
    return task_dir


def parse_fields(text: str) -> dict[str, str]:
    """The ``key=value`` lines runner.sh writes to /swe/out/result (first value of a key wins)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key not in fields:
            fields[key] = value
    return fields


def harness_files(task, candidate: str) -> dict:
    """What evaluate() copies into the container: the files of its spec."""
    spec = build_spec(task, patchlib.normalize(candidate), EvalOptions(),
                      sandbox.ensure_image(task, "missing"))
    return spec.tar_files()


def load_one(task_dir: Path):
    tasks, errors = load_tasks([task_dir])
    if errors:
        raise SystemExit(f"synthetic task does not load: {errors}")
    return tasks[0]


# ---------------------------------------------------------------- stats and output


def pct(values: list[float], q: float) -> float:
    xs = sorted(values)
    if not xs:
        return float("nan")
    pos = (len(xs) - 1) * q
    lo, hi = int(pos), min(int(pos) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summary(values: list[float]) -> dict:
    return {"n": len(values), "p50": pct(values, 0.5), "p95": pct(values, 0.95),
            "mean": statistics.fmean(values) if values else float("nan"),
            "min": min(values) if values else float("nan")}


RESULTS: dict = {"rows": {}, "ratios": {}, "extra": {}}


def record(key: str, label: str, values: list[float], note: str = "") -> dict:
    row = {"label": label, "note": note, **summary(values), "values": [round(v, 4) for v in values]}
    RESULTS["rows"][key] = row
    print(f"  {label:<58} n={row['n']:<3} p50={ms(row['p50']):>9}  p95={ms(row['p95']):>9}  {note}",
          flush=True)
    return row


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def sh(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def machine() -> dict:
    mem_kb = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    info = json.loads(sh(["docker", "info", "--format", "{{json .}}"]).stdout or "{}")
    commit = sh(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]).stdout.strip()
    dirty = bool(sh(["git", "-C", str(ROOT), "status", "--porcelain", "swe_harness"]).stdout.strip())
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    return {
        "nproc": os.cpu_count(), "cpu": cpu, "mem_gib": round(mem_kb / 2**20, 1),
        "kernel": platform.release(), "python": platform.python_version(),
        "docker_client": sh(["docker", "version", "--format", "{{.Client.Version}}"]).stdout.strip(),
        "docker_server": info.get("ServerVersion"), "runtime": info.get("DefaultRuntime"),
        "cgroup": info.get("CgroupVersion"), "storage": info.get("Driver"),
        "docker_py": __import__("docker").__version__,
        "swe_harness_commit": commit + ("+dirty" if dirty else ""),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "loadavg_at_start": open("/proc/loadavg").read().split()[:3],
    }


# ---------------------------------------------------------------- 1. the floor


def bench_floor(n: int) -> None:
    print("\n[1] Docker floor", flush=True)
    label = ["--label", f"{BENCH_LABEL}={RUN_ID}"]
    run_true = ["docker", "run", "--rm", "--network", "none", *label, IMAGE, "true"]
    for _ in range(2):
        sh(run_true, check=True)
    record("cli_run_true", "CLI docker run --rm --network none IMAGE true",
           [timed(sh, run_true, check=True)[0] for _ in range(n)])

    client = sandbox.client()
    labels = {BENCH_LABEL: RUN_ID}
    files = harness_files(load_one(TASK_DIRS["trivial"]), FIX_PATCH)
    tar = sandbox.make_tar(files)
    phases: dict[str, list[float]] = {k: [] for k in
                                      ("create", "start", "exec", "put", "get", "remove", "cycle")}
    run_cycle, logs = [], []
    for i in range(n + 2):
        t0 = time.perf_counter()
        dt_c, ctr = timed(client.containers.create, IMAGE, ["sleep", "infinity"], network_mode="none",
                          init=True, labels=labels, working_dir=WORKDIR)
        dt_p, _ = timed(ctr.put_archive, "/", tar)
        dt_s, _ = timed(ctr.start)
        dt_e, _ = timed(ctr.exec_run, ["true"])
        dt_g, (stream, _) = timed(ctr.get_archive, "/swe/out")
        b"".join(stream)
        dt_r, _ = timed(ctr.remove, force=True, v=True)
        total = time.perf_counter() - t0
        if i >= 2:
            for key, dt in zip(phases, (dt_c, dt_s, dt_e, dt_p, dt_g, dt_r, total)):
                phases[key].append(dt)
        t0 = time.perf_counter()
        ctr = client.containers.create(IMAGE, ["true"], network_mode="none", init=True, labels=labels)
        ctr.start()
        ctr.wait()
        dt_l, _ = timed(ctr.logs, stdout=True, stderr=False)  # not part of the cycle's time
        ctr.remove(force=True, v=True)
        if i >= 2:
            run_cycle.append(time.perf_counter() - t0 - dt_l)
            logs.append(dt_l)
    record("sdk_create", "SDK containers.create (network none, init)", phases["create"])
    record("sdk_start", "SDK container.start", phases["start"])
    record("sdk_exec", "SDK exec_run(['true'])", phases["exec"])
    record("sdk_put", f"SDK put_archive ({len(tar)} B tar of the harness inputs)", phases["put"])
    record("sdk_get", "SDK get_archive (/swe/out, empty)", phases["get"])
    record("sdk_logs", "SDK logs() of an exited container", logs)
    record("sdk_remove", "SDK remove(force=True), running, init", phases["remove"])
    record("sdk_cycle", "SDK create+put+start+exec+get+remove", phases["cycle"])
    record("sdk_run_true", "SDK create+start(true)+wait+remove", run_cycle)

    ctr = client.containers.create(IMAGE, ["sleep", "infinity"], network_mode="none", init=True,
                                   labels=labels)
    ctr.start()
    try:
        exec_cli = ["docker", "exec", ctr.id, "true"]
        sh(exec_cli, check=True)
        record("cli_exec", "CLI docker exec CTR true", [timed(sh, exec_cli, check=True)[0]
                                                          for _ in range(n)])
    finally:
        ctr.remove(force=True, v=True)


# ---------------------------------------------------------------- 2. swe_harness


def harness_overheads(results) -> tuple[list[float], list[float]]:
    over = [r.duration_s["total"] - r.duration_s.get("eval", 0.0) for r in results]
    return over, [r.duration_s["teardown"] for r in results]


def run_evals(task, n: int, candidate: str) -> list:
    out = []
    for _ in range(n):
        result = evaluate(task, candidate, kind="gold")
        if result.status != "passed":
            raise SystemExit(f"benchmark eval did not pass: {result.status} {result.error}\n"
                             f"{result.log_tail}")
        out.append(result)
    return out


def seed_runner(task, tmp: Path):
    """The seed's approach: one ``docker run --rm`` per evaluation, inputs bind-mounted.
    Returns a callable giving (total, overhead) for one evaluation."""
    Path(tmp, "candidate.diff").write_text(patchlib.normalize(task.gold_candidate))
    Path(tmp, "test.diff").write_text(task.test_patch)
    Path(tmp, "eval_script.sh").write_text(task.eval_script)
    os.chmod(tmp, 0o755)
    script = ("cd /workspace && git apply /in/candidate.diff && git apply /in/test.diff && "
              "s=$(date +%s.%N); bash /in/eval_script.sh; rc=$?; e=$(date +%s.%N); "
              "echo \"SWE_EVAL $s $e\"; exit $rc")
    cmd = ["docker", "run", "--rm", "--network", "none", "--label", f"{BENCH_LABEL}={RUN_ID}",
           "-v", f"{tmp}:/in:ro", IMAGE, "bash", "-c", script]

    def one() -> tuple[float, float]:
        dt, proc = timed(sh, cmd)
        if proc.returncode != 0:
            raise SystemExit(f"seed peer failed: {proc.stdout}{proc.stderr}")
        s, e = map(float, proc.stdout.split("SWE_EVAL", 1)[1].split()[:2])
        return dt, dt - (e - s)
    return one


def bench_paired(n: int, tmp: Path) -> None:
    """Floor, swe_harness and the seed's approach, interleaved round-robin (one sample of each
    per round) so that drift or background load on the engine hits all three alike."""
    print("\n[2] Interleaved: floor (docker run --rm true) | swe_harness.evaluate | seed peer",
          flush=True)
    task = load_one(TASK_DIRS["trivial"])
    run_true = ["docker", "run", "--rm", "--network", "none", "--label", f"{BENCH_LABEL}={RUN_ID}",
                IMAGE, "true"]
    seed_dir = tmp / "seed-inputs"
    seed_dir.mkdir()
    seed = seed_runner(task, seed_dir)
    for _ in range(2):  # warm-up: client, image lookup, page cache
        sh(run_true, check=True), run_evals(task, 1, task.gold_candidate), seed()
    floor, results, seed_rows = [], [], []
    for _ in range(n):
        floor.append(timed(sh, run_true, check=True)[0])
        results += run_evals(task, 1, task.gold_candidate)
        seed_rows.append(seed())
    over, teardown = harness_overheads(results)
    record("floor_paired", "floor: CLI docker run --rm --network none IMAGE true", floor,
           "interleaved")
    record("harness_overhead_trivial", "swe_harness overhead = total - eval", over, "eval: exit 0")
    record("harness_total_trivial", "  swe_harness total", [r.duration_s["total"] for r in results])
    for phase in ("setup", "apply", "eval"):
        record(f"harness_{phase}", f"  duration_s[{phase!r}]", [r.duration_s[phase] for r in results],
               {"setup": "create+start (+put_archive if inputs > inline limit)",
                "apply": "in container: git apply x2 + reset", "eval": "in container"}[phase])
    record("harness_teardown", "  duration_s['teardown']", teardown, "remove(force)")
    record("seed_total", "seed: docker run --rm IMAGE bash -c 'git apply && eval'",
           [r[0] for r in seed_rows])
    record("seed_overhead", "seed: overhead = total - eval", [r[1] for r in seed_rows])

    task = load_one(TASK_DIRS["pytest1"])
    run_evals(task, 1, task.gold_candidate)
    results = run_evals(task, max(5, n // 3), task.gold_candidate)
    record("harness_overhead_pytest1", "swe_harness overhead = total - eval (1-test pytest)",
           harness_overheads(results)[0], "eval: 1-test pytest")
    record("harness_eval_pytest1", "  duration_s['eval'] (1-test pytest)",
           [r.duration_s["eval"] for r in results])


def mini_env_class():
    """mini-swe-agent's DockerEnvironment, with its fire-and-forget cleanup made observable."""
    os.environ.setdefault("MSWEA_GLOBAL_CONFIG_DIR", tempfile.mkdtemp(prefix="bench-mswea-"))
    from minisweagent.environments.docker import DockerEnvironment

    class ObservedDockerEnvironment(DockerEnvironment):
        background: list = []

        def cleanup(self):
            if getattr(self, "container_id", None) is None:
                return
            # the library's own cleanup, verbatim, but keeping the Popen to time it
            cmd = (f"(timeout 60 {self.config.executable} stop {self.container_id} || "
                   f"{self.config.executable} rm -f {self.container_id}) >/dev/null 2>&1")
            started = time.perf_counter()
            proc = subprocess.Popen(cmd, shell=True)
            self.background.append((started, proc, self.container_id))
            self.container_id = None

    return ObservedDockerEnvironment


def heredoc(path: str, text: str) -> str:
    return f"cat > {path} <<'SWE_BENCH_EOF'\n{text}SWE_BENCH_EOF\n"


def bench_mini(n: int, task) -> None:
    """mini-swe-agent: ``docker run -d ... sleep 2h``, one fresh ``docker exec bash -lc`` per
    command (write+apply the patches, run the eval), cleanup = background ``docker stop``."""
    try:
        import minisweagent
        env_cls = mini_env_class()
        version = minisweagent.__version__
    except Exception as exc:  # noqa: BLE001
        print(f"  mini-swe-agent unavailable ({exc}); skipped", flush=True)
        RESULTS["extra"]["mini_swe_agent"] = f"unavailable: {exc}"
        return
    RESULTS["extra"]["mini_swe_agent"] = version
    candidate = patchlib.normalize(task.gold_candidate)
    apply_cmd = (heredoc("/tmp/candidate.diff", candidate) + heredoc("/tmp/test.diff", task.test_patch)
                 + "git apply /tmp/candidate.diff && git apply /tmp/test.diff")
    eval_cmd = (heredoc("/tmp/eval_script.sh", task.eval_script)
                + "s=$(date +%s.%N); bash /tmp/eval_script.sh; rc=$?; e=$(date +%s.%N); "
                  "echo \"SWE_EVAL $s $e\"; exit $rc")
    run_args = ["--rm", "--network", "none", "--label", f"{BENCH_LABEL}={RUN_ID}"]
    quiet = logging.getLogger("bench.mini-swe-agent")
    quiet.setLevel(logging.WARNING)

    def one():
        t0 = time.perf_counter()
        env = env_cls(image=IMAGE, cwd=WORKDIR, run_args=run_args, timeout=60, logger=quiet)
        t1 = time.perf_counter()
        applied = env.execute({"command": apply_cmd})
        t2 = time.perf_counter()
        out = env.execute({"command": eval_cmd})
        t3 = time.perf_counter()
        env.cleanup()
        t4 = time.perf_counter()
        if applied["returncode"] != 0 or out["returncode"] != 0:
            raise SystemExit(f"mini-swe-agent peer failed: {applied} {out}")
        s, e = map(float, out["output"].split("SWE_EVAL", 1)[1].split()[:2])
        return t4 - t0, (t4 - t0) - (e - s), t1 - t0, t2 - t1, t3 - t2 - (e - s), t4 - t3

    one()
    rows = [one() for _ in range(n)]
    record("mini_total", f"mini-swe-agent {version} DockerEnvironment (caller-visible total)",
           [r[0] for r in rows], "cleanup returns at once")
    record("mini_overhead", "mini-swe-agent: overhead = total - eval", [r[1] for r in rows])
    record("mini_start", "  docker run -d ... sleep 2h", [r[2] for r in rows])
    record("mini_exec", "  docker exec bash -lc (apply, via heredoc)", [r[3] for r in rows])
    record("mini_exec_eval", "  docker exec bash -lc (eval) minus eval", [r[4] for r in rows])
    ends = []
    for started, proc, _cid in env_cls.background:
        proc.wait()
        ends.append(time.perf_counter() - started)
    record("mini_bg_teardown", "  background docker stop until container gone", ends,
           "PID 1 'sleep' ignores SIGTERM")
    env_cls.background.clear()


def bench_swebench(n: int, task, init: bool) -> None:
    """SWE-bench's run_instance lifecycle on docker-py: create with ``tail -f /dev/null``,
    put_archive patch + eval.sh, exec git apply, exec eval, ``stop(timeout=10)``, remove."""
    client = sandbox.client()
    files = {"tmp/patch.diff": patchlib.normalize(task.gold_candidate),
             "tmp/test.diff": task.test_patch, "eval.sh": task.eval_script}
    tar = sandbox.make_tar(files)
    totals, overs, stops = [], [], []
    for _ in range(n):
        t0 = time.perf_counter()
        ctr = client.containers.create(IMAGE, ["tail", "-f", "/dev/null"], network_mode="none",
                                       init=init, labels={BENCH_LABEL: RUN_ID},
                                       working_dir=WORKDIR, detach=True)
        try:
            ctr.start()
            ctr.put_archive("/", tar)
            rc, out = ctr.exec_run(["bash", "-c", "git apply -v /tmp/patch.diff && "
                                    "git apply -v /tmp/test.diff"], workdir=WORKDIR)
            assert rc == 0, out
            te0 = time.perf_counter()
            rc, out = ctr.exec_run(["bash", "/eval.sh"], workdir=WORKDIR)
            te1 = time.perf_counter()
            assert rc == 0, out
            ts0 = time.perf_counter()
            ctr.stop(timeout=10)
            stops.append(time.perf_counter() - ts0)
        finally:
            ctr.remove(force=True, v=True)
        total = time.perf_counter() - t0
        totals.append(total)
        overs.append(total - (te1 - te0))  # host-side exec time: generous to the peer
    tag = "swebench_init" if init else "swebench"
    what = "with init=True (control)" if init else "tail -f /dev/null PID 1, no init"
    record(f"{tag}_overhead", f"SWE-bench-style flow, {what}: overhead", overs)
    record(f"{tag}_stop", f"  container.stop(timeout=10) ({'init' if init else 'no init'})", stops)


# ---------------------------------------------------------------- 4. throughput


def bench_throughput(n: int, tmp: Path) -> None:
    print("\n[4] Throughput, eval = sleep 3", flush=True)
    tasks_root = tmp / "throughput"
    for i in range(n):
        write_task(tasks_root, f"bench-sleep3-{i:02d}", "sleep3", salt=f"task {i}")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    walls = {}
    for label, extra in (("serial", []), ("xdist2", ["-n", "2"])):
        cmd = [sys.executable, "-m", "pytest", "--swe-tasks", str(tasks_root), "-p", "no:cacheprovider",
               "-q", "-k", "__no_such_task__", *extra]  # workers start, collect, run nothing
        wall, _ = timed(subprocess.run, cmd, cwd=ROOT, env=env, capture_output=True)
        RESULTS["extra"][f"pytest_{label}_collect_only_s"] = wall
        print(f"  pytest startup+collection, nothing selected {' '.join(extra) or '(serial)':<8} "
              f"{wall:5.2f} s", flush=True)
    for label, extra in (("serial", []), ("xdist2", ["-n", "2"])):
        report = tmp / f"report-{label}.jsonl"
        cmd = [sys.executable, "-m", "pytest", "--swe-tasks", str(tasks_root), "-p", "no:cacheprovider",
               "-q", "--swe-report", str(report), *extra]
        wall, proc = timed(subprocess.run, cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"pytest {label} failed ({proc.returncode}):\n{proc.stdout[-3000:]}"
                             f"{proc.stderr[-2000:]}")
        lines = [json.loads(line) for line in report.read_text().splitlines() if line.strip()]
        walls[label] = wall
        RESULTS["extra"][f"pytest_{label}"] = {
            "wall_s": wall, "n": len(lines),
            "per_eval_total_p50": pct([ln["duration_s"]["total"] for ln in lines], 0.5)}
        print(f"  pytest --swe-tasks ({n} tasks) {' '.join(extra) or '(serial)':<12} "
              f"wall {wall:6.1f} s  ({n / wall:.2f} evals/s)", flush=True)
    RESULTS["ratios"]["throughput_pytest"] = walls["serial"] / walls["xdist2"]
    print(f"  -> pytest -n 2 vs serial: {walls['serial'] / walls['xdist2']:.2f}x", flush=True)
    net = [(walls[k] - RESULTS["extra"][f"pytest_{k}_collect_only_s"]) for k in ("serial", "xdist2")]
    RESULTS["ratios"]["throughput_pytest_minus_startup"] = net[0] / net[1]
    print(f"  -> same, less each command's startup+collection time: {net[0] / net[1]:.2f}x",
          flush=True)

    tasks, _ = load_tasks([tasks_root])
    t_serial, _ = timed(lambda: [evaluate(t, t.gold_candidate) for t in tasks])
    with ThreadPoolExecutor(2) as pool:
        t_pool, results = timed(lambda: list(pool.map(lambda t: evaluate(t, t.gold_candidate), tasks)))
    assert all(r.status == "passed" for r in results), [r.status for r in results]
    RESULTS["extra"]["pool_serial_wall_s"], RESULTS["extra"]["pool2_wall_s"] = t_serial, t_pool
    RESULTS["ratios"]["throughput_pool2"] = t_serial / t_pool
    print(f"  evaluate() serial {t_serial:6.1f} s, 2-thread pool {t_pool:6.1f} s  -> "
          f"{t_serial / t_pool:.2f}x", flush=True)


# ---------------------------------------------------------------- 5. concurrency


def bench_concurrency(levels: list[int], per_level: int) -> None:
    print("\n[5] Overhead vs concurrency (trivial eval, threads over evaluate)", flush=True)
    task = load_one(TASK_DIRS["trivial"])
    RESULTS["concurrency"] = []
    for c in levels:
        m = max(per_level, 3 * c)
        with ThreadPoolExecutor(c) as pool:
            wall, results = timed(lambda: list(pool.map(
                lambda _: evaluate(task, task.gold_candidate, kind="gold"), range(m))))
        bad = [r for r in results if r.status != "passed"]
        over, teardown = harness_overheads(results)
        row = {"threads": c, "evals": m, "wall_s": wall, "evals_per_s": m / wall,
               "overhead_p50": pct(over, 0.5), "overhead_p95": pct(over, 0.95),
               "teardown_p50": pct(teardown, 0.5), "failed": len(bad)}
        RESULTS["concurrency"].append(row)
        print(f"  threads={c:<2} evals={m:<3} overhead p50={ms(row['overhead_p50']):>9} "
              f"p95={ms(row['overhead_p95']):>9}  teardown p50={ms(row['teardown_p50']):>7}  "
              f"{row['evals_per_s']:.2f} evals/s" + (f"  FAILED {len(bad)}" if bad else ""),
              flush=True)


def plot_concurrency(path: Path) -> None:
    try:
        import matplotlib
    except ImportError:
        print("  matplotlib not installed (pip install -r benchmarks/requirements.txt): no plot")
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = RESULTS["concurrency"]
    xs = [r["threads"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(xs, [r["overhead_p50"] * 1000 for r in rows], "o-", label="harness overhead p50")
    ax.plot(xs, [r["overhead_p95"] * 1000 for r in rows], "s--", label="harness overhead p95")
    floor = RESULTS["rows"].get("floor_paired", RESULTS["rows"].get("cli_run_true"))["p50"] * 1000
    ax.axhline(floor, color="grey", lw=1, label=f"floor: docker run --rm true ({floor:.0f} ms)")
    ax.axhline(1.3 * floor, color="grey", lw=1, ls=":", label="1.3 x floor (target at 1 thread)")
    ax.set_xscale("log", base=2)
    ax.set_xticks(xs, [str(x) for x in xs])
    ax.set_xlabel("concurrent evaluations (threads over swe_harness.evaluate)")
    ax.set_ylabel("per-evaluation overhead (ms)")
    ax2 = ax.twinx()
    ax2.plot(xs, [r["evals_per_s"] for r in rows], "^-", color="tab:green", label="evals/s")
    ax2.set_ylabel("throughput (evals/s)", color="tab:green")
    ax2.set_ylim(bottom=0)
    ax.set_ylim(bottom=0)
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=8, loc="center left")
    m = RESULTS["machine"]
    ax.set_title(f"swe_harness overhead vs concurrency ({m['nproc']} cores, Docker {m['docker_server']})",
                 fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"  plot -> {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}", flush=True)


# ---------------------------------------------------------------- 6. profile


def bench_profile(n: int) -> None:
    """Time each SDK call inside evaluate() by wrapping the same sandbox methods it calls."""
    print("\n[6] Profile: where one evaluation's time goes", flush=True)
    task = load_one(TASK_DIRS["trivial"])
    spans: dict[str, list[float]] = {}
    marks: dict[str, float] = {}
    saved = {}

    def wrap(owner, name, key):
        fn = getattr(owner, name, None)
        if fn is None:  # the lists below name the methods of several swe_harness versions
            return
        saved[(owner, name)] = fn

        def timed_fn(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spans.setdefault(key, []).append(time.perf_counter() - t0)
                marks[key + "_end_wall"] = time.time()
        setattr(owner, name, timed_fn)

    for owner, name, key in ((sandbox, "ensure_image", "ensure_image (images.get)"),
                             (sandbox, "image_id", "image_id (images.get)"),
                             (evaluate_mod, "build_spec", "build_spec (inputs, key)"),
                             (sandbox, "make_tar", "make_tar"),
                             (sandbox.Container, "create", "containers.create"),
                             (sandbox.Container, "put", "put_archive"),
                             (sandbox.Container, "put_archive", "put_archive"),
                             (sandbox.Container, "start", "start"),
                             (sandbox.Container, "wait", "wait (runner + exit)"),
                             (sandbox.Container, "get", "get_archive"),
                             (sandbox.Container, "last_line_archive", "logs (outputs, last line)"),
                             (sandbox.Container, "remove", "remove(force)")):
        wrap(owner, name, key)
    latency_in, latency_out, in_container, totals = [], [], [], []
    try:
        for _ in range(n):
            result = evaluate(task, task.gold_candidate, kind="gold")
            assert result.status == "passed", result
            totals.append(result.duration_s["total"])
            # the runner's first/last timestamps (container clock = host clock) vs the host's
            fields = PROFILE_FIELDS.pop()
            latency_in.append(float(fields["t_start"]) - marks["start_end_wall"])
            latency_out.append(marks["wait (runner + exit)_end_wall"] - float(fields["t_eval_end"]))
            in_container.append(float(fields["t_eval_end"]) - float(fields["t_start"]))
    finally:
        for (owner, name), fn in saved.items():
            setattr(owner, name, fn)
    prof = {key: summary(vals) for key, vals in spans.items()}
    nested = {"make_tar"} if hasattr(sandbox.Container, "put") else set()  # called inside put()
    accounted = sum(v["p50"] for k, v in prof.items() if k not in nested)
    prof["  start() return -> runner's first timestamp"] = summary(latency_in)
    prof["  runner: git apply x2, reset tests, eval"] = summary(in_container)
    prof["  runner's last timestamp -> wait() return"] = summary(latency_out)
    prof["evaluate total"] = summary(totals)
    RESULTS["profile"] = prof
    for key, s in prof.items():
        print(f"  {key:<46} p50={ms(s['p50']):>8}  p95={ms(s['p95']):>8}", flush=True)
    print(f"  (sum of wrapped call p50s {ms(accounted)} vs evaluate total p50 "
          f"{ms(prof['evaluate total']['p50'])})", flush=True)

    # the per-run reward cache (on by default under pytest): cost of a miss and of a hit
    try:
        cache_root = Path(tempfile.mkdtemp(prefix="bench-cache-"))
        miss, hit = [], []
        for i in range(n):
            opts = EvalOptions(cache_dir=str(cache_root / str(i)))
            r1 = evaluate(task, task.gold_candidate, kind="gold", options=opts)
            r2 = evaluate(task, task.gold_candidate, kind="gold", options=opts)
            assert not getattr(r1, "cached", False) and getattr(r2, "cached", True), (r1, r2)
            miss.append(harness_overheads([r1])[0][0])
            hit.append(r2.duration_s["total"])
        shutil.rmtree(cache_root, ignore_errors=True)
        record("cache_miss_overhead", "evaluate with the reward cache on: miss, overhead", miss)
        record("cache_hit_total", "evaluate with the reward cache on: hit, total", hit)
    except TypeError as exc:  # an EvalOptions without cache_dir
        print(f"  (reward cache not measured: {exc})", flush=True)
    PROFILE_FIELDS.clear()

    # CPU view: how much of one evaluation is Python work in this process at all?
    profiler = cProfile.Profile()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    profiler.enable()
    for _ in range(5):
        evaluate(task, task.gold_candidate, kind="gold")
    profiler.disable()
    cpu, wall = (time.process_time() - cpu0) / 5, (time.perf_counter() - wall0) / 5
    PROFILE_FIELDS.clear()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(8)
    RESULTS["extra"]["cprofile_cpu_per_eval_s"] = cpu
    RESULTS["extra"]["cprofile_wall_per_eval_s"] = wall
    RESULTS["extra"]["cprofile_top_tottime"] = text.getvalue()
    print(f"  cProfile: {ms(cpu)} CPU in this process per evaluation (of {ms(wall)} wall, "
          f"profiler on)", flush=True)


PROFILE_FIELDS: list[dict] = []


def _capture_fields() -> None:
    """Keep the runner's result fields of each evaluation for the profile, by wrapping the
    Container method that reads the outputs back (``last_line_archive`` since b4aae2a, ``get``
    before)."""
    for name in ("last_line_archive", "get"):
        original = getattr(sandbox.Container, name, None)
        if original is None:
            continue

        def reader(self, *args, _original=original, **kwargs):
            out = _original(self, *args, **kwargs)
            PROFILE_FIELDS.append(parse_fields(out.get("result", b"").decode()))
            return out
        setattr(sandbox.Container, name, reader)
        return
    raise SystemExit("profile: no Container method that reads the outputs back")


# ---------------------------------------------------------------- main


TASK_DIRS: dict[str, Path] = {}
TINY = [False]


def cleanup() -> int:
    """Remove every container of this run; returns how many were left over."""
    ids = set()
    for flt in (f"label={BENCH_LABEL}={RUN_ID}", f"label={sandbox.LABEL_RUN}={RUN_ID}"):
        ids |= set(sh(["docker", "ps", "-aq", "--filter", flt]).stdout.split())
    if ids:
        sh(["docker", "rm", "-f", *ids])
    return len(ids)


def print_summary(args) -> None:
    rows, ratios = RESULTS["rows"], RESULTS["ratios"]
    floor = rows["floor_paired"]["p50"]
    over = rows["harness_overhead_trivial"]
    ratios["overhead_p50_vs_floor"] = over["p50"] / floor
    ratios["overhead_p95_vs_floor"] = over["p95"] / floor
    if "cli_run_true" in rows:
        ratios["overhead_p50_vs_floor_block"] = over["p50"] / rows["cli_run_true"]["p50"]
        ratios["overhead_p50_vs_sdk_cycle"] = over["p50"] / rows["sdk_cycle"]["p50"]
    for peer in ("seed_overhead", "mini_overhead", "swebench_overhead"):
        if peer in rows:
            ratios[f"{peer}_vs_harness"] = rows[peer]["p50"] / over["p50"]
    print("\n=== Summary (medians; ratios against targets) ===")
    print(f"  floor p50 (docker run --rm true, interleaved)  {ms(floor)}"
          + (f"  (block of section 1: {ms(rows['cli_run_true']['p50'])})" if "cli_run_true" in rows
             else ""))
    print(f"  harness overhead p50 / p95                    {ms(over['p50'])} / {ms(over['p95'])}")
    checks = [
        ("overhead p50 / floor p50", ratios["overhead_p50_vs_floor"], "<= 1.3x",
         ratios["overhead_p50_vs_floor"] <= 1.3),
        ("overhead p95 / floor p50", ratios["overhead_p95_vs_floor"], "(info)", True),
        ("teardown p50 (ms)", rows["harness_teardown"]["p50"] * 1000, "<= 100 ms",
         rows["harness_teardown"]["p50"] <= 0.1),
        ("teardown p95 (ms)", rows["harness_teardown"]["p95"] * 1000, "<= 100 ms",
         rows["harness_teardown"]["p95"] <= 0.1),
    ]
    if "throughput_pytest" in ratios:
        checks.append(("pytest -n 2 vs serial (sleep 3)", ratios["throughput_pytest"], ">= 1.7x",
                       ratios["throughput_pytest"] >= 1.7))
        checks.append(("2-thread pool vs serial (sleep 3)", ratios["throughput_pool2"], ">= 1.7x",
                       ratios["throughput_pool2"] >= 1.7))
    for name, value, target, ok in checks:
        verdict = "" if target == "(info)" else ("MET" if ok else "MISSED")
        print(f"  {name:<38} {value:8.2f}   target {target:<10} {verdict}")
    RESULTS["targets"] = [{"name": n, "value": v, "target": t, "met": ok} for n, v, t, ok in checks]
    for peer, label in (("seed_overhead", "seed docker run --rm bash -c"),
                        ("floor_paired", "(floor: docker run --rm true)"),
                        ("mini_overhead", "mini-swe-agent DockerEnvironment"),
                        ("mini_bg_teardown", "  + its background docker stop"),
                        ("swebench_overhead", "SWE-bench-style (stop -t 10, no init)")):
        if peer in rows:
            print(f"  peer {label:<40} p50 {ms(rows[peer]['p50']):>9} = "
                  f"{rows[peer]['p50'] / over['p50']:5.2f}x harness overhead")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small N, for a smoke run")
    parser.add_argument("--tiny", action="store_true",
                        help="every section once with N=1 (tests/test_benchmarks.py: it must not rot)")
    parser.add_argument("-n", type=int, default=None, help="samples per latency row (default 30)")
    parser.add_argument("--throughput-tasks", type=int, default=10)
    parser.add_argument("--skip", action="append", default=[],
                        choices=["floor", "harness", "peers", "throughput", "concurrency", "profile"])
    parser.add_argument("--json", type=Path, help="raw results (default: docs/benchmark_results.json; "
                        "with --quick, a temp dir)")
    parser.add_argument("--plot", type=Path, help="the PNG (default: docs/"
                        "benchmark_overhead_vs_concurrency.png; with --quick, a temp dir)")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="S",
                        help="first wait up to S seconds for an idle engine (no other running "
                             "containers, 1-min load average < 0.5); shared machines skew numbers")
    parser.add_argument("--markdown", type=Path, help="also write the result tables as Markdown")
    parser.add_argument("--replot", type=Path, metavar="JSON",
                        help="only redraw the plot (and --markdown) from a results file; no Docker")
    parser.add_argument("--keep-image", action="store_true", help=f"keep {IMAGE} afterwards")
    args = parser.parse_args()
    args.quick = args.quick or args.tiny
    out_dir = Path(tempfile.mkdtemp(prefix="swe-bench-out-")) if args.quick else ROOT / "docs"
    args.json = args.json or out_dir / "benchmark_results.json"
    args.plot = args.plot or out_dir / "benchmark_overhead_vs_concurrency.png"
    if args.replot:
        RESULTS.update(json.loads(args.replot.read_text()))
        plot_concurrency(args.plot)
        if args.markdown:
            args.markdown.write_text(markdown())
        return 0
    n = args.n or (1 if args.tiny else 8 if args.quick else 30)
    n_floor = 1 if args.tiny else max(20, n) if not args.quick else 8
    throughput_tasks = 2 if args.tiny else 4 if args.quick else args.throughput_tasks
    TINY[0] = args.tiny

    if args.wait_quiet:
        wait_quiet(args.wait_quiet)
    RESULTS["machine"] = machine()
    RESULTS["run_id"], RESULTS["argv"] = RUN_ID, sys.argv[1:]
    m = RESULTS["machine"]
    print(f"machine: nproc={m['nproc']} ({m['cpu']}), {m['mem_gib']} GiB, kernel {m['kernel']}, "
          f"Docker {m['docker_server']} (client {m['docker_client']}, {m['runtime']}, cgroup v"
          f"{m['cgroup']}, {m['storage']}), docker-py {m['docker_py']}, Python {m['python']}, "
          f"swe_harness {m['swe_harness_commit']}", flush=True)
    t_start = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="swe-bench-"))
    left = 0
    watcher = ForeignWatcher()
    try:
        for kind in EVALS:
            TASK_DIRS[kind] = write_task(tmp / "tasks", f"bench-{kind}", kind)
        print(f"building {IMAGE} from the harness base image ...", flush=True)
        t_build, _ = timed(sandbox.ensure_image, load_one(TASK_DIRS["trivial"]), "always")
        print(f"  built in {t_build:.1f} s", flush=True)
        trivial = load_one(TASK_DIRS["trivial"])
        if "floor" not in args.skip:
            bench_floor(n_floor)
        if "harness" not in args.skip:
            bench_paired(n, tmp)
        if "peers" not in args.skip:
            print("\n[3] Peers on the same task and patch (trivial eval)", flush=True)
            bench_mini(1 if args.tiny else max(10, n // 3 * 2) if not args.quick else 5, trivial)
            bench_swebench(1 if args.tiny else 2 if args.quick else 3, trivial, init=False)
            bench_swebench(1 if args.tiny else 3 if args.quick else 5, trivial, init=True)
        if "throughput" not in args.skip:
            bench_throughput(throughput_tasks, tmp)
        if "concurrency" not in args.skip:
            bench_concurrency([1, 2] if args.tiny else [1, 2, 4, 8],
                              2 if args.tiny else 8 if args.quick else 12)
            plot_concurrency(args.plot)
        if "profile" not in args.skip:
            _capture_fields()
            bench_profile(1 if args.tiny else max(5, n // 3))
        if "harness" not in args.skip:
            print_summary(args)
    finally:
        RESULTS["foreign_containers"] = watcher.stop()
        left = cleanup()
        if not args.keep_image:
            sh(["docker", "rmi", IMAGE])
        shutil.rmtree(tmp, ignore_errors=True)
        RESULTS["wall_s"] = time.perf_counter() - t_start
        RESULTS["loadavg_at_end"] = open("/proc/loadavg").read().split()[:3]
        RESULTS["containers_left_and_removed"] = left
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(RESULTS, indent=1, default=str))
    if args.markdown:
        args.markdown.write_text(markdown())
    mine = sh(["docker", "ps", "-aq", "--filter", f"label={BENCH_LABEL}={RUN_ID}"]).stdout.split()
    mine += sh(["docker", "ps", "-aq", "--filter", f"label={sandbox.LABEL_RUN}={RUN_ID}"]).stdout.split()
    fc = RESULTS["foreign_containers"]
    print(f"\nwhole run {RESULTS['wall_s']:.0f} s; containers of this run found at the end: {left} "
          f"(removed), now: {len(mine)}; other containers running during the run: "
          f"{fc['samples_with_foreign']}/{fc['samples']} samples (max {fc['max']})"
          f"; results -> {args.json}", flush=True)
    return 0


def wait_quiet(limit_s: float) -> None:
    deadline, quiet_since = time.monotonic() + limit_s, None
    while time.monotonic() < deadline:
        running = sh(["docker", "ps", "-q"]).stdout.split()
        load = float(open("/proc/loadavg").read().split()[0])
        if running or load >= 0.5:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= 10:
            print(f"engine idle for 10 s (load {load:.2f}); starting", flush=True)
            return
        time.sleep(1)
    print(f"engine not idle after {limit_s:.0f} s; measuring anyway (numbers will be noisier)",
          flush=True)


def markdown() -> str:
    """The result tables, as pasted into docs/benchmarks.md."""
    m, rows, out = RESULTS["machine"], RESULTS["rows"], []
    fc = RESULTS.get("foreign_containers", {})
    out.append(f"Machine: {m['nproc']} cores ({m['cpu']}), {m['mem_gib']} GiB, kernel {m['kernel']}, "
               f"Docker {m['docker_server']} (client {m['docker_client']}, {m['runtime']}, cgroup "
               f"v{m['cgroup']}, {m['storage']}), docker-py {m['docker_py']}, Python {m['python']}; "
               f"swe_harness {m['swe_harness_commit']}; {m['date']}; load average at start "
               f"{' '.join(m['loadavg_at_start'])}, at end {' '.join(RESULTS.get('loadavg_at_end', []))}; "
               f"other workloads' containers running in {fc.get('samples_with_foreign')}/"
               f"{fc.get('samples')} 2-s samples. Whole run {RESULTS.get('wall_s', 0):.0f} s.\n")
    out.append("| measurement | n | p50 | p95 | note |\n|---|---:|---:|---:|---|")
    for row in rows.values():
        out.append(f"| {row['label'].strip()} | {row['n']} | {ms(row['p50'])} | {ms(row['p95'])} | "
                   f"{row['note']} |")
    if RESULTS.get("targets"):
        out.append("\n| target | measured | target | verdict |\n|---|---:|---|---|")
        for t in RESULTS["targets"]:
            verdict = "" if t["target"] == "(info)" else ("met" if t["met"] else "**missed**")
            out.append(f"| {t['name']} | {t['value']:.2f} | {t['target']} | {verdict} |")
    extra = RESULTS["extra"]
    if "pytest_serial" in extra:
        out.append(f"\nThroughput ({extra['pytest_serial']['n']} tasks, eval `sleep 3`): pytest serial "
                   f"{extra['pytest_serial']['wall_s']:.1f} s, `-n 2` {extra['pytest_xdist2']['wall_s']:.1f} s "
                   f"→ {RESULTS['ratios']['throughput_pytest']:.2f}× "
                   f"({RESULTS['ratios']['throughput_pytest_minus_startup']:.2f}× less the "
                   f"{extra['pytest_serial_collect_only_s']:.2f} s / {extra['pytest_xdist2_collect_only_s']:.2f} s "
                   f"startup+collection); evaluate() serial {extra['pool_serial_wall_s']:.1f} s, 2-thread pool "
                   f"{extra['pool2_wall_s']:.1f} s → {RESULTS['ratios']['throughput_pool2']:.2f}×.")
    if RESULTS.get("concurrency"):
        out.append("\n| threads | evals | overhead p50 | overhead p95 | teardown p50 | evals/s |\n"
                   "|---:|---:|---:|---:|---:|---:|")
        for r in RESULTS["concurrency"]:
            out.append(f"| {r['threads']} | {r['evals']} | {ms(r['overhead_p50'])} | "
                       f"{ms(r['overhead_p95'])} | {ms(r['teardown_p50'])} | {r['evals_per_s']:.2f} |")
    if RESULTS.get("profile"):
        out.append("\n| inside one evaluate() | p50 | p95 |\n|---|---:|---:|")
        for key, v in RESULTS["profile"].items():
            out.append(f"| {key} | {ms(v['p50'])} | {ms(v['p95'])} |")
        out.append(f"\nIn-process CPU per evaluation (cProfile on): "
                   f"{ms(extra['cprofile_cpu_per_eval_s'])} of {ms(extra['cprofile_wall_per_eval_s'])} wall.")
    return "\n".join(out) + "\n"


class ForeignWatcher:
    """Samples, every 2 s, how many running containers are NOT this run's: another workload on the
    same engine skews every number, so the run records whether there was one."""

    def __init__(self):
        self.samples, self.counts = 0, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self):
        import docker
        api = docker.from_env()
        while not self._stop.wait(2.0):
            try:
                running = api.containers.list(sparse=True)
            except Exception:  # noqa: BLE001 - best effort
                continue
            foreign = [c for c in running if RUN_ID not in (c.attrs.get("Labels") or {}).values()]
            self.samples += 1
            self.counts.append(len(foreign))

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join(5)
        return {"samples": self.samples, "max": max(self.counts, default=0),
                "samples_with_foreign": sum(1 for c in self.counts if c)}


if __name__ == "__main__":
    sys.exit(main())
