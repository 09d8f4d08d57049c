"""``import swe_harness`` and the pytest plugin stay light: heavy libraries load only when used."""

import subprocess
import sys

HEAVY = ("docker", "pyarrow", "rich", "torch", "ray", "nemo_rl", "requests")


def test_import_is_light():
    code = ("import sys, swe_harness, swe_harness.plugin, swe_harness.cli; "
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_pytest_help_works_without_docker_engine():
    out = subprocess.run([sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"],
                         capture_output=True, text=True, env={"DOCKER_HOST": "unix:///nope",
                                                              "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0 and "--swe-tasks" in out.stdout
