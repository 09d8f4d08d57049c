"""The pytest plugin through pytester: options, ids, report file, xdist, reward hooks."""

import json
import textwrap

import pytest

REPORT_KEYS = {"instance_id", "patch", "reward", "status", "exit_code", "apply_method",
               "duration_s", "image", "evidence", "log_tail"}


def read_report(path):
    return {line["instance_id"]: line for line in map(json.loads, path.read_text().splitlines())}


def test_inert_without_swe_tasks(pytester):
    pytester.makepyfile("def test_plain():\n    assert True\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "swe_harness summary" not in result.stdout.str()


def test_options_are_documented(pytester):
    result = pytester.runpytest("--help")
    for option in ("--swe-tasks", "--swe-patch", "--swe-validate", "--swe-repeat",
                   "--swe-report", "--swe-timeout", "--swe-build"):
        result.stdout.fnmatch_lines([f"*{option}*"])


def test_collection_is_sorted_and_makes_no_docker_call(pytester, bundled_tasks, monkeypatch):
    from .conftest import TASKS_DIR

    # An unreachable engine would break collection if it touched Docker.
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    result = pytester.runpytest("--swe-tasks", str(TASKS_DIR), "--collect-only", "-q")
    assert result.ret == 0
    ids = [line for line in result.stdout.lines if line.startswith("swe::")]
    assert ids == [f"swe::{iid}" for iid in sorted(bundled_tasks)]


def test_predictions_for_unknown_tasks_are_reported(pytester, tmp_path):
    from .conftest import write_task_dir

    root = tmp_path / "tasks"
    write_task_dir(root, "good-one-1")
    preds = tmp_path / "preds.jsonl"
    preds.write_text('{"instance_id": "good-one-1", "model_patch": ""}\n'
                     '{"instance_id": "typo-one-1", "model_patch": ""}\n{"model_patch": ""}\n')
    result = pytester.runpytest("--swe-tasks", str(root), "--swe-patch", str(preds),
                                "--collect-only", "-q")
    result.stdout.fnmatch_lines(["swe::prediction-error*preds.jsonl:3*instance_id*",
                                 "swe::prediction-error[[]unknown instance ids[]]",
                                 "swe::good-one-1"])
    run = pytester.runpytest("--swe-tasks", str(root), "--swe-patch", str(preds),
                             "-k", "unknown")
    run.stdout.fnmatch_lines(["*1 prediction(s) name no loaded task: typo-one-1*"])


def test_broken_task_fails_alone_and_collects_the_rest(pytester, tmp_path):
    from .conftest import write_task_dir

    root = tmp_path / "tasks"
    write_task_dir(root, "good-one-1")
    write_task_dir(root, "bad-two-2", problem_statement=None)
    result = pytester.runpytest("--swe-tasks", str(root), "--collect-only", "-q")
    result.stdout.fnmatch_lines(["swe::load-error*bad-two-2*", "swe::good-one-1"])


@pytest.mark.docker
def test_gold_run_report_and_summary(pytester, docker_engine, bundled_tasks, copy_tasks):
    ids = sorted(bundled_tasks)[:2]
    report = pytester.path / "out" / "report.jsonl"
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest("--swe-tasks", str(copy_tasks(*ids)), "--swe-report", str(report),
                                "-v", f"--junitxml={junit}")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([f"*swe::{ids[0]} PASSED*", "*swe_harness summary*",
                                 "*resolved: 2/2 scored*"])
    lines = read_report(report)
    assert set(lines) == set(ids)
    for line in lines.values():
        assert REPORT_KEYS <= set(line)
        assert (line["patch"], line["reward"], line["status"]) == ("gold", 1.0, "passed")
        assert set(line["duration_s"]) >= {"total", "setup", "apply", "eval", "teardown"}
    assert junit.read_text().count('<property name="reward" value="1.0"') == 2


@pytest.mark.docker
def test_empty_patch_passes_when_every_task_gives_zero(pytester, docker_engine, bundled_tasks,
                                                       copy_tasks):
    ids = sorted(bundled_tasks)[:2]
    result = pytester.runpytest("--swe-tasks", str(copy_tasks(*ids)), "--swe-patch", "empty")
    result.assert_outcomes(passed=2)


@pytest.mark.docker
def test_keyword_selects_one_task(pytester, docker_engine, bundled_tasks, copy_tasks):
    ids = sorted(bundled_tasks)[:2]
    result = pytester.runpytest("--swe-tasks", str(copy_tasks(*ids)), "-k", ids[1])
    result.assert_outcomes(passed=1, deselected=1)


def predictions_file(path, bundled_tasks):
    """One right, one wrong (the test patch as the 'fix'), one malformed patch."""
    right, wrong, malformed = sorted(bundled_tasks)[:3]
    rows = [
        {"instance_id": right, "model_patch": bundled_tasks[right].gold_candidate},
        {"instance_id": wrong, "model_patch": ""},
        {"instance_id": malformed, "model_patch": "diff --git a/nope.py b/nope.py\n--- a/nope.py\n"
                                                 "+++ b/nope.py\n@@ -1,3 +1,3 @@\n-not\n+there\n"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return {right: (1.0, "passed"), wrong: (0.0, "failed"), malformed: (0.0, "patch_failed")}


@pytest.mark.docker
@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_predictions_file(pytester, docker_engine, bundled_tasks, copy_tasks, workers):
    preds = pytester.path / "preds.jsonl"
    expected = predictions_file(preds, bundled_tasks)
    report = pytester.path / "report.jsonl"
    result = pytester.runpytest_subprocess("--swe-tasks", str(copy_tasks(*expected)),
                                           "--swe-patch", str(preds), "--swe-report", str(report),
                                           *workers)
    result.assert_outcomes(passed=1, failed=2)
    lines = read_report(report)
    assert {iid: (line["reward"], line["status"]) for iid, line in lines.items()} == expected
    assert all(line["patch"] == "model" for line in lines.values())


@pytest.mark.docker
def test_custom_reward_plugin_changes_the_reward(pytester, docker_engine, bundled_tasks, copy_tasks):
    pytester.makeconftest(textwrap.dedent("""
        from swe_harness import hookimpl
        from swe_harness.plugin import swe_plugin_manager

        class PartialCredit:
            @hookimpl
            def swe_harness_reward(self, task, result):
                return 0.5 if result.status == "failed" else None

        def pytest_configure(config):
            swe_plugin_manager(config).register(PartialCredit())
    """))
    iid = sorted(bundled_tasks)[0]
    report = pytester.path / "r.jsonl"
    result = pytester.runpytest("--swe-tasks", str(copy_tasks(iid)), "--swe-patch", "empty",
                                "--swe-report", str(report))
    result.assert_outcomes(failed=1)  # empty must give 0.0; the plugin made it 0.5
    assert read_report(report)[iid]["reward"] == 0.5
    result.stdout.fnmatch_lines(["*expected reward 0.0, got reward 0.5*"])
