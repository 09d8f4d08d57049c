"""Injected into the eval's pytest (``PYTEST_PLUGINS``), never imported by swe_harness itself.

An exit status alone is no proof: code under test can ``os._exit(0)`` before any test runs. This
plugin records, per pytest process, that it started, what was collected and deselected, the raw
outcome of every test call (from ``call.excinfo``, before any report hook can rewrite it) and how
the session finished. The file name comes from an environment variable that is removed as soon
as this module loads, so child processes and the code under test do not inherit it.
Kept to old, plain Python: it runs on whatever interpreter and pytest the task image has.
"""

import json
import os

import pytest

_PATH = os.environ.pop("SWE_HARNESS_EVIDENCE", None)
_STATE = {"pid": os.getpid(), "event": "start", "collected": 0, "deselected": 0, "passed": 0,
          "failed": 0, "errors": 0, "skipped": 0, "xfailed": 0, "exitstatus": None}


def _write():
    if not _PATH:
        return
    with open(_PATH, "a") as fh:
        fh.write(json.dumps(_STATE) + "\n")


_write()


def pytest_deselected(items):
    _STATE["deselected"] += len(items)


def pytest_collection_finish(session):
    _STATE["collected"] = len(session.items)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    excinfo = call.excinfo
    skipped = excinfo is not None and excinfo.errisinstance(pytest.skip.Exception)
    if call.when == "call":
        if excinfo is None:
            _STATE["passed"] += 1
        elif skipped:
            _STATE["skipped"] += 1
        elif item.get_closest_marker("xfail") is not None or excinfo.errisinstance(pytest.xfail.Exception):
            _STATE["xfailed"] += 1
        else:
            _STATE["failed"] += 1
    elif excinfo is not None and not skipped:
        _STATE["errors"] += 1
    elif call.when == "setup" and skipped:
        _STATE["skipped"] += 1
    yield


def pytest_sessionfinish(session, exitstatus):
    _STATE["event"] = "finish"
    _STATE["exitstatus"] = int(exitstatus)
    _write()
