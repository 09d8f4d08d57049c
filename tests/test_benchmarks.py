"""Every benchmark script runs end to end on a tiny input, so none of them can rot unseen
(bench_overhead.py once stayed broken for a refactor because nothing ran it)."""

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.docker
# script -> arguments of its tiny run; a new script without an entry fails the test below
TINY = {
    "bench_overhead.py": ["--tiny"],
    "bench_lifecycle_variants.py": ["-n", "1"],
    "adversary_run.py": ["--limit", "4", "-j", "1", "--pool"],
    "bench_agent.py": None,  # checked in detail by tests/test_bench_agent.py
    "bench_offline.py": ["--rounds", "1", "--no-verdicts", "--variants", "after"],
    "bench_ray.py": ["--tiny"],
}


def test_every_benchmark_script_has_a_tiny_run():
    scripts = {p.name for p in (ROOT / "benchmarks").glob("*.py")}
    assert scripts == set(TINY), "give each benchmark script a tiny invocation in TINY"


@pytest.mark.parametrize("script", sorted(s for s, args in TINY.items() if args is not None))
def test_benchmark_runs_on_a_tiny_input(docker_engine, script, tmp_path):
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *TINY[script]],
                         cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
