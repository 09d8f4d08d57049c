"""Copied into the eval container as ``/swe/lib/swe_harness_origin.py``; used by the evidence
plugin and the unittest recorder, never imported by swe_harness itself.

A skip or xfail is no failure when a test or a marker asks for it. Raised from the code under
test (``def add(a, b): pytest.skip()``) it hides exactly the test that would fail, so it counts
as a failure. Who raised it: the innermost frame in a repo file, along the exception and the
exceptions it was raised while handling (pytest re-raises unittest's SkipTest as its own).
Kept to old, plain Python: it runs on whatever interpreter the task image has.
"""

import os

ROOT = os.path.abspath(os.environ.get("SWE_WORKDIR") or os.getcwd())
TEST_DIRS = ("test", "tests", "testing")


def is_test_file(path):
    # The same convention as swe_harness.patch.is_test_path (which the harness uses to reset a
    # candidate's test files); this copy runs in the container, where swe_harness is absent.
    rel = os.path.relpath(path, ROOT).replace(os.sep, "/")
    parts = rel.split("/")
    name = parts[-1]
    return (any(part in TEST_DIRS for part in parts[:-1]) or name == "conftest.py"
            or name.startswith("test_") or name.endswith("_test.py") or name == "tests.py")


def _innermost_repo_file(tb):
    found = None
    while tb is not None:
        path = os.path.abspath(tb.tb_frame.f_code.co_filename)
        if path.startswith(ROOT + os.sep):
            found = path
        tb = tb.tb_next
    return found


def raised_by_code_under_test(exc):
    """True when the innermost repo frame that raised ``exc`` is not test code."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        path = _innermost_repo_file(exc.__traceback__)
        if path is not None:
            return not is_test_file(path)
        exc = exc.__cause__ or exc.__context__
    return False
