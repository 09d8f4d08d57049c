"""``SweEnv``: the pure core of the NeMo-RL environment (no NeMo-RL, Ray or torch import).

One batched ``step`` per rollout turn: for every sample, the last assistant message goes into its
:class:`~swe_harness.agent.Episode` (the same state machine the rollout runner drives), and the
commands of all samples run in parallel, since NeMo-RL waits for the whole batch before it
generates again. Facts of NeMo-RL v0.7.0 this follows (``nemo_rl/experience/rollouts.py``):

- rewards are summed over turns: 0.0 until the episode's final evaluation;
- at ``grpo.max_rollout_turns`` the rollout stops without calling the env again, so the episode's
  turn budget is ``min(agent.step_limit, max_turns)`` and it is evaluated on its last turn;
- observations are tokenized raw and appended: they carry the chat-template glue (:mod:`.glue`);
- a sample whose observation overflows ``max_total_sequence_length`` is cut and marked
  ``truncated``; with ``grpo.overlong_filtering`` its ``loss_multiplier`` becomes 0. That is the
  only per-sample exclusion an env can reach, so an infrastructure error (reward None) ends the
  episode with an observation that fills the context.

Metadata carried through NeMo-RL stays small (ids and counters); containers stay here.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

from ..hookspecs import hookimpl
from .glue import ChatTokenizer, derive_glue, load_chat_tokenizer, strip_thinking


class EnvStep(NamedTuple):
    """NeMo-RL's ``EnvironmentReturn`` fields, in its order, as plain lists (the actor makes the
    tensors)."""

    observations: list[dict[str, str]]
    metadata: list[dict | None]
    next_stop_strings: list[list[str] | None]
    rewards: list[float]
    terminateds: list[bool]
    answers: list[str | None]


class EpisodeMetrics:
    """Per-window episode statistics; also a ``swe_harness_eval_result`` observer for the
    evaluations' seconds. ``snapshot()`` returns and resets the window; ``counts()`` and
    ``add()`` carry a window's raw counts between processes (one window from many envs)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._reset()

    def _reset(self):
        self.episodes = 0
        self.resolved = 0
        self.infra = 0
        self.steps = 0
        self.endings: Counter = Counter()
        self.eval_seconds: list[float] = []
        self.evals_cached = 0

    @hookimpl
    def swe_harness_eval_result(self, task, result, reward):
        with self._lock:
            if result.cached:
                self.evals_cached += 1
            else:
                self.eval_seconds.append(float(result.duration_s.get("total", 0.0)))

    def episode(self, ending: str, steps: int, reward: float | None) -> None:
        with self._lock:
            self.episodes += 1
            self.steps += steps
            self.endings[ending] += 1
            self.resolved += reward == 1.0
            self.infra += reward is None

    def counts(self, reset: bool = True) -> dict:
        with self._lock:
            out = {"episodes": self.episodes, "resolved": self.resolved, "infra": self.infra,
                   "steps": self.steps, "endings": dict(self.endings),
                   "eval_seconds": list(self.eval_seconds), "evals_cached": self.evals_cached}
            if reset:
                self._reset()
            return out

    def add(self, counts: dict) -> None:
        with self._lock:
            for name in ("episodes", "resolved", "infra", "steps", "evals_cached"):
                setattr(self, name, getattr(self, name) + counts[name])
            self.endings.update(counts["endings"])
            self.eval_seconds += counts["eval_seconds"]

    def snapshot(self, reset: bool = True) -> dict[str, float]:
        with self._lock:
            n = self.episodes
            scored = n - self.infra
            out = {
                "swe/episodes": float(n),
                "swe/resolved_rate": self.resolved / scored if scored else 0.0,
                "swe/infra_error_rate": self.infra / n if n else 0.0,
                "swe/mean_steps": self.steps / n if n else 0.0,
                "swe/evals": float(len(self.eval_seconds)),
                "swe/evals_cached": float(self.evals_cached),
                "swe/eval_seconds_mean": (sum(self.eval_seconds) / len(self.eval_seconds)
                                          if self.eval_seconds else 0.0),
                "swe/eval_seconds_max": max(self.eval_seconds, default=0.0),
            }
            for ending, count in sorted(self.endings.items()):
                out[f"swe/ending/{ending}"] = count / n
            if reset:
                self._reset()
            return out


@dataclasses.dataclass
class _Live:
    episode: Any
    task: Any
    tokens: int
    turn: int = 0
    last_seen: float = dataclasses.field(default_factory=time.monotonic)


def _last_assistant(message_log: list[dict]) -> str:
    for message in reversed(message_log):
        if message.get("role") == "assistant":
            return str(message.get("content") or "")
    return ""


class SweEnv:
    """Episodes keyed by sample; see the module docstring. ``config`` is the ``env.swe_harness``
    section that :func:`swe_harness.train.config.to_nemo_rl` writes (a plain dict)."""

    def __init__(self, config: dict, *, tokenizer: ChatTokenizer | None = None, pm=None):
        from .. import rewards
        from ..agent.config import config_from_mapping
        from ..evaluate import EvalOptions

        self.config = dict(config)
        self.max_turns = int(config.get("max_turns") or 10**9)
        agent = config_from_mapping(config["agent"])
        self.agent_config = dataclasses.replace(agent, step_limit=min(agent.step_limit,
                                                                      self.max_turns))
        self.tokenizer = tokenizer or load_chat_tokenizer(config["tokenizer"])
        self.glue = derive_glue(self.tokenizer, config.get("observation_role", "user"))
        self.thinking_tags = config.get("thinking_tags", ("<think>", "</think>")) or None
        self.max_seq_len = int(config.get("max_seq_len") or 10**9)
        self.max_new_tokens = int(config.get("max_new_tokens") or 0)
        self.eval_retries = int(config.get("eval_retries", 1))
        self.stale_s = float(config.get("stale_episode_s") or 7200)
        sandbox = config.get("sandbox") or {}
        self._cache_dir = (tempfile.mkdtemp(prefix="swe-train-cache-")
                           if sandbox.get("reward_cache", True) else None)
        self.eval_options = EvalOptions(build=sandbox.get("build", "missing"),
                                        timeout_s=sandbox.get("eval_timeout_s"),
                                        memory=sandbox.get("memory", "4g"),
                                        pids=int(sandbox.get("pids", 2048)),
                                        cache_dir=self._cache_dir)
        self.metrics = EpisodeMetrics()
        self.pm = pm or rewards.plugin_manager()
        self.pm.register(self.metrics)
        self._episodes_path = config.get("episodes_path")
        self._tasks = None
        self._tasks_lock = threading.Lock()
        self._lock = threading.Lock()
        self._live: dict[str, _Live] = {}
        self._pool = ThreadPoolExecutor(max(1, int(config.get("max_workers", 32))),
                                        thread_name_prefix="swe-env")
        self._closed = False
        self._warm = int(sandbox.get("warm_pool", 0))
        self._containers = None  # the warm pool every episode takes its container from

    def pool(self):
        from .. import sandbox

        with self._lock:
            if self._containers is None:
                limits = sandbox.Limits(memory=self.agent_config.memory,
                                        pids=self.agent_config.pids)
                self._containers = sandbox.WarmPool(size=self._warm, limits=limits)
            return self._containers

    # -- tasks ---------------------------------------------------------------------------------
    def tasks(self) -> dict:
        """Every task of the configured sources by instance id (loaded once)."""
        with self._tasks_lock:
            if self._tasks is None:
                from ..task import load_tasks

                tasks, errors = load_tasks(self.config.get("tasks") or [])
                for error in errors:
                    print(f"[swe_harness] task not loaded: {error}", flush=True)
                self._tasks = {t.instance_id: _with_build_context(t) for t in tasks}
            return self._tasks

    # -- the batch step ------------------------------------------------------------------------
    def step(self, message_logs: list[list[dict]], metadata: list[dict | None]) -> EnvStep:
        """One turn of every sample in the batch; commands run in parallel."""
        if self._closed:
            raise RuntimeError("SweEnv is shut down")
        self._close_stale()
        results = list(self._pool.map(self._step_one, message_logs, metadata))
        return EnvStep(*(list(column) for column in zip(*results))) if results else EnvStep(
            [], [], [], [], [], [])

    def _step_one(self, message_log: list[dict], meta: dict | None):
        meta = dict(meta or {})
        live = None
        if meta.get("prompt_too_long"):  # the processor masked it already; start nothing
            return ({"role": self.glue.role, "content": ""}, meta, None, 0.0, True, None)
        try:
            live, meta = self._live_episode(meta)
            reply = _last_assistant(message_log)
            live.tokens += self.tokenizer.count(reply) + 1  # + the EOS that ended generation
            live.turn += 1
            live.last_seen = time.monotonic()
            step = live.episode.step(strip_thinking(reply, self.thinking_tags))
            if not step.done and live.turn >= self.max_turns:
                live.episode.end("step_limit")
            elif not step.done:
                text = self.glue.wrap(step.observation or "")
                needed = self.tokenizer.count(text)
                if live.tokens + needed + self.max_new_tokens > self.max_seq_len:
                    live.episode.end("context_limit")
                else:
                    live.tokens += needed
                    meta["turn"] = live.turn
                    return ({"role": self.glue.role, "content": text}, meta, None, 0.0, False,
                            None)
            return self._finish(live, meta)
        except Exception as exc:  # an env fault is this sample's infra error, never the batch's
            print(f"[swe_harness] infra error in {meta.get('instance_id')}: {exc!r}", flush=True)
            if live is not None:
                self._drop(live, meta)
            self.metrics.episode("infra_error", meta.get("turn", 0) + 1, None)
            return self._excluded(meta, f"infra_error: {exc}")

    def _live_episode(self, meta: dict) -> tuple[_Live, dict]:
        key = meta.get("episode")
        if key is not None:
            with self._lock:
                live = self._live.get(key)
            if live is None:
                raise RuntimeError(f"episode {key} is not held by this environment (restarted?)")
            return live, meta
        from ..agent.episode import Episode

        iid = meta.get("instance_id")
        task = self.tasks().get(iid)
        if task is None:
            raise KeyError(f"instance {iid!r} is in none of the task sources "
                           f"{self.config.get('tasks')}")
        episode = Episode(task, self.agent_config, pool=self.pool(), eval_options=self.eval_options,
                          pm=self.pm)
        live = _Live(episode, task, int(meta.get("prompt_tokens") or 0))
        key = uuid.uuid4().hex
        with self._lock:
            self._live[key] = live
        try:
            episode.start()
        except Exception:
            self._drop(live, {"episode": key})
            raise
        return live, {**meta, "episode": key, "turn": 0}

    def _finish(self, live: _Live, meta: dict):
        try:
            result = live.episode.result()
        finally:
            self._drop(live, meta)
        reward = result.reward
        retries = self.eval_retries
        while reward is None and result.ending != "infra_error" and result.patch is not None \
                and retries > 0:
            reward = self._evaluate_again(live.task, result.patch)
            retries -= 1
        self.metrics.episode(result.ending, result.steps, reward)
        self._record(live, result, reward)
        final = {"instance_id": meta.get("instance_id"), "ending": result.ending,
                 "steps": result.steps, "status": result.status, "reward": reward}
        if reward is None:
            return self._excluded(final, f"infra_error: {result.ending}")
        return ({"role": self.glue.role, "content": ""}, final, None, float(reward), True, None)

    def _evaluate_again(self, task, patch: str) -> float | None:
        from ..evaluate import evaluate
        from ..rewards import reward_for

        return reward_for(task, evaluate(task, patch, "model", self.eval_options, self.pm), self.pm)

    def _excluded(self, meta: dict, why: str):
        """Terminate with reward 0.0 and an observation longer than any context, so NeMo-RL marks
        the sample truncated and overlong filtering gives it loss multiplier 0."""
        filler = (self.tokenizer.eos_token or " ") * (self.max_seq_len + 1)
        return ({"role": self.glue.role, "content": filler}, {**meta, "excluded": why}, None, 0.0,
                True, None)

    # -- bookkeeping ---------------------------------------------------------------------------
    def _drop(self, live: _Live, meta: dict) -> None:
        with self._lock:
            for key in [k for k, v in self._live.items() if v is live]:
                del self._live[key]
        try:
            live.episode.close()
        except Exception as exc:
            print(f"[swe_harness] closing an episode failed: {exc!r}", flush=True)

    def _close_stale(self) -> None:
        """Episodes NeMo-RL stopped calling (it truncated them without telling the env)."""
        now = time.monotonic()
        with self._lock:
            stale = [v for v in self._live.values() if now - v.last_seen > self.stale_s]
        for live in stale:
            self._drop(live, {})

    def _record(self, live: _Live, result, reward) -> None:
        if not self._episodes_path:
            return
        line = {"instance_id": live.task.instance_id, "ending": result.ending,
                "steps": result.steps, "status": result.status, "reward": reward,
                "eval_s": (result.eval_result.duration_s.get("total")
                           if result.eval_result is not None else None), "time": time.time()}
        path = Path(self._episodes_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")

    def live_episodes(self) -> int:
        with self._lock:
            return len(self._live)

    def shutdown(self) -> None:
        """Close every open episode (their containers go) and drop the reward cache."""
        self._closed = True
        with self._lock:
            lives = list(self._live.values())
        for live in lives:
            self._drop(live, {})
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._containers is not None:
            self._containers.close()
        from .. import sandbox

        sandbox.settle()  # the evaluations' containers, removed in the background
        if self._cache_dir:
            shutil.rmtree(self._cache_dir, ignore_errors=True)


def _with_build_context(task):
    """Rows written by ``prepare`` carry the task dir's build context in an extra column."""
    context = task.extra.get("build_context")
    if task.build_context is None and context and Path(context, "Dockerfile").is_file():
        return dataclasses.replace(task, build_context=context)
    return task
