"""Injected into the eval's pytest (``PYTEST_PLUGINS``), never imported by swe_harness itself.

An exit status alone is no proof: code under test can ``os._exit(0)`` before any test runs. This
plugin streams, per pytest session, what ran to a pipe that the runner (root) reads, one JSON line
per write (atomic below 4 KiB): the session's start (rootdir, inifile and its digest), the ids it
collected, each test's outcome as it finishes, and the session's end with what was tampered with.
A record once written cannot be taken back: an ``atexit`` hook that forges a success after a real
failure changes nothing. The grader (grading.py) decides from these records.

Tamper checks compare code, not identities: the functions of pytest, pluggy and unittest that
decide outcomes are compared with a fresh compile of their (root-owned, RECORD-checked) sources;
the pytest API, the builtin exceptions and the mark generator with what they were when this plugin
loaded; trace and profile hooks, and plugins registered later from the code under test, count too.
Kept to old, plain Python: it runs on whatever interpreter and pytest the task image has.
"""

import builtins
import json
import os
import sys
import threading
import types
import unittest

import pytest

from swe_harness_origin import ROOT, is_test_file, raised_by_code_under_test



def _channel():
    """The runner's pipe, moved to a descriptor that this process's children do not inherit."""
    fd = os.environ.pop("SWE_HARNESS_EVIDENCE_FD", None)
    if not fd or not fd.isdigit():
        return None
    try:
        private = os.dup(int(fd))  # non-inheritable (PEP 446)
        os.close(int(fd))
        return private
    except OSError:
        return None


_FD = _channel()
_CONFTESTS_FILE = os.environ.pop("SWE_HARNESS_CONFTESTS", None)
_SESSIONS = [0]
_DEPTH = [0]
_STATE = {}
_GUARDED_MODULES = ("_pytest.runner", "_pytest.python", "_pytest.reports", "_pytest.skipping",
                    "_pytest.outcomes", "_pytest.main", "_pytest.unittest", "_pytest.nodes",
                    "pluggy._callers", "pluggy._hooks", "pluggy._manager", "unittest.case",
                    "unittest.result", "unittest.suite")
_MAX_WRITE = 3500


def _send(record):
    if _FD is None:
        return
    record["pid"] = os.getpid()
    data = (json.dumps(record) + "\n").encode("utf-8", "replace")
    try:
        os.write(_FD, data)
    except OSError:
        pass


def _allowed_conftests():
    """(sha256, path from the repo root) of every conftest.py and pytest config file present
    before the eval script ran, as the runner listed them (``sha256sum`` lines)."""
    if not _CONFTESTS_FILE:
        return None
    try:
        with open(_CONFTESTS_FILE) as fh:
            return set(tuple(line.rstrip("\n").split("  ", 1)) for line in fh if "  " in line)
    except OSError:
        return None


_ALLOWED = _allowed_conftests()


def _digest(path):
    import hashlib

    try:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()
    except (OSError, TypeError):
        return "unreadable"


def _known_file(path):
    """Was this conftest or config file in the repo, with this content, when the eval started?"""
    if _ALLOWED is None or not path:
        return True
    rel = "./" + os.path.relpath(os.path.abspath(str(path)), ROOT)
    return (_digest(path), rel) in _ALLOWED


# ------------------------------------------------------------------ what must not change


def _functions(owner):
    """Functions of a module or class, by qualified name (methods, static and class methods)."""
    out = {}
    for name, value in list(vars(owner).items()):
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if isinstance(value, property):
            value = value.fget
        if isinstance(value, types.FunctionType) and value.__module__ == _module_name(owner):
            out[getattr(value, "__qualname__", name)] = value
        elif isinstance(value, type) and getattr(value, "__module__", None) == getattr(owner, "__name__", None):
            for qual, func in _functions(value).items():
                out[qual] = func
    return out


def _module_name(owner):
    return owner.__name__ if isinstance(owner, types.ModuleType) else owner.__module__


def _guarded():
    import importlib

    modules = []
    for name in _GUARDED_MODULES:
        try:
            modules.append(importlib.import_module(name))
        except ImportError:
            continue
    return modules


def _snapshot():
    """Each guarded function with its code object, the pytest API, builtins, the mark generator."""
    funcs = {}
    for module in _guarded():
        for qual, func in _functions(module).items():
            inner = func
            while isinstance(getattr(inner, "__wrapped__", None), types.FunctionType):
                inner = inner.__wrapped__  # functools.wraps, contextmanager: the code written here
            funcs[module.__name__ + ":" + qual] = (func, inner.__code__)
    objects = {}
    for owner in [unittest.TestCase, unittest.TestResult] + _guarded():
        for name, value in list(vars(owner).items()):
            if isinstance(value, type) or isinstance(owner, type) and callable(value):
                objects[_module_name(owner) + ":" + getattr(owner, "__qualname__", "") + "." + name] = value
    api = dict((name, value) for name, value in vars(pytest).items() if not name.startswith("_"))
    exceptions = dict((name, value) for name, value in vars(builtins).items()
                      if isinstance(value, type) and issubclass(value, BaseException))
    return {"funcs": funcs, "objects": objects, "api": api, "builtins": exceptions,
            "mark": sorted(vars(pytest.mark)) if hasattr(pytest, "mark") else []}


def _source_code_objects(module):
    """Code objects compiled afresh from the module's source, by qualified name."""
    path = getattr(module, "__file__", None) or ""
    if path.endswith((".pyc", ".pyo")):
        path = path[:-1]
    try:
        with open(path, "rb") as fh:
            top = compile(fh.read(), path, "exec", dont_inherit=True)
    except (OSError, SyntaxError, ValueError):
        return None
    found = {}
    stack = [top]
    while stack:
        code = stack.pop()
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                found.setdefault(_qualname(const), []).append(const)
                stack.append(const)
    return found


def _altered(baseline):
    out = []
    now = _snapshot()
    for key, (func, code) in baseline["funcs"].items():
        current = now["funcs"].get(key)
        if current is None or current[0] is not func or current[1] is not code:
            out.append("replaced " + key)
    out += ["replaced " + k for k in set(baseline["objects"]) | set(now["objects"])
            if baseline["objects"].get(k) is not now["objects"].get(k)]
    out += ["pytest." + k for k in set(baseline["api"]) | set(now["api"])
            if baseline["api"].get(k) is not now["api"].get(k)]
    out += ["builtins." + k for k in set(baseline["builtins"]) | set(now["builtins"])
            if baseline["builtins"].get(k) is not now["builtins"].get(k)]
    if now["mark"] != baseline["mark"]:
        out.append("pytest.mark")
    out += _differs_from_source(now["funcs"])
    if sys.gettrace() is not None or sys.getprofile() is not None:
        out.append("a trace or profile hook")
    if getattr(threading, "_trace_hook", None) or getattr(threading, "_profile_hook", None):
        out.append("a thread trace or profile hook")
    monitoring = getattr(sys, "monitoring", None)
    if monitoring is not None:
        for tool in range(6):
            if monitoring.get_tool(tool) is not None:
                out.append("a sys.monitoring tool")
                break
    return sorted(out)


_STDLIB = os.path.dirname(os.path.abspath(os.__file__)) + os.sep


def _qualname(code):
    return getattr(code, "co_qualname", code.co_name)


def _differs_from_source(funcs):
    """Guarded functions whose code is not what their source file compiles to (a ``.pth`` or a
    build step that swapped them before this plugin loaded, keeping every identity)."""
    out = []
    by_module = {}
    for key, (func, code) in funcs.items():
        by_module.setdefault(key.split(":", 1)[0], []).append((key, code))
    for name, entries in by_module.items():
        module = sys.modules.get(name)
        fresh = _source_code_objects(module)
        if fresh is None:
            continue
        source = os.path.abspath(module.__file__.rstrip("co"))
        for key, code in entries:
            if key.rsplit(".", 1)[-1].startswith("__") and (
                    code.co_filename == "<string>" or code.co_filename.startswith(_STDLIB)):
                continue  # dunder methods made by dataclasses (through reprlib)
            if os.path.abspath(code.co_filename) != source:
                out.append("code from elsewhere in " + key)
            elif not any(code == c for c in fresh.get(_qualname(code), [])):
                out.append("code differs from its source in " + key)
    return out


def _modified_installed_files():
    """pytest's and pluggy's installed sources that no longer match the sha256 in their RECORD."""
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
                with open(str(entry.locate()), "rb") as fh:
                    data = fh.read()
            except OSError:
                changed.append(str(entry))
                continue
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            if digest != entry.hash.value:
                changed.append(str(entry))
    return changed


def _runner_origin():
    """pytest and _pytest must be the installed ones, not modules planted on sys.path."""
    import _pytest

    out = []
    for module in (pytest, _pytest):
        path = os.path.abspath(getattr(module, "__file__", "") or "")
        if path.startswith(ROOT + os.sep) or not path:
            out.append("the test runner was imported from " + (path or "nowhere"))
    return out


_BASELINE = _snapshot()
_PROBLEMS_AT_LOAD = (["installed files changed: " + p for p in _modified_installed_files()]
                     + _runner_origin())


# ------------------------------------------------------------------ the session


def _repo_relative(rootdir):
    rel = os.path.relpath(os.path.abspath(str(rootdir)), ROOT)
    return "" if rel == "." else rel.replace(os.sep, "/") + "/"


def _plugin_file(plugin):
    module = plugin if isinstance(plugin, types.ModuleType) else sys.modules.get(
        getattr(type(plugin), "__module__", ""), None)
    return getattr(module, "__file__", None) or ""


def _foreign(plugin):
    """A plugin that comes from the repo's non-test code (not a conftest, not a test helper)."""
    path = os.path.abspath(_plugin_file(plugin))
    if not path.startswith(ROOT + os.sep):
        return None
    if os.path.basename(path) == "conftest.py" or is_test_file(path):
        return None
    return os.path.relpath(path, ROOT)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    _DEPTH[0] += 1
    if _DEPTH[0] > 1:  # an in-process run inside a test (pytester): not what the eval runs
        return
    _SESSIONS[0] += 1
    config = session.config
    inifile = getattr(config, "inipath", None) or getattr(config, "inifile", None)
    _STATE.clear()
    _STATE.update(session=_SESSIONS[0], prefix=_repo_relative(config.rootdir), outcomes={},
                  skips_from_code=0, late_plugins=[], problems=[],
                  started_plugins=set(id(p) for p in config.pluginmanager.get_plugins()))
    if inifile and not _known_file(inifile):
        _STATE["problems"].append("pytest read a config file that was not in the repo when the "
                                  "eval started: " + os.path.relpath(str(inifile), ROOT))
    _send({"event": "start", "session": _SESSIONS[0], "rootdir": str(config.rootdir),
           "inifile": str(inifile or ""),
           "collect_only": bool(getattr(config.option, "collectonly", False))})


def pytest_plugin_registered(plugin, manager):
    """A conftest.py that was not in the repo when the eval started, or a plugin the code under
    test registered while tests ran, decides outcomes as much as a patched test."""
    path = _plugin_file(plugin)
    if os.path.basename(path) == "conftest.py" and not _known_file(path):
        _PROBLEMS_AT_LOAD.append("pytest loaded a conftest.py that was not in the repo when the "
                                 "eval started: " + os.path.relpath(os.path.abspath(path), ROOT))
    if _STATE and _DEPTH[0] == 1 and _foreign(plugin):
        _STATE["late_plugins"].append(_foreign(plugin))


def pytest_collectreport(report):
    """A test module skipped at collection because the code under test raised the skip when
    imported (``raise unittest.SkipTest`` in the package) hides its tests: a failure."""
    if not _STATE or _DEPTH[0] != 1:
        return
    where = report.longrepr if report.skipped else None
    if isinstance(where, tuple) and len(where) == 3:
        path = os.path.abspath(str(where[0]))
        if path.startswith(ROOT + os.sep) and not is_test_file(path):
            _STATE["skips_from_code"] += 1
    if report.failed:  # a module that does not import: its tests never run
        _send({"event": "test", "session": _STATE["session"],
               "id": (_STATE["prefix"] + report.nodeid)[:_MAX_WRITE], "outcome": "error"})


def pytest_collection_finish(session):
    if not _STATE or _DEPTH[0] != 1:
        return
    ids = [_STATE["prefix"] + item.nodeid for item in session.items]
    chunk = []
    for nodeid in ids + [None]:
        if nodeid is None or len(json.dumps(chunk)) + len(nodeid) > _MAX_WRITE:
            _send({"event": "collected", "session": _STATE["session"], "ids": chunk})
            chunk = []
        if nodeid is not None:
            chunk.append(nodeid[:_MAX_WRITE])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    raw = call.excinfo  # before any other makereport hook could clear it
    yield
    # unittest-style items: pytest's own unittest hook moves their failure into call.excinfo
    # only inside makereport, so look again afterwards.
    if _STATE and _DEPTH[0] == 1:
        _count(item, call.when, raw if raw is not None else call.excinfo)


def _count(item, when, excinfo):
    nodeid = _STATE["prefix"] + item.nodeid
    outcomes = _STATE["outcomes"]
    skip = excinfo is not None and excinfo.errisinstance(pytest.skip.Exception)
    xfail = excinfo is not None and (excinfo.errisinstance(pytest.xfail.Exception)
                                     or item.get_closest_marker("xfail") is not None)
    if excinfo is not None and (skip or excinfo.errisinstance(pytest.xfail.Exception)) \
            and raised_by_code_under_test(excinfo.value):
        outcomes[nodeid] = "failed"  # the code under test hid its own failure behind a skip
        _STATE["skips_from_code"] += 1
        return
    if outcomes.get(nodeid) in ("failed", "error"):
        return
    if when == "call":
        if excinfo is None:
            outcomes[nodeid] = "xpassed" if item.get_closest_marker("xfail") is not None else "passed"
        elif skip:
            outcomes[nodeid] = "skipped"
        elif xfail:
            outcomes[nodeid] = "xfailed"
        else:
            outcomes[nodeid] = "failed"
    elif excinfo is not None and not skip:
        outcomes[nodeid] = "error"
    elif when == "setup" and skip:
        outcomes[nodeid] = "skipped"


def pytest_runtest_logfinish(nodeid, location):
    """A test went through setup, call and teardown: its outcome is final, send it now."""
    if not _STATE or _DEPTH[0] != 1:
        return
    full = _STATE["prefix"] + nodeid
    _send({"event": "test", "session": _STATE["session"], "id": full[:_MAX_WRITE],
           "outcome": _STATE["outcomes"].get(full, "error")})


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    _DEPTH[0] -= 1
    if _DEPTH[0] != 0 or not _STATE:
        return
    late = [_foreign(p) for p in session.config.pluginmanager.get_plugins()
            if id(p) not in _STATE["started_plugins"]]
    problems = _STATE["problems"] + _PROBLEMS_AT_LOAD + _altered(_BASELINE)
    problems += ["a plugin registered from the code under test: " + p
                 for p in sorted(set(_STATE["late_plugins"] + [x for x in late if x]))]
    _send({"event": "finish", "session": _STATE["session"], "exitstatus": int(exitstatus),
           "skips_from_code": _STATE["skips_from_code"],
           "problems": sorted(set(problems))[:20]})
