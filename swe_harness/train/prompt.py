"""The opening messages of an episode, rendered from the agent config without a container.

``prepare`` writes them into the dataset and the training environment checks the live episode
against them. Once ``swe_harness.agent`` exposes its own renderer this module only forwards to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..task import Task

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
DEFAULT_AGENT_CONFIG = CONFIGS / "agent" / "default.yaml"


def load_config(path: str | Path | None = None, overrides: tuple[str, ...] = ()) -> Any:
    """The agent config (``swe_harness.agent``'s loader when present, else the YAML as a dict)."""
    try:
        from ..agent.config import load_agent_config
    except ImportError:
        load_agent_config = None
    if load_agent_config is not None:
        return load_agent_config(str(path) if path else None, overrides)
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(path or DEFAULT_AGENT_CONFIG)
    if overrides:
        cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist(list(overrides)))
    return OmegaConf.to_container(cfg, resolve=True)


def _get(config: Any, name: str, default: Any = None) -> Any:
    return config.get(name, default) if isinstance(config, dict) else getattr(config, name, default)


def _render(template: str, fields: dict) -> str:
    if "{{" in template or "{%" in template:
        import jinja2

        return jinja2.Template(template, undefined=jinja2.StrictUndefined).render(**fields)
    return template.format(**fields)


def opening_messages(task: Task, config: Any = None) -> list[dict[str, str]]:
    """``[system, user]`` for ``task``, from the config's ``system_template`` and
    ``instance_template``."""
    config = config if config is not None else load_config()
    fields = {"problem_statement": task.problem_statement, "workdir": task.workdir,
              "instance_id": task.instance_id, "repo": task.repo}
    try:
        from ..agent.prompt import opening_messages as agent_opening
    except ImportError:
        agent_opening = None
    if agent_opening is not None and not isinstance(config, dict):
        return agent_opening(config, **fields)
    fields.update(step_limit=_get(config, "step_limit"),
                  command_timeout_s=_get(config, "command_timeout_s"),
                  submit_marker=_get(config, "submit_marker"))
    return [{"role": "system", "content": _render(_get(config, "system_template"), fields)},
            {"role": "user", "content": _render(_get(config, "instance_template"), fields)}]
