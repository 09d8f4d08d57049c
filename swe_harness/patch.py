"""Pure helpers on diffs: parse per file (as git and ``patch`` read them), touched paths, path
safety and the protected-path policy.

No I/O here; everything is tested on strings. The parse decodes paths the way ``git apply`` does
(C-quoted names with octal escapes, one leading component stripped) and counts hunk lines, so a
hunk line that looks like a header cannot start a new file. The runner then checks that what git
really changed is among the paths parsed here (see runner.sh), so a diff that git reads
differently from this parse is rejected rather than judged on the wrong paths.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, '"': 34}


@dataclass(frozen=True)
class FileDiff:
    """One file's section of a patch."""

    old_path: str | None  # None when the file is created
    new_path: str | None  # None when the file is deleted
    text: str
    binary: bool = False
    symlink: bool = False
    unified: bool = True  # False: a context or other diff that only `patch` reads
    other_paths: frozenset[str] = frozenset()  # header names that disagree with ---/+++

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""

    @property
    def paths(self) -> set[str]:
        return {p for p in (self.old_path, self.new_path) if p} | set(self.other_paths)

    @property
    def created(self) -> bool:
        return self.old_path is None

    @property
    def deleted(self) -> bool:
        return self.new_path is None


def normalize(patch: str) -> str:
    """A patch git can apply: LF line ends kept as given, one trailing newline.

    Real task data stores patches without the final newline, which ``git apply`` calls corrupt.
    """
    if not patch or not patch.strip():
        return ""
    return patch if patch.endswith("\n") else patch + "\n"


def looks_like_diff(patch: str) -> bool:
    return bool(re.search(r"^(diff --git |--- |\+\+\+ |\*\*\* )", patch, re.MULTILINE))


def unquote(name: str) -> str:
    """A path as git writes it: C-quoted (``"a/conf\\164est.py"``) or plain."""
    if not (len(name) >= 2 and name[0] == '"' and name[-1] == '"'):
        return name
    out = bytearray()
    body, i = name[1:-1], 0
    while i < len(body):
        char = body[i]
        if char != "\\" or i + 1 == len(body):
            out += char.encode("utf-8", "surrogateescape")
            i += 1
        elif body[i + 1] in "01234567":
            digits = re.match(r"[0-7]{1,3}", body[i + 1:]).group(0)
            out.append(int(digits, 8) & 0xFF)
            i += 1 + len(digits)
        else:
            out.append(_ESCAPES.get(body[i + 1], ord(body[i + 1])))
            i += 2
    return out.decode("utf-8", "surrogateescape")


def _strip(name: str) -> str | None:
    """A ``---``/``+++`` name as ``git apply -p1`` reads it: the timestamp and one leading
    component dropped; None for ``/dev/null``."""
    name = name.rstrip("\n")
    if not name.startswith('"'):
        name = name.split("\t")[0].rstrip(" ")
    name = unquote(name)
    if name == "/dev/null":
        return None
    return name.split("/", 1)[1] if "/" in name.lstrip("/") else name


def _header_names(rest: str) -> list[str]:
    """Both names of a ``diff --git`` header, quoted or not (unquoted names may hold spaces)."""
    quoted = re.findall(r'"(?:[^"\\]|\\.)*"|\S+', rest)
    if len(quoted) == 2:
        return [n for n in (_strip(quoted[0]), _strip(quoted[1])) if n]
    half = len(rest) // 2  # "a/x y b/x y": split where the two halves agree
    if rest[half:half + 1] == " " and _strip(rest[:half]) == _strip(rest[half + 1:]):
        return [n for n in (_strip(rest[:half]),) if n]
    return [n for n in (_strip(q) for q in quoted) if n]


def _hunk_end(lines: list[str], start: int) -> int:
    """Index after the unified hunk whose ``@@`` line is at ``start`` (counting its lines)."""
    match = _HUNK.match(lines[start])
    old = int(match.group(2)) if match.group(2) is not None else 1
    new = int(match.group(4)) if match.group(4) is not None else 1
    i = start + 1
    while i < len(lines) and (old > 0 or new > 0):
        tag = lines[i][:1]
        if tag == " " or lines[i] in ("\n", "\r\n"):
            old, new = old - 1, new - 1
        elif tag == "-":
            old -= 1
        elif tag == "+":
            new -= 1
        elif tag != "\\":
            break
        i += 1
    while i < len(lines) and lines[i].startswith("\\"):  # "\ No newline at end of file"
        i += 1
    return i


def _is_plain_start(lines: list[str], i: int) -> bool:
    """A unified (``---``/``+++``) or context (``***``/``---``) file header at line ``i``."""
    if i + 1 >= len(lines):
        return False
    first, second = lines[i], lines[i + 1]
    if first.startswith("--- ") and second.startswith("+++ "):
        return True
    return (first.startswith("*** ") and not first.rstrip().endswith("****")
            and second.startswith("--- ") and not second.rstrip().endswith("----"))


def split_files(patch: str) -> list[FileDiff]:
    """Split a patch into per-file sections: ``diff --git`` sections, plain unified
    (``---``/``+++``) sections and context (``***``/``---``) sections, in any mix."""
    lines = patch.splitlines(keepends=True)
    files, i = [], 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("diff --git "):
            i = _git_section(lines, i, files)
        elif _is_plain_start(lines, i):
            i = _plain_section(lines, i, files)
        else:
            i += 1  # preamble, commit message, trailing junk
    return files


def _git_section(lines: list[str], i: int, files: list[FileDiff]) -> int:
    start = i
    header = _header_names(lines[i][len("diff --git "):].rstrip("\n"))
    old = new = header[0] if header else None
    if len(header) > 1:
        old, new = header
    binary = symlink = False
    extra: set[str] = set()
    i += 1
    while i < len(lines) and not lines[i].startswith(("diff --git ", "@@ ")):
        line = lines[i]
        if line.startswith("--- ") or line.startswith("+++ "):
            name = _strip(line[4:])
            if line.startswith("--- "):
                old = name
            else:
                new = name
        elif line.startswith("new file mode"):
            old = None
            symlink |= "120000" in line
        elif line.startswith("deleted file mode"):
            new = None
        elif line.startswith(("rename from ", "copy from ")):
            old = unquote(line.split(" ", 2)[2].rstrip("\n"))
        elif line.startswith(("rename to ", "copy to ")):
            new = unquote(line.split(" ", 2)[2].rstrip("\n"))
        elif line.startswith(("GIT binary patch", "Binary files ")):
            binary = True
        elif line.startswith("new mode") and "120000" in line:
            symlink = True
        elif line.startswith("*** ") and _is_plain_start(lines, i):
            break
        i += 1
    while i < len(lines) and lines[i].startswith("@@ "):
        i = _hunk_end(lines, i)
    if binary:  # the base85 payload runs to the next section
        while i < len(lines) and not lines[i].startswith("diff --git "):
            i += 1
    extra = {p for p in header if p not in (old, new)}
    files.append(FileDiff(old, new, "".join(lines[start:i]), binary, symlink,
                          other_paths=frozenset(extra)))
    return i


def _plain_section(lines: list[str], i: int, files: list[FileDiff]) -> int:
    start = i
    context = lines[i].startswith("*** ")
    old, new = _strip(lines[i][4:]), _strip(lines[i + 1][4:])
    i += 2
    if context:  # "***************" hunks, read only by `patch`: up to the next file header
        while i < len(lines) and not lines[i].startswith("diff --git ") \
                and not _is_plain_start(lines, i):
            i += 1
    else:
        while i < len(lines) and lines[i].startswith("@@ "):
            i = _hunk_end(lines, i)
    files.append(FileDiff(old, new, "".join(lines[start:i]), unified=not context))
    return i


def touched_paths(patch: str) -> set[str]:
    """Every repo path a patch reads or writes (both sides of renames and copies)."""
    return {p for f in split_files(patch) for p in f.paths}


def added_paths(patch: str) -> set[str]:
    """Paths a patch creates (absent before it applies)."""
    return {f.new_path for f in split_files(patch) if f.created and f.new_path}


def unified_only(patch: str) -> bool:
    """Every section is a unified or git diff: the lenient ``patch`` fallback may be tried."""
    return all(f.unified for f in split_files(patch))


def drop_files(patch: str, paths: set[str]) -> str:
    """The patch without the sections that touch any of ``paths``."""
    kept = [f.text for f in split_files(patch) if not (f.paths & paths)]
    return normalize("".join(kept))


def is_test_path(path: str) -> bool:
    """A test module by pytest's conventions (``test_*.py``, ``*_test.py``) or ``conftest.py``.
    Directory names decide nothing: ``django/test/`` and ``numpy/testing/`` are library code."""
    name = path.rsplit("/", 1)[-1]
    return (name.startswith("test_") and name.endswith(".py") or name.endswith("_test.py")
            or name == "conftest.py")


def test_paths(patch: str) -> set[str]:
    """The test modules a patch touches: reverted before the task's tests run."""
    return {path for path in touched_paths(patch) if is_test_path(path)}


_ABSOLUTE = re.compile(r"^(?:---|\+\+\+|\*\*\*) (/(?!dev/null\b)[^\t\n]*)", re.MULTILINE)


def unsafe_paths(patch: str) -> list[str]:
    """Paths that would land outside the repo: absolute, ``..`` components, or ``.git`` itself."""
    bad = sorted(set(_ABSOLUTE.findall(patch)))
    for path in sorted(touched_paths(patch)):
        parts = path.split("/")
        if path.startswith("/") or ".." in parts or ".git" in parts or "\0" in path:
            bad.append(path)
    return bad


# Files that decide how tests are found and run, not what the code does. A candidate touching
# them is rejected: see README "Protected paths". Extend with the swe_harness_protected_paths hook.
DEFAULT_PROTECTED = (
    "conftest.py", "pytest.ini", ".pytest.ini", "pytest.toml", ".pytest.toml", "tox.ini", "noxfile.py", "sitecustomize.py",
    "usercustomize.py", "*.pth", "eval_script.sh", "run_tests.sh", "*.pyc", "*.pyo",
    "__pycache__/*", "*/__pycache__/*", ".pytest_cache/*", ".gitattributes", "*/.gitattributes",
)
# Modules the interpreter or the test runner imports by name: a package of that name in the
# repo (``sitecustomize/__init__.py``) or a top-level module shadowing the runner (``pytest.py``,
# ``unittest/``: ``python -m`` puts the working directory first on ``sys.path``).
PROTECTED_MODULES = ("sitecustomize", "usercustomize")
SHADOWED_AT_ROOT = ("pytest", "_pytest", "pluggy", "unittest", "py", "swe_harness_evidence",
                    "swe_harness_origin", "site", "encodings", "json", "os", "importlib")
# Shared build/config files: only their test-runner settings are protected.
_CONFIG_FILES = ("setup.cfg", "pyproject.toml", "setup.py")
# What changes how tests are found or run (a dependency on pytest, or a plugin of another
# group, does not): pytest's own sections and keys, pytest11 entry points.
_TEST_SETTINGS = re.compile(
    r"\[\s*(tool:pytest|pytest|tool\.pytest[^\]]*)\s*\]|tool\.pytest|ini_options|addopts"
    r"|testpaths|python_files|python_classes|python_functions|norecursedirs|collect_ignore"
    r"|confcutdir|rootdir|pytest11|-p\s|usefixtures|required_plugins|filterwarnings\s*=\s*error",
    re.IGNORECASE)
# TOML (and Python) string escapes can spell a key without its letters: ``"py\u0074est"``.
_ESCAPED = re.compile(r"\\[uUxN0-7]")


def matches(path: str, pattern: str) -> bool:
    """A pattern without ``/`` matches a file name anywhere; with ``/``, the repo path."""
    from fnmatch import fnmatchcase

    if "/" in pattern:
        return fnmatchcase(path, pattern)
    return fnmatchcase(path.rsplit("/", 1)[-1], pattern)


def _changed_lines(section: str) -> list[str]:
    return [line[1:] for line in section.splitlines()
            if line[:1] in "+-" and not line.startswith(("+++ ", "--- "))]


def module_problem(path: str) -> str | None:
    """Why a path would be imported by name in place of the interpreter's or runner's own module."""
    parts = path.split("/")
    stems = [part.rsplit(".", 1)[0] if part.endswith(".py") else part for part in parts]
    hit = next((s for s in stems if s in PROTECTED_MODULES), None)
    if hit:
        return f"{path} is protected ({hit} module)"
    if stems[0] in SHADOWED_AT_ROOT and (len(parts) > 1 or parts[0].endswith(".py")):
        return f"{path} shadows the {stems[0]} module the test runner imports"
    return None


def _settings_problem(diff: FileDiff) -> str | None:
    if diff.path.rsplit("/", 1)[-1] not in _CONFIG_FILES:
        return None
    if diff.binary:
        return f"{diff.path} is changed by a binary patch (its settings cannot be read)"
    changed = _changed_lines(diff.text)
    if any(_TEST_SETTINGS.search(line) for line in changed):
        return f"{diff.path} changes how tests are found or run"
    if any(_ESCAPED.search(line) for line in changed):
        return f"{diff.path} adds escaped names (test-runner settings in disguise?)"
    return None


def protected_violations(patch: str, patterns: tuple[str, ...] | list[str]) -> list[str]:
    """Why a candidate may not be applied: protected paths and modules, symlinks, test-runner
    settings."""
    problems = []
    for diff in split_files(patch):
        for path in sorted(diff.paths):
            hit = next((p for p in patterns if matches(path, p)), None)
            problem = f"{path} is protected ({hit})" if hit else module_problem(path)
            if problem:
                problems.append(problem)
        if diff.symlink:
            problems.append(f"{diff.path} is a symlink")
        problem = _settings_problem(diff)
        if problem:
            problems.append(problem)
    return problems
