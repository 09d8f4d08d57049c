"""SweEnvActor under NeMo-RL's real ``run_multi_turn_rollout`` (v0.7.0), on real Docker tasks,
with a CPU generation backend that replays scripted replies as token ids.

Needs NeMo-RL's source importable (with torch, transformers, ray): skipped otherwise. How it was
run against v0.7.0 is in the README ("Training").
"""

from __future__ import annotations

import os
import shutil

import pytest

rollouts = pytest.importorskip("nemo_rl.experience.rollouts",
                               reason="nemo_rl (NeMo-RL v0.7.0 source) is not importable")

import ray  # noqa: E402
import torch  # noqa: E402
from nemo_rl.algorithms.utils import get_tokenizer  # noqa: E402
from nemo_rl.data.collate_fn import rl_collate_fn  # noqa: E402
from nemo_rl.data.interfaces import TaskDataSpec  # noqa: E402
from nemo_rl.distributed.batched_data_dict import BatchedDataDict  # noqa: E402
from nemo_rl.environments.utils import create_env  # noqa: E402
from nemo_rl.utils.logger import Logger  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

from swe_harness import prepare  # noqa: E402
from swe_harness.train import nemo_rl_config, register_with_nemo_rl, swe_data_processor  # noqa: E402
from swe_harness.train.dryrun import scripted_replies  # noqa: E402
from swe_harness.train.launch import EnvMetricsLogger  # noqa: E402
from swe_harness.train.tiny import make_tokenizer  # noqa: E402

from .conftest import TASKS_DIR  # noqa: E402

MARKER = "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"


class ScriptedGeneration:
    """NeMo-RL's ``generate(data, greedy)`` on the CPU: each sample (found by its prompt) gets its
    next scripted reply, tokenized and ended with EOS, as vLLM would return it."""

    def __init__(self, tokenizer, scripts: dict[str, list[str]]):
        self.tokenizer, self.scripts, self.calls = tokenizer, scripts, []

    def generate(self, data, greedy=False):
        outputs, lengths, totals = [], [], []
        for ids, n in zip(data["input_ids"], data["input_lengths"]):
            text = self.tokenizer.decode(ids[:n])
            iid = next(i for i in self.scripts if f"[{i}]" in text)
            turn = text.count("<|im_start|>assistant\n") - 1
            reply = self.scripts[iid][turn]
            new = self.tokenizer(reply, add_special_tokens=False)["input_ids"] + [
                self.tokenizer.eos_token_id]
            self.calls.append((iid, turn))
            outputs.append(torch.cat([ids[:n], torch.tensor(new)]))
            lengths.append(len(new))
            totals.append(int(n) + len(new))
        width = max(totals)
        pad = self.tokenizer.pad_token_id
        output_ids = torch.full((len(outputs), width), pad, dtype=torch.long)
        for i, row in enumerate(outputs):
            output_ids[i, :len(row)] = row
        return BatchedDataDict(output_ids=output_ids,
                               generation_lengths=torch.tensor(lengths),
                               unpadded_sequence_lengths=torch.tensor(totals),
                               logprobs=torch.zeros(output_ids.shape, dtype=torch.float32))


class AsyncScriptedGeneration(ScriptedGeneration):
    """The same replies through ``generate_async`` (vLLM's async engine): NeMo-RL then runs each
    sample on its own and calls the env with concurrent one-sample batches."""

    cfg = {"backend": "vllm", "vllm_cfg": {"async_engine": True}}

    async def generate_async(self, data, greedy=False):
        out = self.generate(data, greedy)
        for i in range(len(out["output_ids"])):
            yield i, BatchedDataDict({key: value[i:i + 1] for key, value in out.items()})


@pytest.fixture
def ray_cluster():
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    # one engine node for placement per_node (ignored by placement local)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=True,
             resources={"swe_engine": 4})
    yield
    ray.shutdown()


@pytest.mark.parametrize("mode,placement", [("sync", "local"), ("async", "local"),
                                            ("sync", "per_node")])
def test_actor_under_run_multi_turn_rollout(docker_engine, tmp_path, ray_cluster, bundled_tasks,
                                            mode, placement):
    ids = ["fernleaf-unitconv-9", "brightline-semverlite-7", "lumen-globmatch-15"]
    tasks_dir = tmp_path / "tasks"
    for iid in ids:
        shutil.copytree(TASKS_DIR / iid, tasks_dir / iid)
        # the id in the problem statement lets the scripted backend find each sample's script
        task_json = tasks_dir / iid / "task.json"
        task_json.write_text(task_json.read_text().replace('"problem_statement": "',
                                                           f'"problem_statement": "[{iid}] ', 1))
    data = prepare.prepare([tasks_dir], validation_fraction=0.0)
    prepare.write_parquet(data.train, tmp_path / "train.parquet")
    tok_dir = make_tokenizer(tmp_path / "tok")
    nrl = nemo_rl_config([f"data.train={tmp_path / 'train.parquet'}", "model=tiny",
                          f"policy.model_name={tok_dir}", "agent.step_limit=3",
                          f"logger.log_dir={tmp_path / 'logs'}",
                          f"env.swe_harness.placement={placement}"])
    tokenizer = get_tokenizer(nrl["policy"]["tokenizer"])
    register_with_nemo_rl()
    env = create_env("swe_harness", nrl["env"]["swe_harness"])
    fern = bundled_tasks["fernleaf-unitconv-9"]
    backend = (AsyncScriptedGeneration if mode == "async" else ScriptedGeneration)(tokenizer, {
        "fernleaf-unitconv-9": scripted_replies(fern, "gold", MARKER),           # 2 turns, 1.0
        "brightline-semverlite-7": [f"```bash\necho {MARKER}\n```"],             # 1 turn, 0.0
        "lumen-globmatch-15": ["```bash\nls\n```"] * 3,                          # step limit
        "ghost-1": ["```bash\nls\n```"],                                       # infra error
    })
    rows = {r["instance_id"]: r for r in data.train}
    # a sample whose task the env cannot find: an infrastructure error, to be excluded
    rows["ghost-1"] = {**rows[ids[0]], "instance_id": "ghost-1", "prompt": [
        {"role": "user", "content": "[ghost-1] a task no source holds"}]}
    datums = [swe_data_processor(rows[iid], TaskDataSpec(task_name="swe_harness"), tokenizer,
                                 nrl["policy"]["max_total_sequence_length"], i)
              for i, iid in enumerate(ids + ["ghost-1"])]
    try:
        rollout = (rollouts.run_async_multi_turn_rollout if mode == "async"
                   else rollouts.run_multi_turn_rollout)
        batch, metrics = rollout(
            backend, rl_collate_fn(datums), tokenizer, {"swe_harness": env},
            max_seq_len=nrl["policy"]["max_total_sequence_length"],
            max_rollout_turns=nrl["grpo"]["max_rollout_turns"])
        # the entry point's logger pulls the env's episode metrics with the rollout metrics
        logger = EnvMetricsLogger(Logger({**nrl["logger"], "tensorboard_enabled": True,
                                          "monitor_gpus": False}), {"swe_harness": env})
        logger.log_metrics(metrics, 1, prefix="train")
        live = ray.get(env.live_episodes.remote())
        after = ray.get(env.pop_metrics.remote())
    finally:
        ray.get(env.shutdown.remote())
    print("total_reward", batch["total_reward"].tolist(), "truncated", batch["truncated"].tolist())
    print("rollout metrics", metrics)
    events = EventAccumulator(str(tmp_path / "logs" / "tensorboard"))
    events.Reload()
    swe = {tag: events.Scalars(tag)[0].value for tag in events.Tags()["scalars"]
           if tag.startswith("train/swe/")}
    print("swe metrics", swe)
    assert batch["total_reward"].tolist() == [1.0, 0.0, 0.0, 0.0]
    # the infra error came back truncated: grpo.overlong_filtering gives it loss multiplier 0
    assert batch["truncated"].tolist() == [False, False, False, True]
    assert metrics["total_turns"] == 2 + 1 + 3 + 1
    assert metrics["natural_termination_rate"] == 1.0
    # v0.7.0's async path counts a sample that ended on the last allowed turn as max turns
    # reached even though the env terminated it (the sync path does not)
    assert metrics["max_turns_reached_rate"] == (0.25 if mode == "async" else 0.0)
    assert sorted(backend.calls) == sorted([("fernleaf-unitconv-9", 0), ("fernleaf-unitconv-9", 1),
                                            ("brightline-semverlite-7", 0),
                                            ("lumen-globmatch-15", 0), ("lumen-globmatch-15", 1),
                                            ("lumen-globmatch-15", 2), ("ghost-1", 0)])
    # observations were appended as raw tokens that reproduce the chat template
    log = batch["message_log"][2]
    obs = [m for m in log if m["role"] == "user"][1]
    assert obs["content"].startswith("\n<|im_start|>user\n<returncode>0</returncode>")
    assert tokenizer.decode(obs["token_ids"]) == obs["content"]
    assert [m["role"] for m in log] == ["user", "assistant", "user", "assistant", "user",
                                        "assistant", "user"]
    assert swe["train/swe/episodes"] == 4
    assert swe["train/swe/resolved_rate"] == pytest.approx(1 / 3)  # of the scored episodes
    assert swe["train/swe/infra_error_rate"] == pytest.approx(1 / 4)
    assert swe["train/swe/ending/step_limit"] == pytest.approx(1 / 4)
    assert "train/avg_turns_per_sample" in events.Tags()["scalars"]
    assert live == 0 and after["swe/episodes"] == 0  # the window was reset by the logger


def test_config_driven_path(tmp_path, ray_cluster, bundled_tasks):
    """What NeMo-RL's own examples/run_grpo.py does with our converted config: datasets by dotted
    path, processor and env by the registered name ``swe_harness``."""
    from nemo_rl.data.utils import setup_response_data

    data = prepare.prepare([TASKS_DIR], validation_fraction=0.34)
    prepare.write_parquet(data.train, tmp_path / "train.parquet")
    prepare.write_parquet(data.validation, tmp_path / "validation.parquet")
    nrl = nemo_rl_config([f"data.train={tmp_path / 'train.parquet'}",
                          f"data.validation={tmp_path / 'validation.parquet'}", "model=tiny",
                          f"policy.model_name={make_tokenizer(tmp_path / 'tok')}"])
    register_with_nemo_rl()
    register_with_nemo_rl()  # idempotent
    tokenizer = get_tokenizer(nrl["policy"]["tokenizer"])
    dataset, val_dataset, task_to_env, val_task_to_env = setup_response_data(
        tokenizer, nrl["data"], nrl["env"])
    env = task_to_env["swe_harness"]
    try:
        assert (len(dataset), len(val_dataset)) == (4, 2)
        assert val_task_to_env["swe_harness"] is env
        datum = dataset[0]
        assert datum["task_name"] == "swe_harness" and datum["loss_multiplier"] == 1.0
        assert datum["extra_env_info"]["instance_id"] in bundled_tasks
        assert datum["extra_env_info"]["prompt_tokens"] == datum["length"] == len(
            datum["message_log"][0]["token_ids"])
        assert datum["message_log"][0]["content"].endswith(
            "<|im_start|>assistant\n<think>\n\n</think>\n\n")
        short = swe_data_processor(data.train[0], None, tokenizer, 16, 7)
        assert short["loss_multiplier"] == 0.0 and short["extra_env_info"]["prompt_too_long"]
        assert short["length"] == 4 and short["idx"] == 7
        # the env starts no container for a masked prompt
        out = ray.get(env.step.remote([[{"role": "assistant", "content": "x"}]],
                                      [short["extra_env_info"]]))
        assert out.terminateds.tolist() == [True] and out.rewards.tolist() == [0.0]
        assert ray.get(env.live_episodes.remote()) == 0
    finally:
        ray.get(env.shutdown.remote())
