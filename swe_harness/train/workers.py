"""``EnvWorkers``: the env's episodes spread over the engine nodes (``placement: per_node``).

One :class:`EnvWorker` actor per node that announces the ``swe_engine`` resource, placed there
by :class:`~swe_harness.distributed.RayExecutor`. Each holds its own :class:`SweEnv`: its warm
pool, its node's Docker engine, its reward cache. ``EnvWorkers`` only routes. A new sample goes
to the worker with the fewest live episodes per engine slot; every later step of that sample
goes to the same worker, where its container is. A batch is split by worker, sent to all of
them at once and put back in order. So observations, rewards, terminations, metadata and
exclusions are those of ``SweEnv`` itself, and the episode metrics are the workers' windows
summed.

A worker that dies (its node lost) takes its episodes with it. It gets no more samples, and the
next step of each of its episodes goes to another worker, which does not hold it and excludes it
as an infrastructure error (reward None, never 0.0), as a restarted local env does.
"""

from __future__ import annotations

import threading
import time

from .env import EnvStep, EpisodeMetrics, SweEnv

MAX_CONCURRENCY = 1000  # as SweEnvActor: async rollouts send many concurrent one-sample steps


class EnvWorker:
    """One node's :class:`SweEnv`, in a Ray actor on that node."""

    def __init__(self, config: dict, run: str):
        from ..distributed import _join_run

        _join_run(run)  # one run label on the containers of every node
        self.env = SweEnv(config)

    def step(self, message_logs: list[list[dict]], metadata: list[dict | None]) -> EnvStep:
        return self.env.step(message_logs, metadata)

    def metric_counts(self, reset: bool) -> dict:
        return self.env.metrics.counts(reset)

    def live_episodes(self) -> int:
        return self.env.live_episodes()

    def shutdown(self) -> None:
        self.env.shutdown()


class _Metrics:
    """``SweEnv.metrics``' ``snapshot`` over every worker: their windows summed."""

    def __init__(self, workers: EnvWorkers):
        self._workers = workers

    def snapshot(self, reset: bool = True) -> dict[str, float]:
        total = EpisodeMetrics()
        for counts in self._workers._each("metric_counts", reset):
            total.add(counts)
        return total.snapshot()


class EnvWorkers:
    """``SweEnv``'s ``step``, ``metrics``, ``live_episodes`` and ``shutdown``, served by one
    worker per engine node of the running Ray cluster (a local one is started without it)."""

    def __init__(self, config: dict):
        from .. import sandbox
        from ..distributed import RESOURCE, RayExecutor, _node_start, _ray

        self._ray = _ray()
        self.ex = RayExecutor()
        self.run = sandbox.run_id()
        # reaps what dead owners left on each engine; a node whose engine does not answer
        # gets no worker
        answers = self.ex.on_each_node(_node_start, self.run, [], [])
        for node, answer in answers.items():
            if not isinstance(answer, dict):
                print(f"[swe_harness] no env worker on {node.address}: {answer!r}", flush=True)
        self.nodes = [node for node, answer in answers.items() if isinstance(answer, dict)]
        if not self.nodes:
            raise RuntimeError(
                f"placement per_node: no Ray node with a working container engine announces the "
                f"resource {RESOURCE!r} (ray start --resources '{{\"{RESOURCE}\": 8}}' on each "
                f"engine node), or set env.swe_harness.placement=local")
        self.workers = [self.ex.start_actor(EnvWorker, dict(config), self.run, node=node,
                                            max_concurrency=MAX_CONCURRENCY)
                        for node in self.nodes]
        self._ray.get([worker.live_episodes.remote() for worker in self.workers])  # each is up
        self.stale_s = float(config.get("stale_episode_s") or 7200)
        self.metrics = _Metrics(self)
        self._lock = threading.Lock()
        self._where: dict[str, list] = {}  # episode key -> [worker, last seen]
        self._starting = [0] * len(self.workers)  # new samples in flight, per worker
        self._dead: set[int] = set()
        self._closed = False

    # -- the batch step ------------------------------------------------------------------------
    def step(self, message_logs: list[list[dict]], metadata: list[dict | None]) -> EnvStep:
        """``SweEnv.step``: each sample on its worker, every worker at once, results in order."""
        if self._closed:
            raise RuntimeError("EnvWorkers is shut down")
        results: list = [None] * len(message_logs)
        todo = list(range(len(message_logs)))
        while todo:  # once more for the samples of a worker lost on the way
            with self._lock:
                self._forget_stale()
                load = list(self._starting)
                for worker, _ in self._where.values():
                    load[worker] += 1
                routes = {i: self._route(metadata[i], load) for i in todo}
            calls = {}
            for worker in sorted(set(routes.values())):
                mine = [i for i in todo if routes[i] == worker]
                calls[worker] = (mine, self.workers[worker].step.remote(
                    [message_logs[i] for i in mine], [metadata[i] for i in mine]))
            todo = []
            for worker, (mine, ref) in calls.items():
                try:
                    out = self._ray.get(ref)
                except self._ray.exceptions.RayActorError as exc:
                    self._lose(worker, exc)
                    todo += mine
                    continue
                for j, i in enumerate(mine):
                    results[i] = tuple(column[j] for column in out)
                self._settle(worker, [metadata[i] for i in mine], out)
        if not results:
            return EnvStep([], [], [], [], [], [])
        return EnvStep(*(list(column) for column in zip(*results)))

    def _route(self, meta: dict | None, load: list[int]) -> int:
        """The worker holding the sample's episode, else the live one with the least ``load``
        (live episodes and new samples) per engine slot. A sample whose episode no live worker
        holds goes there too, to be excluded as the local env excludes it."""
        alive = [w for w in range(len(self.workers)) if w not in self._dead]
        if not alive:
            raise RuntimeError("every env worker is gone (their nodes were lost)")
        key = (meta or {}).get("episode")
        entry = self._where.get(key) if key is not None else None
        if entry is not None:
            entry[1] = time.monotonic()
            return entry[0]
        worker = min(alive, key=lambda w: (load[w] / self.nodes[w].slots, w))
        if key is None:
            load[worker] += 1
            self._starting[worker] += 1
        return worker

    def _settle(self, worker: int, sent: list[dict | None], out: EnvStep) -> None:
        """Keep each continuing episode on ``worker``; forget the ended ones."""
        with self._lock:
            if worker in self._dead:
                return
            for meta, terminated, after in zip(sent, out.terminateds, out.metadata):
                key = (meta or {}).get("episode")
                if key is None:
                    self._starting[worker] -= 1
                if terminated:
                    self._where.pop(key, None)
                else:
                    self._where[after["episode"]] = [worker, time.monotonic()]

    def _forget_stale(self) -> None:
        """Episodes NeMo-RL stopped calling (their worker's env closes them after as long)."""
        old = time.monotonic() - self.stale_s
        for key, (_, seen) in list(self._where.items()):
            if seen < old:
                del self._where[key]

    def _lose(self, worker: int, exc: Exception) -> None:
        node = self.nodes[worker]
        print(f"[swe_harness] env worker on {node.address} lost, its episodes with it: {exc!r}",
              flush=True)
        with self._lock:
            self._dead.add(worker)
            for key in [k for k, (w, _) in self._where.items() if w == worker]:
                del self._where[key]

    def _each(self, method: str, *args) -> list:
        """``method(*args)`` on every live worker at once; a lost worker answers nothing."""
        calls = {w: getattr(self.workers[w], method).remote(*args)
                 for w in range(len(self.workers)) if w not in self._dead}
        out = []
        for worker, ref in calls.items():
            try:
                out.append(self._ray.get(ref))
            except self._ray.exceptions.RayActorError as exc:
                self._lose(worker, exc)
        return out

    # -- bookkeeping ---------------------------------------------------------------------------
    def live_episodes(self) -> int:
        return sum(self._each("live_episodes"))

    def shutdown(self) -> None:
        """Every worker closes its episodes and pool; then the workers go, and each node
        removes what this run's lost workers left on its engine."""
        from ..distributed import _node_finish

        if self._closed:
            return
        self._closed = True
        self._each("shutdown")
        for worker in self.workers:
            self._ray.kill(worker)
        self.ex.on_each_node(_node_finish, self.run)
        self.ex.close()
