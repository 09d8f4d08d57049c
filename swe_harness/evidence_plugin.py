"""Injected into the eval's pytest (``PYTEST_PLUGINS``), never imported by swe_harness itself.

An exit status alone is no proof: code under test can ``os._exit(0)`` before any test runs. This
plugin records, per pytest process, that it started, what was collected and deselected, the raw
outcome of every test call (``call.excinfo`` before and after the other report hooks) and how
the session finished. The file name comes from an environment variable that is removed as soon
as this module loads, so child processes and the code under test do not inherit it.
Kept to old, plain Python: it runs on whatever interpreter and pytest the task image has.
"""

import json
import os
import types
import unittest

import pytest

from swe_harness_origin import ROOT, is_test_file, raised_by_code_under_test

_PATH = os.environ.pop("SWE_HARNESS_EVIDENCE", None)
_STATE = {"pid": os.getpid(), "event": "start", "collected": 0, "deselected": 0, "passed": 0,
          "failed": 0, "errors": 0, "skipped": 0, "xfailed": 0, "exitstatus": None, "altered": [],
          "ran": 0,
          "foreign_conftests": []}


def _allowed_conftests():
    """(sha256, path from the repo root) of every conftest.py present before the eval script
    ran, as the runner listed them (``sha256sum`` lines)."""
    listing = os.environ.pop("SWE_HARNESS_CONFTESTS", None)
    if not listing:
        return None
    with open(listing) as fh:
        return set(tuple(line.rstrip("\n").split("  ", 1)) for line in fh if "  " in line)


_ALLOWED_CONFTESTS = _allowed_conftests()
_ROOT = os.path.abspath(os.environ.get("SWE_WORKDIR") or os.getcwd())


def _guarded():
    """What decides an outcome inside this process. The code under test runs here too; a change
    to any of these while the tests ran (``TestCase.assertEqual = lambda *a: None``) voids a pass.
    Looked up defensively: old pytest versions lack some of them."""
    import importlib

    owners = [unittest.TestCase, unittest.TestResult]
    for module, classes in (("_pytest.runner", ("CallInfo",)), ("_pytest.python", ("Function",)),
                            ("_pytest.unittest", ("TestCaseFunction",)),
                            ("_pytest.reports", ("BaseReport", "TestReport"))):
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        owners.append(mod)
        owners.extend(getattr(mod, name) for name in classes if hasattr(mod, name))
    return owners


_GUARDED = _guarded()


def _behaviour(owner, value):
    """Code, not state: pytest itself sets flags on these classes while it runs."""
    if isinstance(owner, types.ModuleType):
        return isinstance(value, types.FunctionType)
    return callable(value) or isinstance(value, (staticmethod, classmethod, property))


def _snapshot():
    """Identity of every guarded class attribute and module function."""
    out = {}
    for owner in _GUARDED:
        name = getattr(owner, "__qualname__", None) or owner.__name__
        for key, value in list(vars(owner).items()):
            if _behaviour(owner, value):
                out[name + "." + key] = id(value)
    return out


_BASELINE = _snapshot()


def _modified_installed_files():
    """pytest's and pluggy's installed sources that no longer match the sha256 in their own
    RECORD: a build step of the eval (``pip install -e .`` running the candidate's setup.py)
    could rewrite the test runner on disk before it starts."""
    import base64
    import hashlib

    try:
        from importlib import metadata
    except ImportError:  # Python < 3.8: nothing to check against
        return []
    changed = []
    for name in ("pytest", "pluggy"):
        try:
            files = metadata.distribution(name).files or []
        except Exception:
            continue
        for entry in files:
            if not entry.hash or entry.hash.mode != "sha256" or not str(entry).endswith(".py"):
                continue
            try:
                data = entry.read_binary() if hasattr(entry, "read_binary") else open(entry.locate(), "rb").read()
            except OSError:
                changed.append(str(entry))
                continue
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            if digest != entry.hash.value:
                changed.append(str(entry))
    return changed


_STATE["altered"] = ["installed files changed: " + path for path in _modified_installed_files()]


def _write():
    if not _PATH:
        return
    with open(_PATH, "a") as fh:
        fh.write(json.dumps(_STATE) + "\n")


_write()


def pytest_plugin_registered(plugin, manager):
    """A conftest.py that was not in the repo when the eval started (written by a build step or
    by code under test) decides outcomes as much as a patched one: record it."""
    path = getattr(plugin, "__file__", None) or ""
    if _ALLOWED_CONFTESTS is None or os.path.basename(path) != "conftest.py":
        return
    import hashlib

    try:
        with open(path, "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()
    except OSError:
        digest = "unreadable"
    rel = "./" + os.path.relpath(os.path.abspath(path), _ROOT)
    if (digest, rel) not in _ALLOWED_CONFTESTS:
        _STATE["foreign_conftests"].append(rel)


def pytest_runtest_logfinish(nodeid, location):
    """A test went through setup, call and teardown. A session that ends before every collected
    test did (``pytest.exit(returncode=0)`` from the code under test) proves nothing."""
    _STATE["ran"] += 1


def pytest_collectreport(report):
    """A test module skipped at collection because the code under test raised the skip when
    imported (``raise unittest.SkipTest`` in the package) hides its tests: a failure."""
    where = report.longrepr if report.skipped else None
    if isinstance(where, tuple) and len(where) == 3:
        path = os.path.abspath(str(where[0]))
        if path.startswith(ROOT + os.sep) and not is_test_file(path):
            _STATE["failed"] += 1
            _STATE["skips_from_code"] = _STATE.get("skips_from_code", 0) + 1


def pytest_deselected(items):
    _STATE["deselected"] += len(items)


def pytest_collection_finish(session):
    _STATE["collected"] = len(session.items)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    raw = call.excinfo  # before any other makereport hook could clear it
    yield
    # unittest-style items: pytest's own unittest hook moves their failure into call.excinfo
    # only inside makereport, so look again afterwards.
    _count(item, call.when, raw if raw is not None else call.excinfo)


def _count(item, when, excinfo):
    skipped = excinfo is not None and excinfo.errisinstance(pytest.skip.Exception)
    if (excinfo is not None and excinfo.errisinstance((pytest.skip.Exception, pytest.xfail.Exception))
            and raised_by_code_under_test(excinfo.value)):
        _STATE["failed"] += 1  # the code under test hid its own failure behind a skip
        _STATE["skips_from_code"] = _STATE.get("skips_from_code", 0) + 1
        return
    if when == "call":
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
    elif when == "setup" and skipped:
        _STATE["skipped"] += 1


def pytest_sessionfinish(session, exitstatus):
    now = _snapshot()
    _STATE["altered"] += sorted(k for k in set(now) | set(_BASELINE) if now.get(k) != _BASELINE.get(k))
    _STATE["event"] = "finish"
    _STATE["exitstatus"] = int(exitstatus)
    _write()
