"""The opening messages of an episode on a task, without a container: the same rendering
``Episode.start()`` does (``swe_harness.agent.prompt``), so the prompt ``prepare`` writes into
the dataset is the one the live episode holds."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..agent.config import AgentConfig, load_agent_config
from ..agent.prompt import opening_messages as _render
from ..task import Task


def load_config(path: str | Path | None = None, overrides: Sequence[str] = ()) -> AgentConfig:
    """The agent config (default: ``configs/agent/default.yaml``)."""
    return load_agent_config(path, overrides)


def opening_messages(task: Task, config: AgentConfig | None = None) -> list[dict[str, str]]:
    return _render(config or load_config(), problem_statement=task.problem_statement,
                   workdir=task.workdir, instance_id=task.instance_id, repo=task.repo)
