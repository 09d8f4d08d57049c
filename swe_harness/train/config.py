"""``configs/train.yaml`` (hydra) -> NeMo-RL v0.7.0's GRPO config, by one function.

``compose(overrides)`` builds our config; ``to_nemo_rl(cfg)`` is the only conversion: it keeps
NeMo-RL's sections (grpo, loss_fn, policy, checkpointing, logger, cluster), turns ``data.train``
/ ``data.validation`` (parquet paths from ``prepare``) into NeMo-RL dataset entries routed to the
``swe_harness`` env and processor, and builds ``env.swe_harness`` (the plain dict
``SweEnvActor`` takes) from ``agent/``, ``sandbox/`` and the policy's lengths and tokenizer.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

ENV_NAME = "swe_harness"
DATASET_CLASS = "swe_harness.train.dataset.SweTaskDataset"
NEMO_RL_SECTIONS = ("grpo", "loss_fn", "policy", "checkpointing", "logger", "cluster")
PLACEMENTS = ("local", "per_node")  # env.swe_harness.placement: where the episodes run


def configs_dir() -> Path:
    """``configs/`` of this checkout, or ``$SWE_HARNESS_CONFIGS``."""
    env = os.environ.get("SWE_HARNESS_CONFIGS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "configs"


def register_resolvers() -> None:
    """The arithmetic resolvers NeMo-RL's configs use (``${mul:a,b}`` ...), if missing."""
    from omegaconf import OmegaConf

    for name, fn in (("mul", lambda a, b: a * b), ("add", lambda *a: sum(a)),
                     ("div", lambda a, b: a / b), ("max", lambda *a: max(a))):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)


def compose(overrides: Sequence[str] = (), config_name: str = "train"):
    """Our composed config (a DictConfig) with hydra overrides applied."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    register_resolvers()
    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(configs_dir()), version_base="1.3"):
        return hydra_compose(config_name=config_name, overrides=list(overrides))


def _plain(cfg) -> dict:
    from omegaconf import DictConfig, OmegaConf

    if isinstance(cfg, DictConfig):
        register_resolvers()
        return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    return dict(cfg)


def _dataset(path: str | None, split: str) -> dict | None:
    if not path:
        return None
    return {"dataset_name": DATASET_CLASS, "data_path": str(path), "split": split,
            "env_name": ENV_NAME, "processor": ENV_NAME}


def to_nemo_rl(cfg) -> dict:
    """Our composed config (DictConfig or plain dict) -> NeMo-RL's GRPO config as a plain dict."""
    cfg = _plain(cfg)
    out = {key: cfg[key] for key in NEMO_RL_SECTIONS}
    data = dict(cfg["data"])
    train, validation = data.pop("train"), data.pop("validation", None)
    if not train:
        raise ValueError("data.train: set it to the train.parquet written by "
                         "`python -m swe_harness.prepare` (data.train=PATH)")
    out["data"] = {**data, "use_multiple_dataloader": False,
                   "train": _dataset(train, "train"),
                   "validation": _dataset(validation, "validation"),
                   "default": {"dataset_name": DATASET_CLASS, "env_name": ENV_NAME,
                               "processor": ENV_NAME, "prompt_file": None,
                               "system_prompt_file": None}}
    policy = out["policy"]
    env_extra = dict(cfg.get("env", {}).get(ENV_NAME, {}))
    out["env"] = {ENV_NAME: {
        **env_extra,
        "tasks": [p for p in (train, validation) if p],
        "agent": cfg["agent"],
        "sandbox": cfg["sandbox"],
        "tokenizer": policy["tokenizer"],
        "max_seq_len": policy["max_total_sequence_length"],
        "max_new_tokens": policy["generation"]["max_new_tokens"],
        "max_turns": out["grpo"]["max_rollout_turns"],
    }}
    if not out["grpo"]["val_period"] or validation is None:
        out["grpo"] = {**out["grpo"], "val_period": 0, "val_at_start": False,
                       "val_at_end": False}
    return out


def nemo_rl_config(overrides: list[str]) -> dict:
    """Compose ``configs/train.yaml`` with ``overrides`` and convert it for NeMo-RL."""
    return to_nemo_rl(compose(overrides))


def check(nrl: dict) -> list[str]:
    """Problems a real run would hit late (or train wrongly with); empty when consistent."""
    problems = []
    grpo, policy, cluster = nrl["grpo"], nrl["policy"], nrl["cluster"]
    env = nrl["env"][ENV_NAME]
    samples = grpo["num_prompts_per_step"] * grpo["num_generations_per_prompt"]
    if policy["train_global_batch_size"] > samples:
        problems.append(f"policy.train_global_batch_size {policy['train_global_batch_size']} > "
                        f"{samples} samples per step")
    step_limit = env["agent"].get("step_limit")
    if step_limit and grpo["max_rollout_turns"] < step_limit:
        problems.append(f"grpo.max_rollout_turns {grpo['max_rollout_turns']} < agent.step_limit "
                        f"{step_limit}: the env evaluates on turn {grpo['max_rollout_turns']}")
    if not grpo.get("overlong_filtering"):
        problems.append("grpo.overlong_filtering is false: samples with an infrastructure "
                        "error would train as reward 0.0 instead of being masked")
    gpus = cluster["gpus_per_node"] * cluster["num_nodes"]
    vllm = policy["generation"]["vllm_cfg"]
    model_parallel = vllm["tensor_parallel_size"] * vllm["pipeline_parallel_size"]
    if gpus % model_parallel:
        problems.append(f"{gpus} GPUs are not a multiple of vLLM TPxPP {model_parallel}")
    tp = policy["dtensor_cfg"].get("tensor_parallel_size", 1) if policy["dtensor_cfg"].get(
        "enabled") else 1
    if gpus % tp:
        problems.append(f"{gpus} GPUs are not a multiple of training TP {tp}")
    if policy["generation"]["max_new_tokens"] >= policy["max_total_sequence_length"]:
        problems.append("policy.generation.max_new_tokens leaves no room for the prompt")
    if env.get("placement", "local") not in PLACEMENTS:
        problems.append(f"env.swe_harness.placement {env['placement']!r} is none of "
                        f"{', '.join(PLACEMENTS)}")
    return problems


def describe_launch(nrl: dict) -> list[str]:
    """What a real run would launch, in words."""
    grpo, policy, cluster = nrl["grpo"], nrl["policy"], nrl["cluster"]
    gen, env = policy["generation"], nrl["env"][ENV_NAME]
    vllm = gen["vllm_cfg"]
    gpus = cluster["gpus_per_node"] * cluster["num_nodes"]
    tp_gen = vllm["tensor_parallel_size"] * vllm["pipeline_parallel_size"]
    colocated = gen.get("colocated", {}).get("enabled", True)
    train_tp = policy["dtensor_cfg"].get("tensor_parallel_size", 1)
    samples = grpo["num_prompts_per_step"] * grpo["num_generations_per_prompt"]
    per_node = env.get("placement") == "per_node"
    where = ("one SweEnv worker per Ray node announcing 'swe_engine' (placement per_node)"
             if per_node else "SweEnvActor runs every episode on its node's engine")
    return [
        f"cluster: {cluster['num_nodes']} node(s) x {cluster['gpus_per_node']} GPU(s) = {gpus} GPUs",
        f"model: {policy['model_name']} ({policy['precision']}), training DTensor TP {train_tp}, "
        f"DP {gpus // max(1, train_tp)}",
        f"generation: vLLM {'colocated with training' if colocated else 'on separate GPUs'}, "
        f"TP {vllm['tensor_parallel_size']} x PP {vllm['pipeline_parallel_size']} -> "
        f"{gpus // max(1, tp_gen)} engine(s), {'async' if vllm['async_engine'] else 'sync'} rollouts",
        f"batch: {grpo['num_prompts_per_step']} prompts x {grpo['num_generations_per_prompt']} "
        f"samples per prompt = {samples} episodes per step; train_global_batch_size "
        f"{policy['train_global_batch_size']}",
        f"episodes: up to {grpo['max_rollout_turns']} turns, {gen['max_new_tokens']} new tokens "
        f"per turn, {policy['max_total_sequence_length']} tokens in all",
        f"optimizer: {policy['optimizer']['name']} lr {policy['optimizer']['kwargs']['lr']}; "
        f"{grpo['max_num_steps']} steps at most",
        f"env: {where}, {env.get('max_workers')} parallel commands per turn "
        f"{'on each' if per_node else 'in it'}, tasks from {', '.join(map(str, env['tasks']))}",
    ]
