"""Copied into the eval container as ``/swe/lib/sitecustomize.py``; never imported by swe_harness.

unittest has no plugin hook, and its printed summary can be forged by the code under test
(``print("Ran 3 tests ... OK"); os._exit(0)``). So every Python process of the eval imports this
at start-up (``PYTHONPATH=/swe/lib``) and, when the harness asked for evidence:
- imports the standard ``unittest`` first, so a ``unittest/`` package in the repo cannot shadow it;
- records each ``TextTestRunner.run`` (start, then each test's outcome and the real counts at its
  end) as JSON lines, written to the runner's pipe (fd ``SWE_HARNESS_EVIDENCE_FD``);
- notes whether ``unittest``'s assertion and result classes were altered while tests ran.
Then it runs the image's own ``sitecustomize``, if one exists outside the repo.
Kept to old, plain Python: it runs on whatever interpreter the task image has.
"""

import sys

# Imported with the standard library alone on sys.path: a json.py planted on PYTHONPATH or in the
# repo must not run inside the harness's own start-up code.
_SAVED_PATH = sys.path[:]
sys.path[:] = [p for p in sys.path if p and p.startswith((sys.base_prefix, sys.prefix))
               and "site-packages" not in p and "dist-packages" not in p]
try:
    import json
    import os
finally:
    sys.path[:] = _SAVED_PATH

_FD = os.environ.get("SWE_HARNESS_EVIDENCE_FD")
_FD = int(_FD) if _FD and _FD.isdigit() else None
_RUNS = [0]


def snapshot(classes):
    """Every behaviour of ``classes`` with its code object: monkeypatching a method, or swapping
    the code of one in place (``f.__code__ = ...``), shows up as a difference."""
    return dict((cls.__qualname__ + "." + name, (value, getattr(value, "__code__", None)))
                for cls in classes for name, value in list(vars(cls).items())
                if callable(value) or isinstance(value, (staticmethod, classmethod, property)))


def altered(before, classes):
    after = snapshot(classes)
    return sorted(name for name in set(before) | set(after)
                  if name not in before or name not in after
                  or before[name][0] is not after[name][0] or before[name][1] is not after[name][1])


def _write(record):
    try:
        os.write(_FD, (json.dumps(record) + "\n").encode("utf-8", "replace"))
    except OSError:
        pass


def _outcomes(result, started):
    """Each started test's outcome, by ``test.id()``."""
    out = dict((test.id(), "passed") for test in started)
    for attr, outcome in (("skipped", "skipped"), ("expectedFailures", "xfailed"),
                          ("unexpectedSuccesses", "xpassed"), ("errors", "error"),
                          ("failures", "failed")):
        for entry in getattr(result, attr, ()):
            test = entry[0] if isinstance(entry, tuple) else entry
            try:
                out[test.id()] = outcome
            except Exception:
                pass
    return out


def _install_unittest_recorder():
    import unittest

    from swe_harness_origin import raised_by_code_under_test

    classes = [unittest.TestCase, unittest.TestResult, unittest.TextTestResult,
               unittest.TextTestRunner, unittest.TestSuite, unittest.TestLoader]
    original_run = unittest.TextTestRunner.run
    original_add_skip = unittest.TestResult.addSkip
    original_start = unittest.TestResult.startTest
    baseline = snapshot(classes)
    skips_from_code = [0]
    started = []
    code_skipped = []

    def add_skip(self, test, reason):
        # called inside unittest's `except SkipTest`: the exception says who raised it
        exc = sys.exc_info()[1]
        if exc is not None and raised_by_code_under_test(exc):
            skips_from_code[0] += 1
            code_skipped.append(test)
        return original_add_skip(self, test, reason)

    def start_test(self, test):
        started.append(test)
        return original_start(self, test)

    def run(self, test):
        _RUNS[0] += 1
        skips_from_code[0] = 0
        del started[:], code_skipped[:]
        record = {"runner": "unittest", "pid": os.getpid(), "run": _RUNS[0], "event": "start"}
        _write(record)
        result = original_run(self, test)
        outcomes = _outcomes(result, started)
        for skipped in code_skipped:
            outcomes[skipped.id()] = "failed"
        for test_id, outcome in sorted(outcomes.items()):
            _write({"runner": "unittest", "pid": os.getpid(), "run": _RUNS[0], "event": "test",
                    "id": test_id[:3500], "outcome": outcome})
        # a skip raised by the code under test hides a failure: it counts as one
        record.update(event="finish", tests_run=result.testsRun,
                      failures=len(result.failures) + skips_from_code[0],
                      errors=len(result.errors), skipped=len(result.skipped),
                      unexpected_successes=len(result.unexpectedSuccesses),
                      altered=altered(baseline, classes))
        _write(record)
        return result

    unittest.TextTestRunner.run = run
    unittest.TestResult.addSkip = add_skip
    unittest.TestResult.startTest = start_test
    _fail_modules_skipped_by_code_under_test(raised_by_code_under_test)
    baseline = snapshot(classes)


def _fail_modules_skipped_by_code_under_test(raised_by_code_under_test):
    """The loader turns a SkipTest raised while importing a test module into a skipped test,
    and the skip's origin is lost there. Raised by the code under test, it becomes a failed
    test instead (the loader's own helper for import errors)."""
    import unittest.loader as loader

    make_skipped = getattr(loader, "_make_skipped_test", None)
    make_failed = getattr(loader, "_make_failed_test", None)
    if make_skipped is None or make_failed is None:
        return

    def skipped_or_failed(methodname, exception, suiteClass):
        if raised_by_code_under_test(exception):
            return make_failed(methodname, exception, suiteClass, "skipped by the code under test")
        return make_skipped(methodname, exception, suiteClass)

    loader._make_skipped_test = skipped_or_failed


def _chain_image_sitecustomize():
    """Run the sitecustomize this file shadows, unless it lives in the repo under test."""
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.abspath(os.environ.get("SWE_WORKDIR") or "/nonexistent")
    path = [p for p in sys.path if os.path.abspath(p or ".") not in (here,)
            and not os.path.abspath(p or ".").startswith(repo)]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)


if _FD is not None:
    try:
        _install_unittest_recorder()
    except Exception:  # no evidence then: the grader says so, the run itself must not break
        pass
try:
    _chain_image_sitecustomize()
except Exception:
    pass
