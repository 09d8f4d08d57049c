"""Pure patch helpers on strings: the parse must name every path git (or patch) would write."""

import pytest

from swe_harness import patch
from swe_harness.patch import protected_violations

MODIFY = "diff --git a/a.py b/a.py\nindex 1..2 100644\n--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x\n+y\n"
CREATE = "diff --git a/t/new.py b/t/new.py\nnew file mode 100644\n--- /dev/null\n+++ b/t/new.py\n@@ -0,0 +1 @@\n+z\n"
DELETE = "diff --git a/old.py b/old.py\ndeleted file mode 100644\n--- a/old.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-z\n"
RENAME = "diff --git a/r1.py b/r2.py\nsimilarity index 100%\nrename from r1.py\nrename to r2.py\n"
COPY = "diff --git a/c1.py b/conftest.py\nsimilarity index 100%\ncopy from c1.py\ncopy to conftest.py\n"
BINARY = "diff --git a/img.png b/img.png\nnew file mode 100644\nGIT binary patch\nliteral 1\nIcmZpb0001\n\nliteral 0\nHcmV?d00001\n"
SYMLINK = "diff --git a/link b/link\nnew file mode 120000\n--- /dev/null\n+++ b/link\n@@ -0,0 +1 @@\n+/etc/passwd\n\\ No newline at end of file\n"


def test_normalize_adds_exactly_one_trailing_newline():
    assert patch.normalize(MODIFY.rstrip("\n")) == MODIFY
    assert patch.normalize(MODIFY) == MODIFY
    assert patch.normalize("  \n") == ""


def test_split_files_kinds():
    files = patch.split_files(MODIFY + CREATE + DELETE + RENAME + BINARY + SYMLINK)
    assert [f.path for f in files] == ["a.py", "t/new.py", "old.py", "r2.py", "img.png", "link"]
    assert files[1].created and files[2].deleted
    assert files[3].paths == {"r1.py", "r2.py"}
    assert files[4].binary and files[5].symlink


def test_copy_headers_name_both_sides():
    assert patch.touched_paths(COPY) == {"c1.py", "conftest.py"}
    assert protected_violations(COPY, patch.DEFAULT_PROTECTED)


def test_touched_added_and_drop():
    both = MODIFY + CREATE
    assert patch.touched_paths(both) == {"a.py", "t/new.py"}
    assert patch.added_paths(both) == {"t/new.py"}
    assert patch.drop_files(both, {"t/new.py"}) == MODIFY
    assert patch.drop_files(both, {"a.py", "t/new.py"}) == ""


def test_plain_unified_diff_without_git_headers():
    plain = "some preamble\n--- a/x.txt\n+++ b/x.txt\n@@ -1 +1 @@\n-1\n+2\n--- a/y.txt\n+++ b/y.txt\n@@ -1 +1 @@\n-1\n+2\n"
    assert patch.touched_paths(plain) == {"x.txt", "y.txt"}


def test_git_and_plain_sections_mixed():
    """A plain section after a git one is a file of its own (it used to be invisible)."""
    mixed = MODIFY + "--- a/conftest.py\n+++ b/conftest.py\n@@ -1 +1 @@\n-x\n+y\n"
    assert patch.touched_paths(mixed) == {"a.py", "conftest.py"}


def test_hunk_lines_that_look_like_headers_stay_in_their_hunk():
    tricky = "--- a/x.py\n+++ b/x.py\n@@ -1,2 +1,2 @@\n--- a/y\n+++ b/y\n"
    assert patch.touched_paths(tricky) == {"x.py"}


@pytest.mark.parametrize("quoted,path", [
    ('"a/conf\\164est.py"', "conftest.py"),
    ('"a/t\\303\\251st.py"', "tést.py"),
    ('"a/with\\"quote.py"', 'with"quote.py'),
    ('"a/tab\\there.py"', "tab\there.py"),
])
def test_c_quoted_names_are_decoded_as_git_does(quoted, path):
    text = (f"diff --git {quoted} {quoted.replace('a/', 'b/', 1)}\nnew file mode 100644\n"
            f"--- /dev/null\n+++ {quoted.replace('a/', 'b/', 1)}\n@@ -0,0 +1 @@\n+x\n")
    assert patch.touched_paths(text) == {path}


def test_names_with_spaces_in_git_headers():
    spaced = "diff --git a/x y.py b/x y.py\nold mode 100644\nnew mode 100755\n"
    assert patch.touched_paths(spaced) == {"x y.py"}


def test_one_leading_component_is_stripped_whatever_its_name():
    """``git apply -p1`` strips ``x/`` as readily as ``a/``: the parse must agree."""
    plain = "--- x/tests/conftest.py\n+++ y/tests/conftest.py\n@@ -1 +1 @@\n-a\n+b\n"
    assert patch.touched_paths(plain) == {"tests/conftest.py"}


def test_context_diffs_are_parsed_but_not_unified():
    ctx = ("*** /dev/null\n--- b/conftest.py\t2024-01-01\n***************\n*** 0 ****\n"
           "--- 1 ----\n+ import os\n")
    assert patch.touched_paths(ctx) == {"conftest.py"}
    assert not patch.unified_only(ctx)
    assert patch.unified_only(MODIFY + CREATE)
    assert patch.looks_like_diff(ctx)


def test_unsafe_paths():
    escape = MODIFY.replace("a.py", "../../etc/passwd")
    git_dir = MODIFY.replace("a.py", ".git/hooks/post-checkout")
    assert patch.unsafe_paths(escape) == ["../../etc/passwd"]
    assert patch.unsafe_paths(git_dir) == [".git/hooks/post-checkout"]
    assert patch.unsafe_paths(MODIFY) == []


@pytest.mark.parametrize("path,bad", [
    ("sitecustomize/__init__.py", True), ("pkg/usercustomize.py", True),
    ("pytest.py", True), ("unittest/__main__.py", True), ("_pytest/x.py", True),
    ("json.py", True), ("pkg/__pycache__/mod.cpython-311.pyc", True), ("tool.pyc", True),
    ("src/_pytest/python.py", False), ("pytest_foo.py", False), ("pkg/unittest.py", False),
    ("pkg/json.py", False),
])
def test_module_shadowing_and_caches_are_protected(path, bad):
    diff = f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1 @@\n+x = 1\n"
    assert bool(protected_violations(diff, patch.DEFAULT_PROTECTED)) is bad


def config_edit(path, old, new):
    return f"--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n-{old}\n+{new}\n"


@pytest.mark.parametrize("edit", [
    config_edit("setup.cfg", "[tool:pytest]", "[tool:pytest]\n+addopts = -k 'not add'"),
    config_edit("pyproject.toml", "x = 1", '[tool."py\\u0074est".ini_options]'),
    config_edit("setup.py", "setup()", "setup(entry_points={'pytest11': ['x = pkg.plug']})"),
    config_edit("pyproject.toml", "x = 1", "[project.entry-points.pytest11]"),
    config_edit("setup.cfg", "x = 1", "testpaths = nothing"),
])
def test_config_edits_that_change_how_tests_run_are_refused(edit):
    assert protected_violations(edit, ())


@pytest.mark.parametrize("edit", [
    config_edit("pyproject.toml", 'dependencies = ["attrs"]', 'dependencies = ["attrs", "pytest>=7"]'),
    config_edit("setup.py", "setup()", "setup(extras_require={'test': ['pytest', 'pytest-cov']})"),
    config_edit("setup.cfg", "version = 1.0", "version = 1.1"),
    config_edit("pyproject.toml", "[project.scripts]", "[project.scripts]\n+tool = 'pkg.cli:main'"),
])
def test_honest_config_edits_mentioning_pytest_are_allowed(edit):
    assert protected_violations(edit, ()) == []


def test_test_paths_follow_pytest_conventions_not_directory_names():
    """``django/test/`` and ``numpy/testing/`` hold library code: a fix there must stand."""
    assert patch.is_test_path("pkg/test_api.py") and patch.is_test_path("pkg/api_test.py")
    assert patch.is_test_path("tests/conftest.py")
    for library in ("django/test/client.py", "numpy/testing/utils.py", "astropy/tests/helper.py",
                    "tests/helpers.py", "pkg/latest.py", "pkg/contest.py"):
        assert not patch.is_test_path(library), library
    both = MODIFY + CREATE.replace("t/new.py", "tests/test_new.py")
    assert patch.test_paths(both) == {"tests/test_new.py"}


def test_host_and_container_agree_on_test_modules():
    """The harness resets what patch.is_test_path names; the evidence in the container treats
    at least those as test code (a skip from them is no hack)."""
    import importlib.util
    from pathlib import Path

    import swe_harness

    origin_path = Path(swe_harness.__file__).parent / "evidence_origin.py"
    spec = importlib.util.spec_from_file_location("origin_copy", origin_path)
    origin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(origin)
    paths = ["tests/test_a.py", "pkg/b_test.py", "conftest.py", "pkg/sub/test_c.py",
             "pkg/core.py", "tests/helpers.py", "pkg/contest.py"]
    for path in paths:
        if patch.is_test_path(path):
            assert origin.is_test_file(origin.ROOT + "/" + path), path
    assert not origin.is_test_file(origin.ROOT + "/pkg/core.py")
