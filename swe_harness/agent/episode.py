"""One episode: a state machine over one task container.

``start()`` gives the opening messages, ``step(reply)`` runs the reply's bash command and gives
the observation or the ending, ``result()`` reads the patch from the container (the harness
does, never the model) and scores it with ``evaluate()`` in a fresh container. The rollout
runner and the NeMo-RL environment both drive this class.

Endings: ``submitted``, ``step_limit``, ``format_errors`` (that many in a row),
``context_limit`` and other driver-observed ones (``end``), ``wall_clock_limit``, and
``infra_error`` (reward None) only for faults the agent cannot cause: the engine gone, the
container stopped or removed from outside, the image that cannot be prepared. A shell the agent
killed is restarted; a fork bomb or an OOM from what it ran is an observation; an unreadable
patch scores 0.0.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

from ..evaluate import EvalOptions, EvalResult, evaluate
from ..rewards import reward_for
from ..task import Task
from . import prompt
from .config import AgentConfig
from .rules import Rules

ENDINGS = ("submitted", "step_limit", "format_errors", "context_limit", "wall_clock_limit",
           "infra_error")
PATCH_TIMEOUT_S = 120
GIT = ["git", "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false",
       "-c", "core.pager=cat", "-c", "diff.external=", "-c", "color.ui=false"]


@dataclass
class Step:
    observation: str | None  # the next user message (None only when the episode ended with none)
    done: bool
    ending: str | None  # one of ENDINGS when done


@dataclass
class EpisodeResult:
    instance_id: str
    ending: str
    steps: int
    patch: str | None  # read by the harness from the container (git add -A; diff vs base)
    status: str | None  # EvalResult.status of the final evaluation (None if not evaluated)
    reward: float | None  # through rewards.reward_for; None = infra error
    eval_result: EvalResult | None
    commands: list[dict]  # {command, exit_code, duration_s, truncated, timed_out, restarted}
    timings: dict[str, float]
    error: str | None = None  # what broke, for infra_error


class Episode:
    """A state machine over one task container. One instance per (task, sample)."""

    def __init__(self, task: Task, config: AgentConfig, *, pool=None,
                 eval_options: EvalOptions = EvalOptions(), pm=None):
        self.task = task
        self.config = config
        self.eval_options = eval_options
        self.pm = pm
        self.messages: list[dict] = []
        self.commands: list[dict] = []
        self.timings: dict[str, float] = {}
        self.done = False
        self.ending: str | None = None
        self.error: str | None = None
        self._pool = pool
        self._own_pool = None
        self._container = None
        self._shell = None
        self._base: str | None = None
        self._rules: Rules | None = None
        self._started: float | None = None
        self._result: EpisodeResult | None = None

    # ------------------------------------------------------------ driving

    def start(self) -> list[dict]:
        """The opening messages; acquires the container (an infra failure ends the episode at
        once as ``infra_error``, with the messages still given)."""
        if self._started is not None:
            return list(self.messages)
        self._started = time.monotonic()
        self._rules = Rules(self.config)
        task = self.task
        self.messages = prompt.opening_messages(
            self.config, problem_statement=task.problem_statement, workdir=task.workdir,
            instance_id=task.instance_id, repo=task.repo)
        try:
            self._open()
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            self._finish("infra_error")
        self.timings["start"] = round(time.monotonic() - self._started, 4)
        return list(self.messages)

    def _open(self) -> None:
        from .. import sandbox
        from .shell import Shell

        t0 = time.monotonic()
        image = sandbox.agent_image(self.task, self.eval_options.build)
        t1 = time.monotonic()
        pool = self._pool
        if pool is None:
            limits = sandbox.Limits(memory=self.config.memory, pids=self.config.pids)
            pool = self._own_pool = sandbox.WarmPool(size=0, limits=limits)
        max_bytes = _max_output_bytes(self.config)
        self._container = pool.acquire(image, setup=shell_setup(self.task, self.config))
        t2 = time.monotonic()
        shell = self._container.prepared
        if not isinstance(shell, Shell) or shell.workdir != self.task.workdir:
            shell = _started_shell(self.task.workdir, max_bytes, self._container)
        shell.max_output_bytes = max_bytes
        self._shell = shell
        self._base = self._shell.head_commit
        self.timings.update(image=round(t1 - t0, 4), acquire=round(t2 - t1, 4),
                            shell=round(time.monotonic() - t2, 4))

    def step(self, reply: str) -> Step:
        """One assistant reply -> the observation, or the ending."""
        if self._rules is None:
            raise RuntimeError("Episode.step() before start()")
        if self.done:
            return Step(None, True, self.ending)
        self.messages.append({"role": "assistant", "content": reply})
        turn = self._rules.reply(reply)
        if turn.command is None:
            observation = turn.observation
        else:
            observation = self._run(turn.command)
            if observation is None:
                return Step(None, True, self.ending)
        if observation is not None:
            self.messages.append({"role": "user", "content": observation})
        ending = turn.ending or self._rules.after_observation()
        if ending:
            return self._stop(ending, observation)
        return Step(observation, False, None)

    @property
    def steps(self) -> int:
        return self._rules.steps if self._rules else 0

    def _run(self, command: str) -> str | None:
        from ..sandbox import ContainerGone

        try:
            result = self._shell.run(command, self._rules.command_timeout())
        except ContainerGone as exc:
            self.error = str(exc)
            self._finish("infra_error")
            return None
        except Exception as exc:  # the engine or the SDK failed under us: not the agent's doing
            self.error = f"{type(exc).__name__}: {exc}"
            self._finish("infra_error")
            return None
        text, truncated = prompt.observation(
            self.config, result.output, result.exit_code, tail=result.tail,
            dropped_bytes=result.dropped_bytes, timed_out=result.timed_out,
            restarted=result.restarted)
        self.commands.append({
            "command": command, "exit_code": result.exit_code,
            "duration_s": round(result.duration_s, 4), "truncated": truncated,
            "timed_out": result.timed_out, "restarted": result.restarted,
            "output_bytes": result.total_bytes})
        ending = self._rules.after_output(result.output)
        if ending:
            self._finish(ending)
            return None
        return text

    def end(self, ending: str) -> None:
        """An ending the driver observed (``context_limit``; ``infra_error`` when the model
        endpoint failed). No effect on a finished episode."""
        if ending not in ENDINGS:
            raise ValueError(f"ending must be one of {ENDINGS}, got {ending!r}")
        if not self.done:
            self._finish(ending)

    def _stop(self, ending: str, observation: str | None = None) -> Step:
        self._finish(ending)
        return Step(observation, True, ending)

    def _finish(self, ending: str) -> None:
        self.done, self.ending = True, ending

    # ------------------------------------------------------------ scoring

    def result(self) -> EpisodeResult:
        """After the episode ended: the patch, its evaluation in a fresh container and the
        reward from the ``swe_harness_reward`` hook. Idempotent; releases the container."""
        if self._result is not None:
            return self._result
        if not self.done:
            raise RuntimeError("Episode.result() before the episode ended")
        t0 = time.monotonic()
        patch = None
        if self.ending != "infra_error" and self._container is not None:
            patch = self._read_patch()
        t1 = time.monotonic()
        self.close()
        status, reward, eval_result = None, None, None
        if self.ending != "infra_error":
            reward = 0.0
            if patch is not None and (self.ending == "submitted" or self.config.score_unsubmitted):
                eval_result = evaluate(self.task, patch, "model", self.eval_options, self.pm)
                status = eval_result.status
                reward = reward_for(self.task, eval_result, self.pm)
        self.timings.update(patch=round(t1 - t0, 4), eval=round(time.monotonic() - t1, 4))
        if self._started is not None:
            self.timings["total"] = round(time.monotonic() - self._started, 4)
        self._result = EpisodeResult(
            self.task.instance_id, self.ending, self.steps, patch, status, reward, eval_result,
            list(self.commands), dict(self.timings), self.error)
        return self._result

    def _read_patch(self) -> str | None:
        """``git add -A`` and a binary diff against the base commit, run by the harness in the
        agent's container. None when the agent broke the repo (its doing: scores 0.0); a
        container gone from outside turns the episode into ``infra_error``."""
        from ..sandbox import ContainerGone

        if not self._base:
            return None
        script = (f'{" ".join(GIT)} add -A >/dev/null && {" ".join(GIT)} diff --cached '
                  f'--binary --no-ext-diff --no-textconv --no-color {self._base}')
        try:
            code, out = self._container.exec(["bash", "-c", script], timeout_s=PATCH_TIMEOUT_S,
                                             workdir=self.task.workdir)
        except ContainerGone as exc:
            self.error = str(exc)
            self._finish("infra_error")
            return None
        except Exception:
            return None
        if code != 0:
            return None
        return out.decode("utf-8", "replace")

    def close(self) -> None:
        """Release the container (removed off the critical path). Idempotent; safe in finally."""
        if self._shell is not None:
            self._shell.close()
            self._shell = None
        if self._container is not None:
            try:
                self._container.release()
            except Exception:
                pass
            self._container = None
        if self._own_pool is not None:
            self._own_pool.close()
            self._own_pool = None


def _max_output_bytes(config: AgentConfig) -> int:
    return max(64 << 10, 4 * config.observation_max_chars)


def shell_setup(task: Task, config: AgentConfig):
    """What a warm pool runs on a container of this task's agent image ahead of time: the
    episode's shell, opened and warmed (``pool.prewarm(image, setup=shell_setup(...))``)."""
    return functools.partial(_started_shell, task.workdir, _max_output_bytes(config), warm=True)


def _started_shell(workdir: str, max_output_bytes: int, container, warm: bool = False):
    """A session opened in ``container`` (by the pool ahead of time, or on demand); ``warm``
    runs ``true`` once so that the first real command pays no first-run costs."""
    from .shell import Shell

    shell = Shell(container, workdir, max_output_bytes=max_output_bytes)
    shell.start()
    if warm:
        shell.run("true", 30)
    return shell
