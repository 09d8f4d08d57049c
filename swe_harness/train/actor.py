"""``SweEnvActor``: NeMo-RL's ``EnvironmentInterface`` as a Ray actor around :class:`SweEnv`.

``env.swe_harness.placement``: ``local`` (the default) runs every episode in this actor, on the
engine of its node; ``per_node`` routes them to one ``SweEnv`` per engine node
(:class:`~swe_harness.train.workers.EnvWorkers`).

``max_concurrency`` is high because with async rollouts (``vllm_cfg.async_engine``) NeMo-RL
v0.7.0 sends many concurrent one-sample ``step`` calls (``run_sample_multi_turn_rollout`` runs
``calculate_rewards`` under ``asyncio.to_thread``); in sync mode each turn is one batched call
whose samples ``SweEnv`` runs in parallel.
"""

from __future__ import annotations

import ray

from .config import PLACEMENTS
from .env import SweEnv

try:
    from nemo_rl.environments.interfaces import EnvironmentInterface
except ImportError:  # the stable name stays importable; a run needs NeMo-RL (launch.py says so)
    EnvironmentInterface = object

FQN = "swe_harness.train.actor.SweEnvActor"


@ray.remote(max_restarts=-1, max_task_retries=-1, max_concurrency=1000)  # pragma: no cover
class SweEnvActor(EnvironmentInterface):
    def __init__(self, env_config: dict):
        placement = env_config.get("placement", "local")
        if placement == "per_node":
            from .workers import EnvWorkers

            self.env = EnvWorkers(dict(env_config))
        elif placement == "local":
            self.env = SweEnv(dict(env_config))
        else:
            raise ValueError(f"env.swe_harness.placement {placement!r} is none of "
                             f"{', '.join(PLACEMENTS)}")

    def step(self, message_log_batch, metadata):
        import torch
        from nemo_rl.environments.interfaces import EnvironmentReturn

        out = self.env.step(message_log_batch, metadata)
        return EnvironmentReturn(
            observations=out.observations, metadata=out.metadata,
            next_stop_strings=out.next_stop_strings,
            rewards=torch.tensor(out.rewards, dtype=torch.float32),
            terminateds=torch.tensor(out.terminateds, dtype=torch.bool), answers=out.answers)

    def global_post_process_and_metrics(self, batch):
        """Not called by NeMo-RL v0.7.0's GRPO; metrics reach the logger via ``pop_metrics``."""
        return batch, self.env.metrics.snapshot(reset=False)

    def pop_metrics(self) -> dict[str, float]:
        """The episode metrics since the last call (the entry point logs them every step)."""
        return self.env.metrics.snapshot()

    def live_episodes(self) -> int:
        return self.env.live_episodes()

    def shutdown(self) -> None:
        self.env.shutdown()
