"""A real GRPO run with NeMo-RL v0.7.0, the way its ``examples/run_grpo.py`` runs one, plus the
``swe_harness`` registration, the env's episode metrics in NeMo-RL's logger every step, and the
env's containers closed at the end (v0.7.0's synchronous ``grpo_train`` does not shut envs down).
"""

from __future__ import annotations

import sys

INSTALL = """\
NeMo-RL is not importable here ({error}).
A real training run needs NeMo-RL v0.7.0 and its GPU stack (torch, vLLM, Ray), Python 3.13:
  1. use NeMo-RL's container (NGC, or its docker/Dockerfile) or its own environment:
       git clone --branch v0.7.0 https://github.com/NVIDIA-NeMo/RL nemo-rl && cd nemo-rl && uv sync --extra vllm
  2. install this package into that environment:
       uv pip install -e /path/to/swe_harness[train]     (or: pip install -e '.[train]')
  3. run again with that environment's python:  python -m swe_harness.train data.train=...
Without a GPU, `train.dry_run=true` checks everything else."""


def require_nemo_rl() -> None:
    try:
        import nemo_rl  # noqa: F401
        import ray  # noqa: F401
        from nemo_rl.algorithms import grpo  # noqa: F401
    except Exception as exc:  # ImportError, or pydantic refusing the config types before 3.12
        raise SystemExit(INSTALL.format(error=f"{type(exc).__name__}: {exc}")) from None


class EnvMetricsLogger:
    """NeMo-RL's logger, plus the env actors' episode metrics (v0.7.0 never calls
    ``global_post_process_and_metrics``): pulled when a step's rollout metrics are logged
    (``train/swe/*``) and when validation metrics are (``validation/swe/*``). An empty window
    (the step's metrics logged a second time) logs nothing."""

    def __init__(self, logger, envs: dict):
        self._logger = logger
        self._envs = envs

    def log_metrics(self, metrics, step, prefix="", *args, **kwargs):
        self._logger.log_metrics(metrics, step, prefix, *args, **kwargs)
        if prefix == "validation" or (prefix == "train" and "avg_turns_per_sample" in metrics):
            import ray

            for name, env in self._envs.items():
                try:
                    swe = ray.get(env.pop_metrics.remote(), timeout=60)
                except Exception as exc:
                    print(f"[swe_harness] metrics of env {name} unavailable: {exc!r}")
                    continue
                if swe.get("swe/episodes"):
                    self._logger.log_metrics(swe, step, prefix=prefix)
                    print("  " + "  ".join(f"{k}={v:.3g}" for k, v in sorted(swe.items())))

    def __getattr__(self, name):
        return getattr(self._logger, name)


def launch(nrl_config: dict) -> None:
    """Build everything from the converted config and train; envs are shut down at the end."""
    require_nemo_rl()
    import ray
    from nemo_rl.algorithms.grpo import MasterConfig, grpo_train, setup
    from nemo_rl.algorithms.utils import get_tokenizer
    from nemo_rl.data.utils import setup_response_data
    from nemo_rl.distributed.virtual_cluster import init_ray
    from nemo_rl.models.generation import configure_generation_config
    from nemo_rl.utils.logger import get_next_experiment_dir

    from .registry import register_with_nemo_rl

    config = MasterConfig(**nrl_config)
    config.logger["log_dir"] = get_next_experiment_dir(config.logger["log_dir"])
    for env_cfg in config.env.values():  # the env writes its episode lines beside NeMo-RL's logs
        env_cfg.setdefault("episodes_path", f"{config.logger['log_dir']}/swe_episodes.jsonl")
    register_with_nemo_rl()
    init_ray()
    tokenizer = get_tokenizer(config.policy["tokenizer"])
    config.policy["generation"] = configure_generation_config(config.policy["generation"],
                                                              tokenizer)
    dataset, val_dataset, task_to_env, val_task_to_env = setup_response_data(
        tokenizer, config.data, config.env)
    try:
        (policy, policy_generation, _gym, _cluster, dataloader, val_dataloader, loss_fn, logger,
         checkpointer, grpo_state, master_config, teacher_groups, aliases) = setup(
            config, tokenizer, dataset, val_dataset)
        logger = EnvMetricsLogger(logger, task_to_env)
        if config.grpo.get("async_grpo", {}).get("enabled"):
            from nemo_rl.algorithms.grpo import async_grpo_train

            async_grpo_train(
                policy=policy, policy_generation=policy_generation, dataloader=dataloader,
                val_dataloader=val_dataloader, tokenizer=tokenizer, loss_fn=loss_fn,
                task_to_env=task_to_env, val_task_to_env=val_task_to_env, logger=logger,
                checkpointer=checkpointer, grpo_save_state=grpo_state,
                master_config=master_config,
                max_trajectory_age_steps=config.grpo["async_grpo"]["max_trajectory_age_steps"],
                teacher_worker_groups=teacher_groups, alias_to_group_alias=aliases)
        else:
            grpo_train(policy, policy_generation, dataloader, val_dataloader, tokenizer, loss_fn,
                       task_to_env, val_task_to_env, logger, checkpointer, grpo_state,
                       master_config)
    finally:
        for env in {id(e): e for d in (task_to_env, val_task_to_env or {}) for e in
                    d.values()}.values():
            try:
                ray.get(env.shutdown.remote(), timeout=60)
            except Exception as exc:
                print(f"[swe_harness] env shutdown failed: {exc!r}", file=sys.stderr)
