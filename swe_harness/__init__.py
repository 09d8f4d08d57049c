"""swe_harness: evaluate and train coding agents on SWE tasks with one evaluation path.

Public names only; Docker, torch, ray and nemo_rl are imported lazily where they are used.
"""

__version__ = "0.2.0"  # first: spec.py keys the reward cache on it

from .evaluate import EvalOptions, EvalResult, evaluate
from .hookspecs import hookimpl, hookspec
from .rewards import plugin_manager, reward_for
from .task import Task, TaskError, load_tasks

__all__ = [
    "EvalOptions", "EvalResult", "Task", "TaskError", "evaluate", "hookimpl", "hookspec",
    "load_tasks", "plugin_manager", "reward_for",
]
