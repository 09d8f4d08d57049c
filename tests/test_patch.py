import pytest

from swe_harness import patch

MODIFY = "diff --git a/a.py b/a.py\nindex 1..2 100644\n--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x\n+y\n"
CREATE = "diff --git a/t/new.py b/t/new.py\nnew file mode 100644\n--- /dev/null\n+++ b/t/new.py\n@@ -0,0 +1 @@\n+z\n"
DELETE = "diff --git a/old.py b/old.py\ndeleted file mode 100644\n--- a/old.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-z\n"
RENAME = "diff --git a/r1.py b/r2.py\nsimilarity index 100%\nrename from r1.py\nrename to r2.py\n"
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


def test_touched_added_and_drop():
    both = MODIFY + CREATE
    assert patch.touched_paths(both) == {"a.py", "t/new.py"}
    assert patch.added_paths(both) == {"t/new.py"}
    assert patch.drop_files(both, {"t/new.py"}) == MODIFY
    assert patch.drop_files(both, {"a.py", "t/new.py"}) == ""


def test_plain_unified_diff_without_git_headers():
    plain = "some preamble\n--- a/x.txt\n+++ b/x.txt\n@@ -1 +1 @@\n-1\n+2\n--- a/y.txt\n+++ b/y.txt\n@@ -1 +1 @@\n-1\n+2\n"
    assert patch.touched_paths(plain) == {"x.txt", "y.txt"}


def test_unsafe_paths():
    escape = MODIFY.replace("a.py", "../../etc/passwd")
    git_dir = MODIFY.replace("a.py", ".git/hooks/post-checkout")
    assert patch.unsafe_paths(escape) == ["../../etc/passwd"]
    assert patch.unsafe_paths(git_dir) == [".git/hooks/post-checkout"]
    assert patch.unsafe_paths(MODIFY) == []


@pytest.mark.parametrize("path,bad", [
    ("sitecustomize/__init__.py", True), ("pkg/usercustomize.py", True),
    ("pytest.py", True), ("unittest/__main__.py", True), ("_pytest/x.py", True),
    ("src/_pytest/python.py", False), ("pytest_foo.py", False), ("pkg/unittest.py", False),
])
def test_module_shadowing_is_protected(path, bad):
    from swe_harness.patch import protected_violations

    patch = f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1 @@\n+x = 1\n"
    assert bool(protected_violations(patch, ())) is bad


def test_escaped_names_in_config_files_are_protected():
    from swe_harness.patch import protected_violations

    toml = ('--- a/pyproject.toml\n+++ b/pyproject.toml\n@@ -1 +1,2 @@\n [project]\n'
            '+[tool."py\\u0074est".ini_options]\n')
    assert "escaped" in protected_violations(toml, ())[0]


def test_test_paths_by_convention():
    assert patch.is_test_path("tests/helpers.py") and patch.is_test_path("pkg/test/data.json")
    assert patch.is_test_path("pkg/test_api.py") and patch.is_test_path("pkg/api_test.py")
    assert not patch.is_test_path("pkg/testing_utils.py") and not patch.is_test_path("src/api.py")
    both = MODIFY + CREATE.replace("t/new.py", "tests/new.py")
    assert patch.test_paths(both) == {"tests/new.py"}
