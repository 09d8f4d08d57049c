"""Pure helpers on unified diffs: normalise, split per file, touched paths, path safety.

No I/O here; everything is tested on strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_GIT_HEADER = re.compile(r"^diff --git (\S+) (\S+)$")


@dataclass(frozen=True)
class FileDiff:
    """One file's section of a patch."""

    old_path: str | None  # None when the file is created
    new_path: str | None  # None when the file is deleted
    text: str
    binary: bool = False
    symlink: bool = False

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""

    @property
    def paths(self) -> set[str]:
        return {p for p in (self.old_path, self.new_path) if p}

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
    return bool(re.search(r"^(diff --git |--- |\+\+\+ )", patch, re.MULTILINE))


def _strip_prefix(path: str) -> str | None:
    path = path.strip().split("\t")[0]
    if path == "/dev/null":
        return None
    if path.startswith('"') and path.endswith('"'):
        path = path[1:-1]
    return path[2:] if path[:2] in ("a/", "b/") else path


def _sections(patch: str) -> list[list[str]]:
    lines = patch.splitlines(keepends=True)
    git_style = any(line.startswith("diff --git ") for line in lines)
    sections: list[list[str]] = []
    for index, line in enumerate(lines):
        if (line.startswith("diff --git ") if git_style else
                line.startswith("--- ") and index + 1 < len(lines)
                and lines[index + 1].startswith("+++ ")):
            sections.append([])
        if sections:  # lines before the first file header are a preamble
            sections[-1].append(line)
    return [s for s in sections if s]


def split_files(patch: str) -> list[FileDiff]:
    """Split a patch into per-file sections (``diff --git`` or plain ``---``/``+++`` style)."""
    files = []
    for section in _sections(patch):
        old = new = None
        header = _GIT_HEADER.match(section[0].rstrip("\n"))
        if header:
            old, new = _strip_prefix(header.group(1)), _strip_prefix(header.group(2))
        binary = symlink = False
        for line in section:
            if line.startswith("--- "):
                old = _strip_prefix(line[4:])
            elif line.startswith("+++ "):
                new = _strip_prefix(line[4:])
                break
            elif line.startswith("new file mode"):
                old = None
                symlink |= "120000" in line
            elif line.startswith("deleted file mode"):
                new = None
            elif line.startswith("rename from "):
                old = line[len("rename from "):].strip()
            elif line.startswith("rename to "):
                new = line[len("rename to "):].strip()
            elif line.startswith(("GIT binary patch", "Binary files ")):
                binary = True
            elif line.startswith("new mode") and "120000" in line:
                symlink = True
        files.append(FileDiff(old, new, "".join(section), binary, symlink))
    return files


def touched_paths(patch: str) -> set[str]:
    """Every repo path a patch reads or writes (both sides of renames)."""
    return {p for f in split_files(patch) for p in f.paths}


def added_paths(patch: str) -> set[str]:
    """Paths a patch creates (absent before it applies)."""
    return {f.new_path for f in split_files(patch) if f.created and f.new_path}


def drop_files(patch: str, paths: set[str]) -> str:
    """The patch without the sections that touch any of ``paths``."""
    kept = [f.text for f in split_files(patch) if not (f.paths & paths)]
    return normalize("".join(kept))


TEST_DIRS = {"test", "tests", "testing"}


def is_test_path(path: str) -> bool:
    """Test code by the usual conventions: under a test directory, or a test module by name."""
    *dirs, name = path.split("/")
    return (bool(TEST_DIRS & set(dirs)) or name.startswith("test_") and name.endswith(".py")
            or name.endswith("_test.py") or name == "tests.py")


def test_paths(patch: str) -> set[str]:
    """The test files a patch touches: reverted before the task's tests run."""
    return {path for path in touched_paths(patch) if is_test_path(path)}


def unsafe_paths(patch: str) -> list[str]:
    """Paths that would land outside the repo: absolute, ``..`` components, or ``.git`` itself."""
    bad = []
    for path in sorted(touched_paths(patch)):
        parts = path.split("/")
        if path.startswith("/") or ".." in parts or ".git" in parts:
            bad.append(path)
    return bad


# Files that decide how tests are found and run, not what the code does. A candidate touching
# them is rejected: see README "Protected paths". Extend with the swe_harness_protected_paths hook.
DEFAULT_PROTECTED = (
    "conftest.py", "pytest.ini", ".pytest.ini", "tox.ini", "noxfile.py", "sitecustomize.py",
    "usercustomize.py", "*.pth", "eval_script.sh", "run_tests.sh",
)
# Modules the interpreter or the test runner imports by name: a package of that name in the
# repo (``sitecustomize/__init__.py``) or a top-level module shadowing the runner (``pytest.py``,
# ``unittest/``: ``python -m`` puts the working directory first on ``sys.path``).
PROTECTED_MODULES = ("sitecustomize", "usercustomize")
SHADOWED_AT_ROOT = ("pytest", "_pytest", "pluggy", "unittest")
# Shared build/config files: only their test-runner settings are protected.
_CONFIG_FILES = ("setup.cfg", "pyproject.toml", "setup.py")
_TEST_SETTINGS = re.compile(
    r"pytest|addopts|testpaths|python_files|python_classes|python_functions|norecursedirs"
    r"|entry.points|unittest|collect_ignore", re.IGNORECASE)
# TOML (and Python) string escapes can spell a key without its letters: ``"py\u0074est"``.
_ESCAPES = re.compile(r"\\[uUxN]")


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
        return f"{path} shadows the test runner's {stems[0]} module"
    return None


def _settings_problem(diff: FileDiff) -> str | None:
    if diff.path.rsplit("/", 1)[-1] not in _CONFIG_FILES:
        return None
    changed = _changed_lines(diff.text)
    if any(_TEST_SETTINGS.search(line) for line in changed):
        return f"{diff.path} changes test-runner settings"
    if any(_ESCAPES.search(line) for line in changed):
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
