"""GRPO training with NeMo-RL v0.7.0 on SWE tasks: the environment, the data processor and the
config conversion. Stable public names (imported lazily, so ``import swe_harness.train`` pulls in
neither Ray, torch nor NeMo-RL):

- ``nemo_rl_config(overrides) -> dict``: our hydra config converted for NeMo-RL.
- ``SweEnvActor``: the Ray actor (NeMo-RL ``EnvironmentInterface``), ``SweEnvActor.remote(env_config)``.
- ``swe_data_processor``: NeMo-RL ``TaskDataProcessFnCallable`` for rows written by ``prepare``.
- ``register_with_nemo_rl()``: registers env, actor environment and processor as ``swe_harness``.
- ``SweEnv``: the pure core the actor wraps (no NeMo-RL import).
"""

from __future__ import annotations

import importlib

_LAZY = {
    "nemo_rl_config": "config", "to_nemo_rl": "config", "compose": "config",
    "SweEnv": "env", "EnvStep": "env",
    "SweEnvActor": "actor",
    "swe_data_processor": "processor",
    "register_with_nemo_rl": "registry",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
