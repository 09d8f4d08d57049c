"""The episode's rules, pure: a reply becomes a command to run, a format error or an ending;
steps, format errors in a row and the wall clock are counted here. Tested on strings."""

from __future__ import annotations

import time
from dataclasses import dataclass

from . import prompt
from .action import is_submission, parse_action
from .config import AgentConfig


@dataclass(frozen=True)
class Turn:
    command: str | None = None  # run this, or:
    observation: str | None = None  # the format-error observation
    ending: str | None = None  # the episode ends (after the observation, when there is one)


class Rules:
    def __init__(self, config: AgentConfig, clock=time.monotonic):
        self.config = config
        self.clock = clock
        self.started = clock()
        self.steps = 0
        self.format_errors = 0  # in a row

    def reply(self, text: str) -> Turn:
        """One assistant reply costs one step, whether it holds a command or not."""
        self.steps += 1
        if self.out_of_time():
            return Turn(ending="wall_clock_limit")
        action = parse_action(text)
        if action.command is None:
            self.format_errors += 1
            ending = "format_errors" if self.format_errors >= self.config.max_format_errors else None
            return Turn(observation=prompt.format_error(self.config, action.error), ending=ending)
        self.format_errors = 0
        return Turn(command=action.command)

    def command_timeout(self) -> float:
        """The per-command timeout, never past the wall-clock limit (at least 1 s)."""
        timeout = self.config.command_timeout_s
        if self.config.wall_clock_limit_s is not None:
            left = self.config.wall_clock_limit_s - (self.clock() - self.started)
            timeout = max(1.0, min(timeout, left))
        return timeout

    def after_output(self, output: str) -> str | None:
        return "submitted" if is_submission(output, self.config.submit_marker) else None

    def after_observation(self) -> str | None:
        if self.steps >= self.config.step_limit:
            return "step_limit"
        if self.out_of_time():
            return "wall_clock_limit"
        return None

    def out_of_time(self) -> bool:
        limit = self.config.wall_clock_limit_s
        return limit is not None and self.clock() - self.started >= limit
