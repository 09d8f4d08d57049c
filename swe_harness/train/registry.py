"""Registers the ``swe_harness`` env and processor with NeMo-RL, so its own
``examples/run_grpo.py`` (config-driven ``data.*.env_name`` / ``processor``) can use them."""

from __future__ import annotations

from .config import ENV_NAME


def register_with_nemo_rl(name: str = ENV_NAME) -> None:
    """Idempotent. ``register_env`` alone is not enough in v0.7.0: ``create_env`` also looks the
    actor's class up in ``ACTOR_ENVIRONMENT_REGISTRY`` for its Python executable."""
    from nemo_rl.data.processors import PROCESSOR_REGISTRY, register_processor
    from nemo_rl.distributed.ray_actor_environment_registry import ACTOR_ENVIRONMENT_REGISTRY
    from nemo_rl.distributed.virtual_cluster import PY_EXECUTABLES
    from nemo_rl.environments.utils import ENV_REGISTRY, register_env

    from .actor import FQN
    from .processor import swe_data_processor

    if name not in ENV_REGISTRY:
        register_env(name, FQN)
    ACTOR_ENVIRONMENT_REGISTRY.setdefault(FQN, PY_EXECUTABLES.SYSTEM)
    if name not in PROCESSOR_REGISTRY:
        register_processor(name, swe_data_processor)
