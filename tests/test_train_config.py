"""The train config (composition, overrides, conversion for NeMo-RL), the chat-template glue on an
offline Qwen3-style tokenizer, lazy imports, and the entry point without NeMo-RL."""

from __future__ import annotations

import subprocess
import sys

import pytest

from swe_harness.train import config as trainconfig
from swe_harness.train import glue, tiny


def test_compose_overrides_and_conversion():
    nrl = trainconfig.nemo_rl_config(["data.train=/d/train.parquet",
                                      "data.validation=/d/validation.parquet",
                                      "grpo.num_generations_per_prompt=4", "agent.step_limit=12"])
    assert set(nrl) == {"grpo", "loss_fn", "policy", "checkpointing", "logger", "cluster",
                        "data", "env"}
    assert nrl["grpo"]["num_generations_per_prompt"] == 4
    assert nrl["policy"]["train_global_batch_size"] == 8 * 4
    assert nrl["grpo"]["max_rollout_turns"] == 12  # follows the agent's step limit
    assert nrl["policy"]["model_name"] == "Qwen/Qwen3-8B"
    gen = nrl["policy"]["generation"]
    assert gen["vllm_cfg"]["tensor_parallel_size"] == 2 and gen["colocated"]["enabled"]
    assert (gen["max_new_tokens"], nrl["policy"]["max_total_sequence_length"]) == (4096, 32768)
    assert nrl["policy"]["optimizer"]["kwargs"]["lr"] == 1e-6
    assert nrl["cluster"] == {**nrl["cluster"], "gpus_per_node": 8, "num_nodes": 1}
    train = nrl["data"]["train"]
    assert train["data_path"] == "/d/train.parquet" and train["env_name"] == "swe_harness"
    assert train["processor"] == "swe_harness" and train["dataset_name"] == trainconfig.DATASET_CLASS
    env = nrl["env"]["swe_harness"]
    assert env["tasks"] == ["/d/train.parquet", "/d/validation.parquet"]
    assert env["max_turns"] == 12 and env["agent"]["step_limit"] == 12
    assert env["max_seq_len"] == 32768 and env["tokenizer"]["name"] == "Qwen/Qwen3-8B"
    assert nrl["grpo"]["overlong_filtering"] is True
    assert trainconfig.check(nrl) == []


def test_groups_and_consistency_checks():
    nrl = trainconfig.nemo_rl_config(["data.train=t.parquet", "cluster=nodes",
                                      "cluster.num_nodes=4", "model=tiny"])
    assert nrl["cluster"]["num_nodes"] == 4 and nrl["policy"]["max_total_sequence_length"] == 16384
    assert nrl["grpo"]["val_period"] == 0  # no validation file
    launch = "\n".join(trainconfig.describe_launch(nrl))
    assert "4 node(s) x 8 GPU(s) = 32 GPUs" in launch and "2 prompts x 2 samples" in launch
    assert nrl["env"]["swe_harness"]["placement"] == "per_node"  # cluster=nodes: a worker a node
    assert "one SweEnv worker per Ray node announcing 'swe_engine'" in launch
    bad = trainconfig.nemo_rl_config(["data.train=t.parquet", "grpo.max_rollout_turns=5",
                                      "grpo.overlong_filtering=false",
                                      "policy.generation.vllm_cfg.tensor_parallel_size=3",
                                      "env.swe_harness.placement=everywhere"])
    problems = " ".join(trainconfig.check(bad))
    assert "max_rollout_turns 5 < agent.step_limit 20" in problems
    assert "overlong_filtering" in problems and "TPxPP 3" in problems
    assert "placement 'everywhere' is none of local, per_node" in problems
    with pytest.raises(Exception, match="train"):
        trainconfig.nemo_rl_config([])


def test_entry_point_cfg_job_and_missing_nemo_rl(tmp_path):
    run = [sys.executable, "-m", "swe_harness.train"]
    out = subprocess.run(run + ["--cfg", "job", "grpo.num_generations_per_prompt=6"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "num_generations_per_prompt: 6" in out.stdout and "vllm_cfg:" in out.stdout
    code = "import nemo_rl" 
    if subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0:
        pytest.skip("nemo_rl is importable here: the install message is not shown")
    out = subprocess.run(run + ["data.train=x.parquet"], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert out.returncode != 0 and "NeMo-RL is not importable" in out.stderr
    assert "pip install" in out.stderr


def test_import_is_lazy():
    code = ("import sys, swe_harness.train as t; t.nemo_rl_config; t.SweEnv; "
            "print(sorted(m for m in ('ray', 'torch', 'nemo_rl', 'transformers', 'docker') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def tokdir(tmp_path_factory):
    return tiny.make_tokenizer(tmp_path_factory.mktemp("tok"))


@pytest.mark.parametrize("thinking", [True, False])
def test_glue_reproduces_the_chat_template(tokdir, thinking):
    tok = glue.ChatTokenizer.from_dir(tokdir, chat_template_kwargs={"enable_thinking": thinking})
    g = glue.derive_glue(tok)
    assert g.before == "\n<|im_start|>user\n" and g.assistant_close == "<|im_end|>\n"
    think = "" if thinking else "<think>\n\n</think>\n\n"
    assert g.after == "<|im_end|>\n<|im_start|>assistant\n" + think
    # prompt + generated reply (ending in EOS) + glued observation == the template's rendering
    prompt = [{"role": "system", "content": "sys"}, {"role": "user", "content": "fix it"}]
    head = tok.render(prompt, add_generation_prompt=True)
    reply = "```bash\nls\n```"
    stream = head + reply + tok.eos_token + g.wrap("a.py\n")
    rendered = tok.render(prompt + [{"role": "assistant", "content": reply},
                                    {"role": "user", "content": "a.py\n"}],
                          add_generation_prompt=True)
    if thinking:
        assert stream == rendered
    else:  # the template drops the empty think block of past turns; the stream keeps it
        assert stream.replace("<think>\n\n</think>\n\n", "") == rendered.replace(
            "<think>\n\n</think>\n\n", "")
    assert tok.count("<|im_end|>") == 1 and tok.count("héllo") == len("héllo".encode())


def test_glue_without_eos_in_close_and_bad_templates():
    template = ("{% for m in messages %}[{{ m.role }}]{{ m.content }}[/{{ m.role }}]{% endfor %}"
                "{% if add_generation_prompt %}[assistant]{% endif %}")
    g = glue.derive_glue(glue.ChatTokenizer.from_template(template, eos_token="</s>"), "tool")
    assert (g.before, g.after, g.role) == ("[/assistant][tool]", "[/tool][assistant]", "tool")
    dropping = "{% for m in messages if m.role != 'assistant' %}{{ m.content }}{% endfor %}"
    with pytest.raises(glue.GlueError):
        glue.derive_glue(glue.ChatTokenizer.from_template(dropping))


def test_strip_thinking():
    assert glue.strip_thinking("<think>\nplan ```bash\nx\n```\n</think>\n\nok") == "ok"
    assert glue.strip_thinking("no tags") == "no tags"
    assert glue.strip_thinking("<think>cut off", ("<think>", "</think>")) == "<think>cut off"
    assert glue.strip_thinking("<think>a</think>b", None) == "<think>a</think>b"


def test_converted_config_validates_as_nemo_rl_master_config():
    try:
        from nemo_rl.algorithms.grpo import MasterConfig
    except Exception as exc:  # absent, or pydantic refusing typing.TypedDict before Python 3.12
        pytest.skip(f"NeMo-RL's MasterConfig is not importable here: {type(exc).__name__}")
    for overrides in ([], ["model=tiny", "cluster=1x1_gpu"],
                      ["cluster=nodes", "data.validation=v.parquet"]):
        nrl = trainconfig.nemo_rl_config(["data.train=t.parquet", *overrides])
        master = MasterConfig(**nrl)
        assert master.grpo["max_rollout_turns"] == nrl["env"]["swe_harness"]["max_turns"]
    del nrl["grpo"]["seed"]
    with pytest.raises(Exception, match="seed"):
        MasterConfig(**nrl)
