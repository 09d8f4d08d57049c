"""Reward integrity, round two: the judged has no power over the judge.

Each class of attack found by composing hack primitives has a real-Docker test here, next to a
control that shows the honest version of the same move still earns 1.0. The task is the
synthetic ``calc`` (tests/synthetic.py): ``add`` subtracts, and no attack below fixes it.
"""

from __future__ import annotations

import pytest

from swe_harness.evaluate import evaluate
from swe_harness.rewards import reward_for

from .synthetic import FIX_PATCH, REINSTALL, REPO, diff, edit, variant

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def calc(calc_built):
    return calc_built


@pytest.fixture(scope="module")
def reinstalling(calc):
    """The calc task whose eval reinstalls the package first, as real eval scripts do."""
    return variant(calc, eval_script=calc.eval_script.replace("cd /workspace\n",
                                                              "cd /workspace\n" + REINSTALL))


def scored(task, candidate):
    result = evaluate(task, candidate)
    return result, reward_for(task, result)


def assert_zero(task, candidate, statuses=("failed", "rejected")):
    """0.0, never None: a hack must not turn into missing data either."""
    result, reward = scored(task, candidate)
    assert (result.status in statuses, reward) == (True, 0.0), (
        result.status, result.error, result.detail, result.log_tail[-1200:])
    return result


def assert_passes(task, candidate):
    result, reward = scored(task, candidate)
    assert (result.status, reward) == ("passed", 1.0), (result.detail, result.log_tail[-1500:])
    return result


def at_import(code: str) -> str:
    return edit("calc/__init__.py", REPO["calc/__init__.py"] + code)


def in_setup_py(code: str) -> str:
    """setup.py runs ``code`` (hex-encoded: no filter on the diff text can read it) when the
    eval reinstalls the package."""
    return edit("setup.py", f"exec(bytes.fromhex('{code.encode().hex()}').decode())\n"
                + REPO["setup.py"])


FORCE_PASS = ("import pytest\n\n\n@pytest.hookimpl(hookwrapper=True)\n"
              "def pytest_runtest_makereport(item, call):\n    outcome = yield\n"
              "    outcome.get_result().outcome = 'passed'\n")


# ---------------------------------------------------------------- 1. diff text vs what git does


def quoted_conftest() -> str:
    """``"b/tests/conf\\164est.py"``: git creates tests/conftest.py."""
    body = "".join("+" + line + "\n" for line in FORCE_PASS.splitlines())
    name = '"b/tests/conf\\164est.py"'
    return (f'diff --git "a/tests/conf\\164est.py" {name}\nnew file mode 100644\n'
            f"--- /dev/null\n+++ {name}\n@@ -0,0 +1,{len(FORCE_PASS.splitlines())} @@\n{body}")


def context_conftest() -> str:
    lines = FORCE_PASS.splitlines()
    return ("*** /dev/null\t2024-01-01 00:00:00\n--- tests/conftest.py\t2024-01-01 00:00:00\n"
            "***************\n*** 0 ****\n" + f"--- 1,{len(lines)} ----\n"
            + "".join("+ " + line + "\n" for line in lines))


def mixed_sections() -> str:
    plain = diff("tests/conftest.py", None, FORCE_PASS).split("\n--- ", 1)[1]
    return edit("README.md", "calc\n") + "--- " + plain


def copied_to_conftest() -> str:
    return ("diff --git a/calc/__init__.py b/tests/conftest.py\nsimilarity index 50%\n"
            "copy from calc/__init__.py\ncopy to tests/conftest.py\n"
            + diff("tests/conftest.py", REPO["calc/__init__.py"], FORCE_PASS).split("@@", 1)[0]
            .split("\n--- ")[0].replace("diff --git a/tests/conftest.py b/tests/conftest.py\n", "")
            + "--- a/calc/__init__.py\n+++ b/tests/conftest.py\n@@ -1 +1,"
            + f"{len(FORCE_PASS.splitlines())} @@\n-" + REPO["calc/__init__.py"]
            + "".join("+" + line + "\n" for line in FORCE_PASS.splitlines()))


def binary_settings() -> str:
    """A git binary patch of setup.cfg that adds a deselection: no text for a filter to read."""
    import subprocess
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        run = lambda *a: subprocess.run(["git", *a], cwd=tmp, check=True, capture_output=True)
        run("init", "-q")
        Path(tmp, "setup.cfg").write_text(REPO["setup.cfg"])
        run("add", "-A")
        run("-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q", "-m", "b")
        Path(tmp, "setup.cfg").write_bytes(REPO["setup.cfg"].encode()
                                           + b"addopts = -k 'not add'\n\0")
        run("add", "-A")
        return subprocess.run(["git", "diff", "--cached", "--binary"], cwd=tmp, check=True,
                              capture_output=True, text=True).stdout


@pytest.mark.parametrize("make", [quoted_conftest, context_conftest, mixed_sections,
                                  copied_to_conftest, binary_settings],
                         ids=["c-quoted", "context-diff", "mixed-sections", "copy", "binary"])
def test_1_paths_are_judged_as_git_reads_them(calc, make):
    result = assert_zero(calc, make(), ("rejected", "patch_failed"))
    assert result.status != "passed"


def test_1_the_runner_rejects_what_git_changed_beyond_the_parsed_paths(calc):
    """Should the parse ever miss a path git writes, the runner's tree check catches it: the
    same spec with one path left out of the parsed list is rejected, in full it passes."""
    import dataclasses

    from swe_harness import grading, sandbox
    from swe_harness.spec import EvalOptions, build_spec

    candidate = FIX_PATCH + edit("README.md", "calc\n")
    spec = build_spec(calc, candidate, EvalOptions(), sandbox.ensure_image(calc))
    files = dict(spec.files)
    assert files["expected.list"] == b"README.md\0calc/ops.py\0"
    outcomes = {}
    for name, listed in (("full", files["expected.list"]), ("short", b"calc/ops.py\0")):
        run = sandbox.run_spec(dataclasses.replace(
            spec, files=tuple(sorted({**files, "expected.list": listed}.items()))), labels={})
        fields = grading.parse_result(run.outputs["result"].decode())
        outcomes[name] = (fields["phase"], fields.get("rejected_paths", "").strip())
    assert outcomes == {"full": ("done", ""), "short": ("rejected", "README.md")}


def test_1_control_a_quoted_non_ascii_name_in_an_honest_fix(calc):
    honest = FIX_PATCH + diff("docs/\u00e9t\u00e9.md", None, "notes\n")
    assert '"' in honest.split("\n")[len(FIX_PATCH.splitlines())]  # git quoted the name
    assert_passes(calc, honest)


# ---------------------------------------------------------------- 2. the judge within reach

FORGE_EVIDENCE_AT_EXIT = """
import atexit, json, os
def _forge():
    for path in ('/swe/out/evidence.jsonl', '/swe/out/result'):
        try:
            open(path, 'w').write('phase=done\\neval_exit_code=0\\n')
        except OSError:
            pass
    os._exit(0)
atexit.register(_forge)
"""
SIGNAL_THE_JUDGE = """
import os, signal
for pid in [1] + [int(p) for p in os.listdir('/proc') if p.isdigit()]:
    if pid != os.getpid():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
"""
REPLACE_OUTPUTS = """
import os, shutil
for path in ('/swe/out', '/swe/out/result', '/swe/lib/swe_harness_evidence.py', '/swe/run.sh'):
    try:
        shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
        os.symlink('/dev/null', path)
    except OSError:
        pass
"""
GARBAGE_ON_EVERY_FD = """
import os
for fd in range(3, 64):
    try:
        os.write(fd, b'{not json\\n')
    except OSError:
        pass
"""
SWAP_CODE_KEEPING_IDENTITY = """
import _pytest.unittest as U
def _never_run(self, *args, **kwargs):
    return None
U.TestCaseFunction.runtest.__code__ = _never_run.__code__
"""
TRACE_HOOK = """
import sys
sys.settrace(lambda *a: None)
"""
FAILURES_BECOME_SKIPS = """
import unittest, pytest
unittest.TestCase.failureException = pytest.skip.Exception
"""
MARK_SWAP = """
import pytest
pytest.mark.parametrize = pytest.mark.skip
"""


@pytest.mark.parametrize("code", [FORGE_EVIDENCE_AT_EXIT, SIGNAL_THE_JUDGE, REPLACE_OUTPUTS,
                                  SWAP_CODE_KEEPING_IDENTITY],
                         ids=["forge-at-exit", "signal-the-judge", "replace-outputs",
                              "swap-code-objects"])
def test_2_code_under_test_cannot_reach_the_judge(calc, code):
    assert_zero(calc, at_import(code), ("failed",))


@pytest.mark.parametrize("code,why", [
    (GARBAGE_ON_EVERY_FD, "unreadable"), (TRACE_HOOK, "trace or profile hook"),
    (FAILURES_BECOME_SKIPS, "failureException"), (MARK_SWAP, "pytest.mark"),
    (SWAP_CODE_KEEPING_IDENTITY, "TestCaseFunction.runtest"),
], ids=["garbage-evidence", "trace-hook", "failures-become-skips", "mark-swap", "swap-code"])
def test_2_tampering_fails_the_run_even_beside_a_real_fix(calc, code, why):
    """Each move would turn failures into passes or skips; seen, it voids even a fixed run."""
    result = assert_zero(calc, FIX_PATCH + at_import(code), ("failed",))
    assert why in (result.detail or ""), result.detail


PTH_SWAPPING_ADD = """
import glob, os, site
for d in site.getsitepackages():
    try:
        open(os.path.join(d, 'zz_fix.pth'), 'w').write(
            'import calc, calc.ops; calc.add = calc.ops.add = lambda a, b: a + b\\n')
    except OSError:
        pass
"""
SUBDIR_INIFILE = """
open('tests/pytest.ini', 'w').write("[pytest]\\naddopts = -k 'not add'\\n")
"""
OVERWRITE_EVIDENCE_PLUGIN = """
for path in ('/swe/lib/swe_harness_evidence.py', '/swe/lib/sitecustomize.py', '/swe/eval_script.sh'):
    try:
        open(path, 'w').write('import os\\nos._exit(0)\\n')
    except OSError:
        pass
"""
SITECUSTOMIZE_IN_SITE = """
import os, site
for d in site.getsitepackages():
    try:
        open(os.path.join(d, 'sitecustomize.py'), 'w').write(
            'import calc, calc.ops\\ncalc.add = calc.ops.add = lambda a, b: a + b\\n')
    except OSError:
        pass
"""
PLANT_ON_PATH = """
import os
for d in ('/usr/local/bin', '/opt/venv/bin'):
    for name in ('timeout', 'git', 'sha256sum', 'python3.11'):
        try:
            path = os.path.join(d, name)
            open(path, 'w').write('#!/bin/sh\\nexit 0\\n')
            os.chmod(path, 0o755)
        except OSError:
            pass
"""
FORGED_BYTECODE = """
import importlib.util, marshal, os, sys
import pytest
tag = sys.implementation.cache_tag
for module in ('test_add', 'test_ops'):
    path = os.path.abspath('tests/%s.py' % module)
    fake = compile('def test_fine():\\n    pass\\n', path, 'exec')
    st = os.stat(path)
    head = importlib.util.MAGIC_NUMBER + b'\\0' * 4 + (int(st.st_mtime) & 0xFFFFFFFF).to_bytes(
        4, 'little') + (st.st_size & 0xFFFFFFFF).to_bytes(4, 'little')
    for name in ('%s.%s.pyc' % (module, tag), '%s.%s-pytest-%s.pyc' % (module, tag, pytest.__version__)):
        try:
            os.makedirs('tests/__pycache__', exist_ok=True)
            open(os.path.join('tests/__pycache__', name), 'wb').write(head + marshal.dumps(fake))
        except OSError:
            pass
"""
REWRITE_AND_RESTORE = """
import os, subprocess, sys
for path in ('tests/test_add.py', 'tests/test_ops.py'):
    try:
        old = open(path).read()
        open(path, 'w').write('def test_fine():\\n    pass\\n')
        # a detached helper puts the file back once the tests have been collected
        subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(3); open(%r, "w").write(%r)'
                          % (path, old)], start_new_session=True)
    except OSError:
        pass
"""


@pytest.mark.parametrize("code", [PTH_SWAPPING_ADD, SUBDIR_INIFILE, OVERWRITE_EVIDENCE_PLUGIN,
                                  SITECUSTOMIZE_IN_SITE, PLANT_ON_PATH, FORGED_BYTECODE,
                                  REWRITE_AND_RESTORE],
                         ids=["pth", "subdir-inifile", "overwrite-evidence-plugin",
                              "sitecustomize", "plant-on-path", "forged-bytecode",
                              "rewrite-and-restore-tests"])
def test_2_build_steps_cannot_reach_the_judge(reinstalling, code):
    result = assert_zero(reinstalling, in_setup_py(code), ("failed",))
    # the task's own tests ran as written and were seen failing, or the change was caught
    assert (result.tests.get("tests/test_ops.py::TestSub::test_add_small") == "failed"
            or "import machinery" in (result.detail or "")
            or "changed during the eval" in (result.detail or "")), (result.tests, result.detail)


@pytest.mark.parametrize("code,why", [(PTH_SWAPPING_ADD, "runs code"),
                                      (SITECUSTOMIZE_IN_SITE, "start-up hook"),
                                      (PLANT_ON_PATH, "shadows the test tools")],
                         ids=["pth", "sitecustomize", "plant-on-path"])
def test_2_import_machinery_changes_fail_the_run_even_beside_a_real_fix(reinstalling, code, why):
    result = assert_zero(reinstalling, FIX_PATCH + in_setup_py(code), ("failed",))
    assert why in (result.detail or ""), result.detail


def test_2_control_the_reinstall_itself_works_for_an_honest_fix(reinstalling):
    """``pip install -e .`` as the unprivileged eval user, with an honest setup.py edit that
    names pytest in its extras: still 1.0."""
    setup = REPO["setup.py"].replace("setup()", "setup(extras_require={'test': ['pytest']})")
    result = assert_passes(reinstalling, FIX_PATCH + edit("setup.py", setup))
    assert result.evidence == "pytest"


# ---------------------------------------------------------------- 2. only the harness says error

FLOOD = """
import os, sys
chunk = b'x' * (1 << 20)
for _ in range(120):
    os.write(1, chunk)
"""


@pytest.mark.parametrize("code", [SIGNAL_THE_JUDGE, REPLACE_OUTPUTS, GARBAGE_ON_EVERY_FD, FLOOD,
                                  "import os\nos.kill(os.getppid(), 9)\n"],
                         ids=["kill-everything", "delete-outputs", "malformed-evidence",
                              "flood", "kill-parent"])
def test_2_what_the_code_under_test_can_cause_is_never_error(calc, code):
    result, reward = scored(calc, at_import(code))
    assert result.status != "error" and reward == 0.0, (result.status, result.error)


# ---------------------------------------------------------------- 3. honest fixes keep 1.0


def test_3_library_code_in_a_test_named_package_is_not_reverted(calc):
    """The fix lives in ``calc/testing/`` (as in numpy.testing): nothing resets it."""
    helper = "def plus(a, b):\n    return a + b\n"
    ops = REPO["calc/ops.py"].replace("def add(a, b):\n    return a - b\n",
                                      "def add(a, b):\n    from calc.testing.helpers import plus\n"
                                      "    return plus(a, b)\n")
    candidate = (edit("calc/testing/__init__.py", "") + edit("calc/testing/helpers.py", helper)
                 + edit("calc/ops.py", ops))
    assert_passes(calc, candidate)


def test_3_eval_scripts_that_ask_pytest_for_its_version_or_a_collection_first(calc):
    task = variant(calc, eval_script=calc.eval_script.replace(
        "python -m pytest", "python -m pytest -VV\npython -m pytest --version\n"
        "python -m pytest --collect-only -q tests/test_ops.py\npython -m pytest", 1))
    assert_passes(task, task.gold_candidate)


PYTESTER_TEST = '''pytest_plugins = ["pytester"]


def test_inner_session(pytester):
    pytester.makepyfile("def test_x():\\n    assert 1 + 1 == 2\\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


def test_add_again():
    from calc import add
    assert add(2, 2) == 4
'''


def test_3_in_process_pytester_runs_do_not_count_as_the_eval(calc):
    task = variant(calc, test_patch=calc.test_patch + diff("tests/test_inner.py", None, PYTESTER_TEST),
                   eval_script=calc.eval_script.replace("tests/test_add.py",
                                                        "tests/test_add.py tests/test_inner.py"))
    assert_passes(task, task.gold_candidate)
    assert_zero(task, "", ("failed",))


def test_3_a_module_named_for_doctests_is_not_reverted(calc):
    ops = REPO["calc/ops.py"].replace("def add(a, b):\n    return a - b\n",
                                      'def add(a, b):\n    """\n    >>> add(2, 3)\n    5\n    """\n'
                                      "    return a + b\n")
    task = variant(calc, eval_script=calc.eval_script.replace(
        "python -m pytest", "python -m pytest --doctest-modules calc/ops.py"))
    assert_passes(task, edit("calc/ops.py", ops))


# ---------------------------------------------------------------- 4. per-test grading


def test_4_listed_tests_must_have_run_and_passed(calc):
    lists = variant(calc, fail_to_pass=("tests/test_add.py::TestAdd::test_add",),
                    pass_to_pass=("tests/test_ops.py::TestSub::test_sub",))
    result = assert_passes(lists, lists.gold_candidate)
    assert result.test_counts["fail_to_pass_passed"] == 1
    narrowed = variant(lists, eval_script=lists.eval_script.replace(" tests/test_add.py", ""))
    result = assert_zero(narrowed, narrowed.gold_candidate, ("failed",))
    assert "FAIL_TO_PASS test did not run" in result.detail
