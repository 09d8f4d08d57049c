"""The agent's prompts and limits, loaded from ``configs/agent/default.yaml`` with omegaconf."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent.parent.parent / "configs"
DEFAULT_CONFIG = CONFIG_DIR / "agent" / "default.yaml"


class ConfigError(ValueError):
    """An agent config that cannot be used; names the file and the field."""


@dataclass(frozen=True)
class AgentConfig:
    system_template: str
    instance_template: str
    format_error_template: str
    observation_template: str
    step_limit: int = 20
    command_timeout_s: float = 180
    max_format_errors: int = 3  # consecutive format errors that end the episode
    observation_max_chars: int = 10000  # head+tail truncation with a note of what was cut
    wall_clock_limit_s: float | None = None
    submit_marker: str = "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
    score_unsubmitted: bool = False  # True: score whatever diff the container holds
    memory: str = "4g"  # the agent container's memory (and memory+swap) limit
    pids: int = 2048  # the agent container's pids limit


def load_agent_config(path: str | Path | None = None, overrides: Sequence[str] = ()) -> AgentConfig:
    """The YAML at ``path`` (default: configs/agent/default.yaml) with ``key=value`` overrides."""
    import yaml
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    source = Path(path) if path else DEFAULT_CONFIG
    try:
        conf = OmegaConf.load(source)
        if overrides:
            conf = OmegaConf.merge(conf, OmegaConf.from_dotlist(list(overrides)))
        data = OmegaConf.to_container(conf, resolve=True)
    except (OSError, OmegaConfBaseException, yaml.YAMLError) as exc:
        raise ConfigError(f"{source}: cannot load agent config: {exc}") from exc
    return config_from_mapping(data, str(source))


def config_from_mapping(data: Mapping, source: str = "<agent config>") -> AgentConfig:
    """An AgentConfig from a plain mapping (a hydra node converted with ``to_container``)."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: an agent config must be a mapping")
    fields = {f.name: f for f in dataclasses.fields(AgentConfig)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{source}: unknown field(s) {', '.join(unknown)}")
    missing = [name for name, f in fields.items()
               if f.default is dataclasses.MISSING and data.get(name) is None]
    if missing:
        raise ConfigError(f"{source}: field(s) {', '.join(missing)} missing")
    values = {}
    for name, value in data.items():
        if value is None and fields[name].default is None:
            values[name] = None
            continue
        kind = type(fields[name].default) if fields[name].default is not dataclasses.MISSING else str
        if name == "wall_clock_limit_s":
            kind = float
        try:
            values[name] = _coerce(kind, value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{source}: field {name!r}: {exc}") from exc
    config = AgentConfig(**values)
    for name in ("step_limit", "max_format_errors", "observation_max_chars", "pids"):
        if getattr(config, name) < 1:
            raise ConfigError(f"{source}: field {name!r} must be at least 1")
    if config.command_timeout_s <= 0:
        raise ConfigError(f"{source}: field 'command_timeout_s' must be positive")
    return config


def _coerce(kind: type, value):
    if kind is bool:
        if not isinstance(value, bool):
            raise TypeError(f"expected true/false, got {value!r}")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise TypeError(f"expected a string, got {type(value).__name__}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected a number, got {value!r}")
    if kind is int and value != int(value):
        raise ValueError(f"expected an integer, got {value!r}")
    return kind(value)
