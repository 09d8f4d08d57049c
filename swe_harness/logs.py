"""Test logs: per-test outcomes read from an eval log, for repos whose test runner is not pytest
(sympy's ``bin/test``, django's ``runtests.py``) and for SWE-bench-style grading.

Pure functions on strings. The parser of a task is its ``log_parser`` (a name, e.g.
``parse_log_django``), else its repo's; ``swebench``'s parsers are used where that package is
installed, small parsers of our own for pytest, django and sympy otherwise.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Callable

PASSED, FAILED, ERROR, SKIPPED, XFAIL = "PASSED", "FAILED", "ERROR", "SKIPPED", "XFAIL"
OK_STATUSES = (PASSED, XFAIL)  # as SWE-bench counts them
# SWE-bench eval scripts fence the test run with these (as `: '>>>>> Start Test Output'`)
START_MARK, END_MARK = ">>>>> Start Test Output", ">>>>> End Test Output"

Parser = Callable[[str], dict[str, str]]

_PYTEST_STATUSES = (PASSED, FAILED, ERROR, SKIPPED, XFAIL, "XPASS")
_PYTEST_VERBOSE = re.compile(r"^(\S+::\S+(?:\[.*?\])?) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b")


def parse_log_pytest(log: str) -> dict[str, str]:
    """``pytest -rA`` summary lines (``PASSED tests/t.py::test_x``) and ``-v`` result lines."""
    out: dict[str, str] = {}
    for line in log.splitlines():
        line = line.strip()
        match = _PYTEST_VERBOSE.match(line)
        if match:
            out[match.group(1)] = match.group(2)
            continue
        word, _, rest = line.partition(" ")
        if word in _PYTEST_STATUSES and rest:
            name = rest.split(" - ", 1)[0].strip()
            if name and not name.startswith("["):  # "SKIPPED [1] file:3: reason" names no test
                out[name] = word
    return out


_DJANGO = re.compile(r"^(\w+ \([\w.]+\)) \.\.\. (ok|FAIL|ERROR|skipped|expected failure|"
                     r"unexpected success)\b")


def parse_log_django(log: str) -> dict[str, str]:
    """``runtests.py --verbosity 2``: ``test_x (app.tests.Case) ... ok``."""
    return _line_outcomes(log, _DJANGO, {
        "ok": PASSED, "FAIL": FAILED, "ERROR": ERROR, "skipped": SKIPPED,
        "expected failure": XFAIL, "unexpected success": FAILED})


_SYMPY = re.compile(r"^(test_\w+) (ok|F|E|f|s|X|w)\b")


def parse_log_sympy(log: str) -> dict[str, str]:
    """``bin/test -C --verbose``: ``test_x ok`` / ``test_y F`` / ``test_z E``."""
    return _line_outcomes(log, _SYMPY, {
        "ok": PASSED, "F": FAILED, "E": ERROR, "f": XFAIL, "s": SKIPPED, "X": FAILED,
        "w": SKIPPED})


def _line_outcomes(log: str, pattern: re.Pattern, statuses: dict[str, str]) -> dict[str, str]:
    """Test -> status from each (stripped) line ``pattern`` matches: group 1 the test, group 2
    the runner's word for its outcome, mapped by ``statuses``."""
    out: dict[str, str] = {}
    for line in log.splitlines():
        match = pattern.match(line.strip())
        if match:
            out[match.group(1)] = statuses[match.group(2)]
    return out


OWN_PARSERS: dict[str, Parser] = {"parse_log_pytest": parse_log_pytest,
                                  "parse_log_django": parse_log_django,
                                  "parse_log_sympy": parse_log_sympy}
REPO_PARSERS = {"django/django": "parse_log_django", "sympy/sympy": "parse_log_sympy"}


def _swebench_parser(task) -> Callable | None:
    """swebench's parser for the task (by name, else by repo), or None when not installed."""
    try:
        import swebench.harness.log_parsers as parsers
    except Exception:  # not installed, or its own dependencies missing
        return None
    if task.log_parser:
        registry = getattr(parsers, "PARSER_REGISTRY", None)  # swebench 5
        found = (registry or {}).get(task.log_parser) or getattr(parsers, task.log_parser, None)
        if found:
            return found
    by_repo = getattr(parsers, "MAP_REPO_TO_PARSER", None)  # swebench 2-4
    if by_repo is None:
        by_repo = getattr(getattr(parsers, "python", None), "MAP_REPO_TO_PARSER_PY", None) or {}
    return by_repo.get(task.repo)


def parser_for(task) -> Callable:
    """The log parser of ``task``; ValueError when its ``log_parser`` names none we know."""
    found = _swebench_parser(task)
    if found:
        return found
    name = task.log_parser or REPO_PARSERS.get(task.repo, "parse_log_pytest")
    if name not in OWN_PARSERS:
        raise ValueError(f"{task.instance_id}: log parser {name!r} is unknown (ours: "
                         f"{', '.join(OWN_PARSERS)}; install swebench for the others)")
    return OWN_PARSERS[name]


def output_section(log: str) -> str:
    """The part of the log between SWE-bench's start and end marks (all of it without them)."""
    start, end = log.find(START_MARK), log.rfind(END_MARK)
    if start != -1 and end > start:
        return log[start + len(START_MARK):end]
    return log


def grade_from_log(task, log: str) -> dict[str, str]:
    """Test id -> outcome (PASSED, FAILED, ERROR, SKIPPED, XFAIL, ...) read from ``log``."""
    parser = parser_for(task)
    section = output_section(log)
    spec = SimpleNamespace(instance_id=task.instance_id, repo=task.repo,
                           version=str(task.extra.get("version", "")),
                           FAIL_TO_PASS=list(task.fail_to_pass),
                           PASS_TO_PASS=list(task.pass_to_pass), log_parser=task.log_parser)
    try:
        return dict(parser(section, spec))  # swebench >= 3 parsers take the test spec
    except TypeError:
        return dict(parser(section))


def lists_report(task, outcomes: dict[str, str]) -> dict:
    """SWE-bench's ``tests_status``: success/failure per list; ``resolved`` iff every listed
    test passed (a test absent from the log is a failure)."""
    report = {}
    for name, tests in (("FAIL_TO_PASS", task.fail_to_pass), ("PASS_TO_PASS", task.pass_to_pass)):
        ok = [t for t in tests if outcomes.get(t) in OK_STATUSES]
        report[name] = {"success": ok, "failure": [t for t in tests if t not in ok]}
    report["resolved"] = bool(task.fail_to_pass or task.pass_to_pass) and not any(
        part["failure"] for part in (report["FAIL_TO_PASS"], report["PASS_TO_PASS"]))
    return report
