"""Default hook implementations and the plugin manager every consumer uses."""

from __future__ import annotations

import functools

import pluggy

from . import hookspecs
from .hookspecs import hookimpl


class DefaultRewards:
    """Binary reward: 1.0 iff the eval passed, None when no verdict could be had."""

    @hookimpl(trylast=True)
    def swe_harness_reward(self, task, result):
        if result.status == "error":
            return None
        return 1.0 if result.status == "passed" else 0.0


def plugin_manager(*plugins: object, entry_points: bool = True) -> pluggy.PluginManager:
    """A fresh manager with the defaults, installed ``swe_harness`` entry points and ``plugins``."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(DefaultRewards(), name="swe_harness.defaults")
    if entry_points:
        pm.load_setuptools_entrypoints(hookspecs.PROJECT)
    for plugin in plugins:
        pm.register(plugin)
    return pm


@functools.cache
def default_manager() -> pluggy.PluginManager:
    return plugin_manager()


def reward_for(task, result, pm: pluggy.PluginManager | None = None) -> float | None:
    """Ask the hook for the reward and tell the observers; the one place rewards come from."""
    pm = pm or default_manager()
    reward = pm.hook.swe_harness_reward(task=task, result=result)
    pm.hook.swe_harness_eval_result(task=task, result=result, reward=reward)
    return reward
