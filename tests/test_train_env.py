"""SweEnv against the real Docker engine, driven turn by turn as NeMo-RL drives it, with scripted
assistant messages: one batch mixing a solve, a failing submit, a step-limit ending, format
errors and an infrastructure failure (a container removed from outside)."""

from __future__ import annotations

import dataclasses

import pytest

from swe_harness import sandbox
from swe_harness.agent.models import ScriptedModel
from swe_harness.train.dryrun import drive, scripted_replies, templated_prompt
from swe_harness.train.env import SweEnv
from swe_harness.train.glue import ChatTokenizer
from swe_harness.train.prompt import load_config, opening_messages
from swe_harness.train.tiny import make_tokenizer

MARKER = "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"


def bash(command: str, thinking: str = "") -> str:
    return f"<think>\n{thinking}\n</think>\n\nNext.\n\n```bash\n{command}\n```"


class RemoveContainerFirst:
    """A scripted model that, before its reply of turn ``at``, removes the agent's container
    from outside (the engine's API, as an operator or a crash would)."""

    def __init__(self, replies, image: str, at: int):
        self.model, self.image, self.at, self.calls = ScriptedModel(replies), image, at, 0

    def query(self, messages):
        self.calls += 1
        if self.calls == self.at:
            client = sandbox.client()
            mine = [c for c in client.containers.list(filters={
                "label": f"{sandbox.LABEL_RUN}={sandbox.run_id()}"}) if c.image.id == self.image]
            assert len(mine) == 1, mine
            mine[0].remove(force=True)
        return self.model.query(messages)


@pytest.fixture
def tokenizer(tmp_path):
    return ChatTokenizer.from_dir(make_tokenizer(tmp_path / "tok"),
                                  chat_template_kwargs={"enable_thinking": False})


def env_config(tasks_dir, **extra) -> dict:
    agent = dataclasses.asdict(load_config())
    agent.update(step_limit=10, max_format_errors=3, command_timeout_s=30)
    return {"tasks": [str(tasks_dir)], "agent": agent, "max_turns": 3, "max_seq_len": 1 << 20,
            "max_new_tokens": 256, "max_workers": 8,
            "sandbox": {"build": "missing", "reward_cache": True, "warm_pool": 0},
            "tokenizer": {"name": "unused"}, **extra}


def test_mixed_batch(docker_engine, bundled_tasks, copy_tasks, tokenizer):
    tasks_dir = copy_tasks("fernleaf-unitconv-9", "brightline-semverlite-7",
                           "lumen-globmatch-15")
    env = SweEnv(env_config(tasks_dir), tokenizer=tokenizer)
    fern, semver, glob = (bundled_tasks[i] for i in ("fernleaf-unitconv-9",
                                                      "brightline-semverlite-7",
                                                      "lumen-globmatch-15"))
    glob_image = sandbox.agent_image(glob)
    try:
        thinking = "<think>\nLet me fix it.\n```bash\nnot run\n```\n</think>\n\n"
        plan = [
            (fern, ScriptedModel([thinking + r for r in scripted_replies(fern, "gold", MARKER)])),
            (fern, ScriptedModel(scripted_replies(fern, "gold", MARKER))),     # same patch
            (fern, ScriptedModel([bash(f"echo {MARKER}")])),                   # submits nothing
            (semver, ScriptedModel([bash("ls")] * 3)),                         # turn budget
            (semver, ScriptedModel(["no block", "```bash\na\n```\n```bash\nb\n```", "none"])),
            (glob, RemoveContainerFirst([bash("ls"), bash("ls")], glob_image, at=2)),
        ]
        prompts = []
        for task, _ in plan:
            prompt = templated_prompt(tokenizer, opening_messages(task, env.agent_config))
            prompts.append((task.instance_id, prompt,
                            {"instance_id": task.instance_id, "turn": 0,
                             "prompt_tokens": tokenizer.count(prompt[0]["content"])}))
        rollouts = drive(env, prompts, [m for _, m in plan], max_turns=3)
        metrics = env.metrics.snapshot()
    finally:
        env.shutdown()

    assert [r.total_reward for r in rollouts] == [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    assert [r.turns for r in rollouts] == [2, 2, 1, 3, 3, 2]
    assert all(r.terminated for r in rollouts)
    endings = [r.metadata.get("ending") for r in rollouts]
    assert endings == ["submitted", "submitted", "submitted", "step_limit", "format_errors",
                       "infra_error"]
    assert [r.metadata.get("status") for r in rollouts[:3]] == ["passed", "passed", "failed"]
    glue = env.glue
    # a continuing turn's observation carries the template glue around the episode's text
    ls_obs = rollouts[3].messages[2]
    assert ls_obs["role"] == "user" and ls_obs["content"].startswith(glue.before)
    assert ls_obs["content"].endswith("<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert "<returncode>0</returncode>" in ls_obs["content"] and "semverlite\n" in ls_obs["content"]
    assert "Your reply was not run" in rollouts[4].messages[2]["content"]
    # the final turn of a scored episode adds nothing; the infra error is excluded: reward 0.0,
    # an observation longer than the context (NeMo-RL truncates -> overlong filtering masks it)
    assert rollouts[0].messages[-1]["content"] == ""
    assert "excluded" not in rollouts[0].metadata
    assert rollouts[5].metadata["excluded"].startswith("infra_error")
    assert tokenizer.count(rollouts[5].messages[-1]["content"]) > env.max_seq_len
    # identical patches in a group are evaluated once
    assert metrics["swe/evals_cached"] >= 1
    assert metrics["swe/episodes"] == 6 and metrics["swe/ending/infra_error"] == pytest.approx(1 / 6)
    assert metrics["swe/resolved_rate"] == pytest.approx(2 / 5)
    assert env.live_episodes() == 0
    left = sandbox.client().containers.list(all=True, filters={
        "label": f"{sandbox.LABEL_RUN}={sandbox.run_id()}"})
    assert [c for c in left if c.image.id == glob_image] == []


def test_unknown_episode_and_context_limit(docker_engine, bundled_tasks, copy_tasks, tokenizer):
    tasks_dir = copy_tasks("fernleaf-unitconv-9")
    task = bundled_tasks["fernleaf-unitconv-9"]
    prompt = templated_prompt(tokenizer, opening_messages(task, load_config()))
    used = tokenizer.count(prompt[0]["content"])
    env = SweEnv(env_config(tasks_dir, max_seq_len=used + 600, max_new_tokens=256),
                 tokenizer=tokenizer)
    try:
        meta = {"instance_id": task.instance_id, "turn": 0, "prompt_tokens": used}
        rollouts = drive(env, [(task.instance_id, prompt, meta)],
                         [ScriptedModel([bash("cat fernleaf/*.json; ls -la")] * 3)], max_turns=3)
        lost = env.step([[{"role": "assistant", "content": bash("ls")}]],
                        [{"instance_id": task.instance_id, "episode": "gone", "turn": 4}])
        missing = env.step([[{"role": "assistant", "content": bash("ls")}]],
                           [{"instance_id": "no-such-task", "turn": 0}])
    finally:
        env.shutdown()
    assert rollouts[0].metadata["ending"] == "context_limit" and rollouts[0].total_reward == 0.0
    for out in (lost, missing):
        assert out.terminateds == [True] and out.rewards == [0.0]
        assert out.metadata[0]["excluded"].startswith("infra_error")
