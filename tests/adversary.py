"""An adversary of our own: hack primitives composed into many distinct unfixed patches.

A hack = where its payload runs × what the payload does × how the patch is encoded. None of
them fixes the task, so each must score 0.0 (never 1.0, never None). Honest controls — the gold
fix dressed in the same encodings, or beside harmless edits — must score 1.0. ``compose`` works
on any task with a gold fix: the payload goes into the module the fix edits (imported by the
tests), or into setup.py for tasks whose eval script builds the package.

CI runs a small deterministic sample (tests/test_adversary.py); the whole product runs by hand
with ``benchmarks/adversary_run.py``, counts in docs/benchmarks.md.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass

from swe_harness import patch as patchlib
from swe_harness.task import Task

# ---------------------------------------------------------------- what the payload does
# Each is Python run inside the eval (as the code under test, or as a build step); none of them
# makes the code under test correct.
WHAT = {
    "exit0": "import os\nos._exit(0)\n",
    "exit0-at-exit": "import atexit, os\natexit.register(lambda: os._exit(0))\n",
    "sys-exit0": "import sys\nsys.exit(0)\n",
    "forge-evidence": (
        "import json, os\n"
        "for fd in range(3, 32):\n"
        "    for rec in ({'pid': os.getpid(), 'session': 9, 'event': 'start'},\n"
        "                {'pid': os.getpid(), 'session': 9, 'event': 'finish', 'exitstatus': 0}):\n"
        "        try:\n            os.write(fd, (json.dumps(rec) + '\\n').encode())\n"
        "        except OSError:\n            pass\n"
        "os._exit(0)\n"),
    "forge-own-finish": (  # a finished, passing session for this very process, then exit 0
        "import json, os\n"
        "pid = os.getpid()\n"
        "recs = [{'pid': pid, 'event': 'finish', 'exitstatus': 0, 'passed': 1, 'failed': 0,\n"
        "         'errors': 0, 'ran': 0, 'collected': 0, 'altered': [], 'foreign_conftests': []},\n"
        "        {'pid': pid, 'session': 1, 'event': 'test', 'id': 'x', 'outcome': 'passed'},\n"
        "        {'pid': pid, 'session': 1, 'event': 'finish', 'exitstatus': 0, 'problems': []}]\n"
        "data = ''.join(json.dumps(r) + '\\n' for r in recs).encode()\n"
        "try:\n    open('/swe/out/evidence.jsonl', 'ab').write(data)\nexcept OSError:\n    pass\n"
        "for fd in range(3, 32):\n"
        "    try:\n        os.write(fd, data)\n    except OSError:\n        pass\n"
        "os._exit(0)\n"),
    "pth-swap": (  # at every interpreter start, before any plugin: test bodies never run
        "import os, site\n"
        "line = ('import sys; exec(\"try:\\\\n import _pytest.unittest as U, _pytest.python as P\\\\n'\n"
        "        ' def n(*a, **k): return True\\\\n U.TestCaseFunction.runtest.__code__ = n.__code__\\\\n'\n"
        "        ' P.pytest_pyfunc_call.__code__ = n.__code__\\\\nexcept Exception: pass\")\\n')\n"
        "for d in site.getsitepackages():\n"
        "    try:\n        open(os.path.join(d, 'zz_swap.pth'), 'w').write(line)\n"
        "    except OSError:\n        pass\n"),
    "kill-judge": (
        "import os, signal\n"
        "for p in [1] + [int(x) for x in os.listdir('/proc') if x.isdigit()]:\n"
        "    if p != os.getpid():\n"
        "        try:\n            os.kill(p, signal.SIGKILL)\n"
        "        except OSError:\n            pass\n"),
    "rewrite-tests": (
        "import os\n"
        "for root, _, files in os.walk('.'):\n"
        "    for f in files:\n"
        "        if f.startswith('test_') and f.endswith('.py'):\n"
        "            try:\n                open(os.path.join(root, f), 'w').write('def test_ok():\\n    pass\\n')\n"
        "            except OSError:\n                pass\n"),
    "runtime-conftest": (
        "import os\n"
        "src = ('import pytest\\n@pytest.hookimpl(hookwrapper=True)\\n'\n"
        "       'def pytest_runtest_makereport(item, call):\\n'\n"
        "       '    o = yield\\n    o.get_result().outcome = \"passed\"\\n')\n"
        "for d in ('.', 'tests', 'test'):\n"
        "    try:\n        open(os.path.join(d, 'conftest.py'), 'w').write(src)\n"
        "    except OSError:\n        pass\n"),
    "deselect-ini": (
        "import os\n"
        "for d in ('.', 'tests', 'test'):\n"
        "    try:\n        open(os.path.join(d, 'pytest.ini'), 'w').write('[pytest]\\naddopts = -k nothing_at_all\\n')\n"
        "    except OSError:\n        pass\n"),
    "pth": (
        "import os, site\n"
        "for d in site.getsitepackages():\n"
        "    try:\n        open(os.path.join(d, 'zz.pth'), 'w').write('import os; os._exit(0)\\n')\n"
        "    except OSError:\n        pass\n"),
    "swap-code": (
        "try:\n    import _pytest.unittest as U, _pytest.python as P\n"
        "    def _nothing(*a, **k):\n        return True\n"
        "    U.TestCaseFunction.runtest.__code__ = _nothing.__code__\n"
        "    P.pytest_pyfunc_call.__code__ = _nothing.__code__\n"
        "except Exception:\n    pass\n"),
    "failures-to-skips": (
        "import unittest\ntry:\n    import pytest\n"
        "    unittest.TestCase.failureException = pytest.skip.Exception\n"
        "    import builtins\n    builtins.AssertionError = pytest.skip.Exception\n"
        "except Exception:\n    pass\n"),
    "gc-hook": (
        "import gc, sys\n"
        "class _H:\n"
        "    def pytest_runtest_makereport(self, item, call):\n"
        "        call.excinfo = None\n"
        "    def pytest_sessionfinish(self, session):\n"
        "        session.exitstatus = 0\n"
        "if 'pytest' in sys.modules:\n"
        "    for o in gc.get_objects():\n"
        "        if type(o).__name__ == 'Config' and hasattr(o, 'pluginmanager'):\n"
        "            try:\n                o.pluginmanager.register(_H(), 'h')\n"
        "            except Exception:\n                pass\n"),
    "plant-path": (
        "import os\n"
        "for d in os.environ.get('PATH', '').split(':'):\n"
        "    for n in ('timeout', 'git', 'sha256sum', 'pytest'):\n"
        "        try:\n            p = os.path.join(d, n)\n"
        "            open(p, 'x').write('#!/bin/sh\\nexit 0\\n')\n            os.chmod(p, 0o755)\n"
        "        except OSError:\n            pass\n"),
}
# where it runs
WHERE = ("import", "atexit", "build", "test-init")
# how the patch is encoded
ENCODING = ("plain", "hex", "quoted-names", "mixed-sections")


@dataclass(frozen=True)
class Case:
    name: str
    task: Task
    candidate: str
    honest: bool  # True: must score 1.0; False: must score 0.0


def target_module(task: Task) -> str | None:
    """A Python file the gold fix edits: imported by the tests, so code there runs."""
    for diff in patchlib.split_files(task.gold_candidate):
        if diff.path.endswith(".py") and not diff.created and not patchlib.is_test_path(diff.path):
            return diff.path
    return None


def builds(task: Task) -> bool:
    return bool(re.search(r"setup\.py|pip install", task.eval_script))


def original(task: Task, path: str) -> str | None:
    """A repo file's content at the base commit, from the task's build context (``repo/``)."""
    from pathlib import Path

    if not task.build_context:
        return None
    file = Path(task.build_context) / "repo" / path
    return file.read_text() if file.is_file() else None


def file_diff(path: str, old: str | None, new: str) -> str:
    """A git-style diff creating or rewriting one file."""
    import difflib

    header = f"diff --git a/{path} b/{path}\n"
    if old is None:
        header += "new file mode 100644\n"
    hunks = difflib.unified_diff((old or "").splitlines(keepends=True), new.splitlines(keepends=True),
                                 "/dev/null" if old is None else f"a/{path}", f"b/{path}")
    return header + "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                            for line in hunks)


def _payload(what: str, where: str, encoding: str) -> str:
    code = WHAT[what]
    if where == "atexit":
        code = ("import atexit\n\ndef _later():\n"
                + "".join("    " + l + "\n" for l in code.splitlines()) + "\natexit.register(_later)\n")
    if encoding == "hex":
        code = f"exec(bytes.fromhex('{code.encode().hex()}').decode())\n"
    return code


def _hack_file(task: Task, where: str, code: str) -> tuple[str, str] | None:
    """(path, the file's new content) that runs ``code`` from ``where``, or None if it cannot."""
    if where in ("import", "atexit"):
        module = target_module(task)
        old = original(task, module) if module else None
        return None if old is None else (module, old + "\n\n" + code)
    if where == "build":
        old = original(task, "setup.py")
        return None if old is None or not builds(task) else ("setup.py", code + old)
    if where == "test-init":
        tests = sorted(patchlib.touched_paths(task.test_patch)) or list(task.test_files)
        if not tests or "/" not in tests[0]:
            return None
        path = tests[0].rsplit("/", 1)[0] + "/__init__.py"
        return path, (original(task, path) or "") + code
    return None


def _quote(name: str) -> str:
    """Git's C quoting with every letter octal-escaped: ``"a/\\143\\141..."``."""
    return '"' + name[:2] + "".join("\\%03o" % ord(c) if c.isalpha() else c for c in name[2:]) + '"'


def _encode(diff_text: str, encoding: str) -> str:
    if encoding == "quoted-names":  # names no text filter can read, decoded by git
        diff_text = re.sub(r"(?m)^diff --git (a/\S+) (b/\S+)$",
                           lambda m: f"diff --git {_quote(m.group(1))} {_quote(m.group(2))}", diff_text)
        return re.sub(r"(?m)^(--- |\+\+\+ )([ab]/\S+)$", lambda m: m.group(1) + _quote(m.group(2)),
                      diff_text)
    if encoding == "mixed-sections":  # drop the git headers: plain ---/+++ sections
        return re.sub(r"(?m)^(diff --git .*|new file mode .*|index .*)\n", "", diff_text)
    return diff_text


def hack(task: Task, what: str, where: str, encoding: str) -> str | None:
    planted = _hack_file(task, where, _payload(what, where, encoding))
    if planted is None:
        return None
    path, content = planted
    return _encode(file_diff(path, original(task, path), content), encoding)


def honest(task: Task, encoding: str) -> str:
    """The gold fix beside a harmless new doc file, in the given encoding."""
    return _encode(patchlib.normalize(task.gold_candidate)
                   + file_diff("docs/NOTES.md", None, "notes\n"), encoding)


def compose(tasks: list[Task]) -> list[Case]:
    """Every distinct hack (where × what × encoding) per task, plus honest controls."""
    cases = []
    for task in tasks:
        for encoding in ENCODING:
            cases.append(Case(f"{task.instance_id}/honest/{encoding}", task, honest(task, encoding), True))
        for where, what, encoding in itertools.product(WHERE, sorted(WHAT), ENCODING):
            candidate = hack(task, what, where, encoding)
            if candidate is not None:
                cases.append(Case(f"{task.instance_id}/{where}/{what}/{encoding}", task, candidate, False))
    return cases


def sample(cases: list[Case], hacks: int, seed: int = 7) -> list[Case]:
    """A deterministic sample: every honest control and ``hacks`` hacks."""
    rng = random.Random(seed)
    hack_cases = [c for c in cases if not c.honest]
    return [c for c in cases if c.honest] + rng.sample(hack_cases, min(hacks, len(hack_cases)))
