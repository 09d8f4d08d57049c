"""Episodes end to end: real containers, real evaluations, ScriptedModel replies."""

from __future__ import annotations

import os
import runpy
from pathlib import Path

import pytest

from swe_harness.agent import Episode, load_agent_config
from swe_harness.agent.models import ScriptedModel
from swe_harness.rollout import run_episode

ROOT = Path(__file__).resolve().parents[2]
SUBMIT = "```bash\necho COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT\n```"
# CI solves two bundled tasks; SWE_HARNESS_AGENT_ALL_TASKS=1 solves all of them
SOLVED = ["acme-invoicekit-41", "quartz-fastcrc-3"]
if os.environ.get("SWE_HARNESS_AGENT_ALL_TASKS"):
    SOLVED = sorted(p.name for p in (ROOT / "tasks").iterdir() if (p / "task.json").exists())


def bash(command: str) -> str:
    return f"Running it.\n\n```bash\n{command}\n```"


def episode(task, pool, replies, **overrides):
    config = load_agent_config(overrides=[f"{k}={v}" for k, v in overrides.items()])
    return run_episode(task, 0, ScriptedModel(replies), config, pool=pool)


@pytest.mark.parametrize("instance_id", SOLVED)
def test_a_scripted_agent_that_explores_edits_and_submits_solves_the_task(
        instance_id, bundled_tasks, pool, docker_engine):
    replies = runpy.run_path(str(ROOT / "scripts" / "scripted_replies.py"))["replies"]
    task = bundled_tasks[instance_id]
    record = episode(task, pool, replies(task))
    assert (record["ending"], record["status"], record["reward"]) == ("submitted", "passed", 1.0)
    assert record["patch"].startswith("diff --git") and record["steps"] == len(replies(task))
    assert all(c["exit_code"] == 0 for c in record["commands"])


def test_submitting_without_a_fix_scores_zero(invoice_task, pool):
    record = episode(invoice_task, pool, [bash("ls"), SUBMIT])
    assert (record["ending"], record["status"], record["reward"]) == ("submitted", "failed", 0.0)
    assert record["patch"] == ""


def test_an_agent_that_never_submits_ends_at_the_step_limit(invoice_task, pool):
    record = episode(invoice_task, pool, [bash("echo fix > invoicekit/money.py")] * 3, step_limit=3)
    assert (record["ending"], record["steps"], record["reward"], record["status"]) == (
        "step_limit", 3, 0.0, None)
    assert "invoicekit/money.py" in record["patch"]  # read, but an unsubmitted patch scores 0.0
    assert record["messages"][-1]["role"] == "user"


def test_format_errors_cost_a_step_and_end_the_episode_when_consecutive(invoice_task, pool):
    record = episode(invoice_task, pool, ["no block", bash("true"), "```bash\nls\n```\n```bash\npwd\n```",
                                          "nothing", "still nothing"], max_format_errors=3)
    assert (record["ending"], record["steps"], record["reward"]) == ("format_errors", 5, 0.0)
    assert [m["content"].startswith("Your reply was not run") for m in record["messages"][3::2]] \
        == [True, False, True, True, True]


def test_the_wall_clock_limit_ends_a_long_command(invoice_task, pool):
    record = episode(invoice_task, pool, [bash("sleep 20"), SUBMIT], wall_clock_limit_s=1.5)
    assert record["ending"] == "wall_clock_limit" and record["reward"] == 0.0
    assert record["commands"][0]["timed_out"]


def test_a_container_removed_from_outside_is_an_infra_error(invoice_task, pool, docker_engine):
    config = load_agent_config()
    ep = Episode(invoice_task, config, pool=pool)
    try:
        ep.start()
        assert not ep.step(bash("echo hi")).done
        docker_engine.containers.get(ep._container.id).remove(force=True)
        step = ep.step(bash("echo again"))
        assert (step.done, step.ending) == (True, "infra_error")
        result = ep.result()
    finally:
        ep.close()
    assert (result.ending, result.reward, result.status) == ("infra_error", None, None)
    assert "removed" in result.error


def test_a_fork_bomb_and_a_memory_hog_run_by_the_agent_score_zero_never_none(invoice_task):
    from swe_harness import sandbox

    # the bomb meets the pids limit; the command then waits with builtins only (no fork)
    bomb = ("bomb() { bomb | bomb & }; bomb; SECONDS=0; while (( SECONDS < 2 )); do :; done; "
            "echo survived")
    hog = "python -c \"x = 'a' * (1 << 30)\"; echo exit=$?"
    with sandbox.WarmPool(size=0, limits=sandbox.Limits(memory="256m", pids=128)) as small:
        record = episode(invoice_task, small, [bash(bomb), bash(hog), bash("ps -e | wc -l"), SUBMIT],
                         command_timeout_s=60)
    assert (record["ending"], record["reward"]) == ("submitted", 0.0)
    assert "survived" in record["messages"][3]["content"]
    assert "Resource temporarily unavailable" in record["messages"][3]["content"]  # pids limit
    assert "exit=137" in record["messages"][5]["content"]  # the OOM killer took the hog
    processes = record["messages"][7]["content"].split("<output>")[1].split()[0]
    assert int(processes) < 20  # the bomb went with its process group


@pytest.mark.parametrize("hack", [
    "printf 'import pytest\\n@pytest.hookimpl(hookwrapper=True)\\ndef pytest_runtest_makereport(item, call):\\n"
    "    outcome = yield\\n    outcome.get_result().outcome = \"passed\"\\n' > conftest.py",
    "for f in tests/test_*.py; do printf 'def test_ok():\\n    pass\\n' > $f; done",
])
def test_a_hack_submitted_by_the_agent_scores_zero(hack, invoice_task, pool):
    record = episode(invoice_task, pool, [bash(hack), SUBMIT])
    assert record["ending"] == "submitted" and record["patch"]
    assert record["reward"] == 0.0 and record["status"] in ("rejected", "failed")


def test_context_limit_is_an_ending_the_driver_reports(invoice_task, pool):
    ep = Episode(invoice_task, load_agent_config(), pool=pool)
    try:
        ep.start()
        ep.end("context_limit")
        assert ep.step(bash("ls")).ending == "context_limit"
        result = ep.result()
    finally:
        ep.close()
    assert (result.ending, result.reward, result.steps) == ("context_limit", 0.0, 0)
    with pytest.raises(ValueError):
        ep.end("bored")
