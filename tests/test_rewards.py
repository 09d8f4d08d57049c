"""Rewards come only from the pluggy hook; user plugins beat the trylast defaults."""

import textwrap

from swe_harness import hookimpl, plugin_manager, reward_for
from swe_harness.evaluate import EvalResult
from swe_harness.task import task_from_record

TASK = task_from_record({"instance_id": "acme-demo-1", "problem_statement": "p",
                         "gold_patch": "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n",
                         "eval_script": "true"}, "inline")


def result(status):
    return EvalResult("acme-demo-1", "model", status)


def test_default_binary_reward_and_none_on_error():
    pm = plugin_manager(entry_points=False)
    assert [reward_for(TASK, result(s), pm) for s in
            ("passed", "failed", "patch_failed", "rejected", "timeout", "error")] == \
           [1.0, 0.0, 0.0, 0.0, 0.0, None]


class Recorder:
    def __init__(self):
        self.seen = []

    @hookimpl
    def swe_harness_eval_result(self, task, result, reward):
        self.seen.append((task.instance_id, result.status, reward))




class Strict:
    @hookimpl
    def swe_harness_reward(self, task, result):
        return -1.0 if result.status == "rejected" else None


def test_user_plugin_wins_and_observers_see_the_final_reward():
    recorder = Recorder()
    pm = plugin_manager(Strict(), recorder, entry_points=False)
    assert reward_for(TASK, result("rejected"), pm) == -1.0
    assert reward_for(TASK, result("passed"), pm) == 1.0  # Strict defers, the default answers
    assert recorder.seen == [("acme-demo-1", "rejected", -1.0), ("acme-demo-1", "passed", 1.0)]


def test_entry_point_plugins_are_discovered(tmp_path, monkeypatch):
    (tmp_path / "halfcredit.py").write_text(textwrap.dedent("""
        from swe_harness import hookimpl

        @hookimpl
        def swe_harness_reward(task, result):
            return 0.5
    """))
    dist = tmp_path / "halfcredit-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: halfcredit\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[swe_harness]\nhalf = halfcredit\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    pm = plugin_manager()
    assert reward_for(TASK, result("failed"), pm) == 0.5
    assert reward_for(TASK, result("failed"), plugin_manager(entry_points=False)) == 0.0
