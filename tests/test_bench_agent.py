"""benchmarks/bench_agent.py runs (a seconds-long input) so that it cannot rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_agent_benchmark_runs_on_a_tiny_input(tmp_path, docker_engine):
    out = tmp_path / "bench.json"
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_agent.py"), "--tiny",
                             "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    data = json.loads(out.read_text())
    assert {"step_shell", "step_sdk_exec", "start_pool", "start_cold", "eval_floor",
            "eval_pool_primitive", "steps_concurrent", "steps_serial"} <= set(data["rows"])
    assert data["extra"]["concurrent_errors"] == [] and data["extra"]["serial_errors"] == []
    assert set(data["ratios"]) >= {"shell_vs_sdk_exec", "start_cold_vs_pool"}
    leftover = docker_engine.containers.list(
        all=True, filters={"label": f"swe_harness.run_id={data['extra']['run_id']}"})
    assert leftover == []
