"""The hooks of swe_harness (pluggy project ``swe_harness``).

Plugins implement them with ``@swe_harness.hookimpl`` and are found through the ``swe_harness``
entry-point group (or registered on the manager from :func:`swe_harness.rewards.plugin_manager`).
The defaults in :mod:`swe_harness.rewards` are ``trylast``, so a user plugin always wins.
The pytest plugin, the CLI and the trainer all get rewards only through ``swe_harness_reward``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .evaluate import EvalResult
    from .task import Task

PROJECT = "swe_harness"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec(firstresult=True)
def swe_harness_reward(task: Task, result: EvalResult) -> float | None:
    """The reward of one evaluation. The first non-None answer wins.

    Return ``None`` only for "no reward can be given" (an infrastructure error): trainers treat it
    as missing data, never as 0.0. Default: 1.0 iff ``result.status == "passed"``.
    """


@hookspec
def swe_harness_eval_result(task: Task, result: EvalResult, reward: float | None) -> None:
    """Observe each finished evaluation (logging, metrics). Return values are ignored."""


@hookspec
def swe_harness_protected_paths(task: Task) -> list[str]:
    """Repo paths or glob patterns a candidate patch may not touch, added to the defaults.

    Results of all implementations are joined. A pattern without ``/`` matches a file name in any
    directory (``conftest.py``); with ``/`` it matches the repo path (``tests/*``).
    """
