"""The agent episode: prompts and limits, the reply parser, observations, the episode state
machine, the persistent shell and the models. ``swe_harness.rollout`` and the NeMo-RL
environment both drive :class:`Episode`; neither copies its loop.

Docker is imported lazily (the shell and the pool live on the sandbox's Docker edge).
"""

from .config import AgentConfig, load_agent_config
from .episode import ENDINGS, Episode, EpisodeResult, Step

__all__ = ["ENDINGS", "AgentConfig", "Episode", "EpisodeResult", "Step", "load_agent_config"]
