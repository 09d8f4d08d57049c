"""Evaluations (and any per-node work, such as agent episodes) on a Ray cluster.

Each evaluation is one Ray task that calls the same :func:`swe_harness.evaluate.evaluate` on a
node with a container engine; the reward is still taken on the driver through
:func:`swe_harness.rewards.reward_for`, so report lines are those of a local run.

- A node announces how many evaluations its engine takes at once with the custom resource
  ``swe_engine`` (``ray start --resources '{"swe_engine": 4}'``). A node without it gets none.
- An evaluation goes to a node that holds its image when one has a free slot; a node with a free
  slot and none of its own images pending takes the oldest pending evaluation and makes the image
  itself (at most once per node: the file lock per image in :mod:`swe_harness.sandbox`).
- A node that dies mid-evaluation: Ray runs the task again elsewhere, ``max_retries`` times; when
  they run out the status is ``error`` (reward None), never a 0.0. Containers are labelled with
  the Ray worker's host and pid, so the next run on that node (which reaps dead owners first)
  removes what the dead node's engine still holds.

Ray is imported lazily; install it with the ``[ray]`` extra.
"""

from __future__ import annotations

import io
import os
import tarfile
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable

from . import rewards
from .evaluate import EvalOptions, EvalResult
from .hookspecs import hookimpl
from .task import Task

RESOURCE = "swe_engine"
MAX_RETRIES = 3  # system failures (a node or worker dying) only; evaluate() never raises
# `ray start --node-ip-address 127.0.0.1` is rewritten to the host's interface address; another
# loopback address is kept, so a local cluster never leaves the machine.
LOCAL_NODE_IP = "127.0.0.2"
LOCAL_OBJECT_STORE_BYTES = 200 * 1024 * 1024
NODE_CHECK_S = 2.0  # how often the driver looks for dead nodes while it places work


def _ray():
    try:
        import ray
    except ImportError as exc:
        raise RuntimeError("Ray is not installed: pip install 'swe_harness[ray]'") from exc
    return ray


@dataclass(frozen=True)
class EngineNode:
    """A live Ray node with a container engine: its id, address and ``swe_engine`` slots."""

    node_id: str
    address: str
    slots: int


class RayExecutor:
    """Placement-aware work on every node that has a container engine.

    ``address``: None or "local" starts a local cluster (``slots`` evaluations at once, ``num_cpus``
    CPUs); "auto" joins the running cluster; "HOST:PORT" joins that one. An already initialised Ray
    (a trainer's) is used as it is.
    """

    def __init__(self, address: str | None = None, *, slots: int = 2, num_cpus: int = 1,
                 max_retries: int = MAX_RETRIES):
        ray = _ray()
        self.max_retries = max_retries
        self.started = False
        if not ray.is_initialized():
            common = {"include_dashboard": False, "logging_level": "warning",
                      "log_to_driver": False, "configure_logging": False}
            if address in (None, "", "local"):
                ray.init(address="local", _node_ip_address=LOCAL_NODE_IP, num_cpus=num_cpus,
                         resources={RESOURCE: slots}, object_store_memory=LOCAL_OBJECT_STORE_BYTES,
                         **common)
            else:
                ray.init(address=address, **common)
            self.started = True
        self._contexts: dict[str, Any] = {}
        self._stop = threading.Event()

    def stop(self) -> None:
        """Make a :meth:`run` in another thread cancel what is in flight and return."""
        self._stop.set()

    def close(self) -> None:
        """Disconnect (and stop the cluster this executor started)."""
        if self.started:
            _ray().shutdown()
            self.started = False

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ generic, placement-aware API

    def nodes(self) -> list[EngineNode]:
        """Live nodes that announce a container engine, by address then id."""
        out = [EngineNode(n["NodeID"], n["NodeManagerAddress"], int(n["Resources"][RESOURCE]))
               for n in _ray().nodes()
               if n.get("Alive") and n.get("Resources", {}).get(RESOURCE, 0) >= 1]
        return sorted(out, key=lambda node: (node.address, node.node_id))

    def submit(self, fn: Callable, *args, node: EngineNode | str | None = None,
               strict: bool = False, resources: dict[str, float] | None = None,
               max_retries: int | None = None, **kwargs):
        """Run ``fn(*args, **kwargs)`` as a Ray task; returns its ObjectRef (``ray.get`` it, or
        ``.future()`` for a concurrent.futures.Future).

        By default it takes one engine slot (``{"swe_engine": 1}``) and no CPU: the work runs in
        containers. ``node`` places it there (``strict``: only there; otherwise there while that
        node lives, elsewhere when it dies). System failures are retried ``max_retries`` times.
        """
        options = _placement(node, strict, {RESOURCE: 1} if resources is None else resources)
        return _remote(fn).options(
            max_retries=self.max_retries if max_retries is None else max_retries,
            retry_exceptions=False, **options).remote(*args, **kwargs)

    def start_actor(self, cls: type, *args, node: EngineNode | str, max_concurrency: int = 1,
                    **kwargs):
        """An actor of ``cls`` on ``node`` and only there (it dies with it), holding no engine
        slot and no CPU: what it runs on the node's engine is its own to bound."""
        return _remote(cls).options(max_concurrency=max_concurrency, max_restarts=0,
                                    **_placement(node, True, {})).remote(*args, **kwargs)

    def on_each_node(self, fn: Callable, *args, timeout_s: float | None = 300,
                     **kwargs) -> dict[EngineNode, Any]:
        """``fn(*args, **kwargs)`` once on every engine node, no slot taken; an exception (the
        node died, ``fn`` raised, no answer in ``timeout_s``) is returned as that node's value."""
        ray = _ray()
        refs = {node: self.submit(fn, *args, node=node, strict=True, resources={},
                                  max_retries=0, **kwargs)
                for node in self.nodes()}
        out = {}
        for node, ref in refs.items():
            try:
                out[node] = ray.get(ref, timeout=timeout_s)
            except Exception as exc:  # a node lost or a failure there: that node's answer
                out[node] = exc
        return out

    # ------------------------------------------------------------ evaluations

    def evaluate(self, jobs: list[tuple[Task, str, str]], options: EvalOptions = EvalOptions(),
                 pm=None, on_line: Callable[[dict], None] = lambda line: None) -> list[dict]:
        """Evaluate (task, candidate, kind) triples across the cluster; report lines in job
        order. Rewards come from ``pm`` (the driver's hook) exactly as in a local run."""
        pm = pm or rewards.default_manager()
        lines: list[dict | None] = [None] * len(jobs)

        def finish(index: int, result: EvalResult) -> None:
            lines[index] = result.report(rewards.reward_for(jobs[index][0], result, pm))
            on_line(lines[index])

        self.run(jobs, options, pm, finish)
        return lines

    def run(self, jobs: list[tuple[Task, str, str]], options: EvalOptions, pm,
            on_result: Callable[[int, EvalResult], None]) -> None:
        """Evaluate the jobs, calling ``on_result(index, result)`` on the driver as each ends.
        ``pm`` answers the protected paths; rewards are the caller's."""
        from . import sandbox
        from .evaluate import protected_patterns

        ray = _ray()
        run = sandbox.run_id()
        images = sorted({task.image_name for task, _, _ in jobs})
        contexts = sorted({task.build_context for task, _, _ in jobs if task.build_context})
        answers = self.on_each_node(_node_start, run, images, contexts)
        # a node whose engine does not answer gets no work
        states = {node: state for node, state in answers.items() if isinstance(state, dict)}
        if not states:
            why = "; ".join(f"{node.address}: {str(exc).strip().splitlines()[-1][:300]}"
                            for node, exc in answers.items()) or "none is alive"
            for index, (task, _, kind) in enumerate(jobs):
                on_result(index, EvalResult(
                    task.instance_id, kind, "error", image=task.image_name,
                    error=f"no Ray node with a working container engine (resource "
                          f"{RESOURCE!r}): {why}", duration_s={"total": 0.0}))
            return
        missing_contexts = {c for state in states.values() for c in contexts
                            if c not in state["contexts"]}
        placer = Placer(jobs, {node: set(state["images"]) for node, state in states.items()})
        protected: dict[str, list[str]] = {}  # the driver's hook decides, as in a local run
        inflight: dict[Any, tuple[int, EngineNode, float]] = {}
        checked = time.monotonic()
        try:
            while (placer.pending or inflight) and not self._stop.is_set():
                if not inflight and not placer.load:  # every engine node is gone
                    for index in placer.drain():
                        task, _, kind = jobs[index]
                        on_result(index, EvalResult(
                            task.instance_id, kind, "error", image=task.image_name,
                            error="every Ray node with a container engine is gone",
                            duration_s={"total": 0.0}))
                    break
                for node, index in placer.assign():
                    task, candidate, kind = jobs[index]
                    if task.instance_id not in protected:
                        protected[task.instance_id] = protected_patterns(task, pm)
                    box = ([self._context_ref(task.build_context)]
                           if task.build_context in missing_contexts else [])
                    ref = self.submit(_evaluate_on_node, run, task, candidate, kind, options,
                                      protected[task.instance_id], box, node=node)
                    inflight[ref] = (index, node, time.monotonic())
                ready, _ = ray.wait(list(inflight), num_returns=1, timeout=NODE_CHECK_S)
                if time.monotonic() - checked > NODE_CHECK_S:  # stop placing work on dead nodes
                    placer.forget_dead({node.node_id for node in self.nodes()})
                    checked = time.monotonic()
                for ref in ready:
                    index, node, submitted = inflight.pop(ref)
                    placer.release(node)
                    on_result(index, self._result(ref, jobs[index], submitted))
        finally:
            for ref in inflight:
                ray.cancel(ref, force=True)
            self.on_each_node(_node_finish, run)

    def _result(self, ref, job: tuple[Task, str, str], submitted: float) -> EvalResult:
        ray = _ray()
        try:
            return ray.get(ref)
        except ray.exceptions.RayError as exc:  # retries exhausted: missing data, never a 0.0
            task, _, kind = job
            first = (str(exc).strip().splitlines() or [""])[0]
            return EvalResult(task.instance_id, kind, "error", image=task.image_name,
                              error=f"Ray task failed after {self.max_retries} retries: "
                                    f"{type(exc).__name__}: {first}"[:1000],
                              duration_s={"total": round(time.monotonic() - submitted, 3)})

    def _context_ref(self, path: str):
        """The task's build context, in the object store once, for nodes that lack the path."""
        if path not in self._contexts:
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
                tar.add(path, arcname=".")
            self._contexts[path] = _ray().put(buf.getvalue())
        return self._contexts[path]

    # ------------------------------------------------------------ images

    def prepare_images(self, tasks: list[Task], policy: str = "missing") -> dict[EngineNode, Any]:
        """Make every task's image on every engine node (each node builds or pulls each image at
        most once); per node {instance_id: "present" | "made" | "error: ..."}, or the exception
        that stopped that node."""
        from . import sandbox

        run = sandbox.run_id()
        contexts = sorted({t.build_context for t in tasks if t.build_context})
        present = [set(state["contexts"]) if isinstance(state, dict) else set()
                   for state in self.on_each_node(_node_start, run, [], contexts).values()]
        boxes = {c: [self._context_ref(c)] for c in contexts
                 if not all(c in held for held in present)}  # shipped only where it is missing
        return self.on_each_node(_prepare_images, run, tasks, policy, boxes,
                                 timeout_s=None)  # builds take as long as they take


class Placer:
    """Which pending evaluation goes to which node: an evaluation waits for a free slot on a node
    that holds its image; a node with a free slot and none of its images pending takes the oldest
    evaluation whose image no node holds, else the oldest of all (and then holds that image)."""

    def __init__(self, jobs: list[tuple[Task, str, str]], holders: dict[EngineNode, set[str]]):
        self.queues: OrderedDict[str, deque[int]] = OrderedDict()
        for index, (task, _, _) in enumerate(jobs):
            self.queues.setdefault(task.image_name, deque()).append(index)
        self.images = holders
        self.load = {node: 0 for node in holders}
        self.pending = len(jobs)

    def assign(self) -> Iterable[tuple[EngineNode, int]]:
        while self.pending:
            free = [node for node in self.images if self.load[node] < node.slots]
            if not free:
                return
            node = min(free, key=lambda n: self.load[n] / n.slots)
            image = self._pick(node)
            index = self.queues[image].popleft()
            if not self.queues[image]:
                del self.queues[image]
            self.images[node].add(image)
            self.load[node] += 1
            self.pending -= 1
            yield node, index

    def _pick(self, node: EngineNode) -> str:
        for image in self.queues:
            if image in self.images[node]:
                return image
        held = set().union(*self.images.values())
        for image in self.queues:
            if image not in held:
                return image
        return next(iter(self.queues))

    def release(self, node: EngineNode) -> None:
        if node in self.load:
            self.load[node] -= 1

    def drain(self) -> list[int]:
        indices = sorted(index for queue in self.queues.values() for index in queue)
        self.queues.clear()
        self.pending = 0
        return indices

    def forget_dead(self, alive: set[str]) -> None:
        for node in [n for n in self.images if n.node_id not in alive]:
            del self.images[node], self.load[node]


# ---------------------------------------------------------------- what runs on the nodes


_REMOTES: dict[Callable, Any] = {}


def _placement(node: EngineNode | str | None, strict: bool, resources: dict[str, float]) -> dict:
    """Ray options: no CPU, ``resources``, and on ``node`` when one is given."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    options: dict[str, Any] = {"num_cpus": 0, "resources": resources}
    if node is not None:
        node_id = node.node_id if isinstance(node, EngineNode) else node
        options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node_id, soft=not strict)
    return options


def _remote(fn: Callable):
    if fn not in _REMOTES:
        _REMOTES[fn] = _ray().remote(fn)
    return _REMOTES[fn]


class _ProtectedPaths:
    """The driver's answer to ``swe_harness_protected_paths``, replayed on the node."""

    def __init__(self, patterns: list[str]):
        self.patterns = patterns

    @hookimpl
    def swe_harness_protected_paths(self, task):
        return self.patterns


def _join_run(run: str) -> None:
    # Ray runs one task at a time per worker process, and a worker serves one driver (job)
    os.environ["SWE_HARNESS_RUN_ID"] = run


def _local_context(task: Task, box: list) -> Task:
    """The task with a build context that exists on this node (unpacked from the driver's)."""
    if not task.build_context or Path(task.build_context).is_dir() or not box:
        return task
    import hashlib

    from . import sandbox
    from filelock import FileLock

    data = _ray().get(box[0])
    dest = sandbox.LOCK_DIR / "contexts" / hashlib.sha256(data).hexdigest()[:16]
    with FileLock(str(dest) + ".lock"):
        if not dest.is_dir():
            tmp = dest.with_suffix(".tmp")
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                tar.extractall(tmp, filter="data")
            tmp.rename(dest)
    return replace(task, build_context=str(dest))


def _evaluate_on_node(run: str, task: Task, candidate: str, kind: str, options: EvalOptions,
                      protected: list[str], box: list) -> EvalResult:
    from . import sandbox
    from .evaluate import evaluate

    _join_run(run)
    if options.cache_dir:  # the reward cache is per node: one directory per run on each
        options = replace(options, cache_dir=str(sandbox.LOCK_DIR / "cache" / run))
    pm = rewards.plugin_manager(_ProtectedPaths(protected), entry_points=False)
    return evaluate(_local_context(task, box), candidate, kind, options, pm)


def _node_start(run: str, images: list[str], contexts: list[str]) -> dict:
    """Reap what dead owners left on this node's engine; say which images and build contexts it
    has. Raises (so the node gets no work) when its engine does not answer."""
    from . import sandbox

    _join_run(run)
    sandbox.quietly(sandbox.reap)  # best effort: containers come and go while it lists them
    return {"images": [name for name in images if sandbox._has_image(name)],
            "contexts": [path for path in contexts if Path(path).is_dir()]}


def _node_finish(run: str) -> None:
    """This run's containers left on the node (none unless a worker died), and its cache."""
    from . import sandbox
    from .cache import ResultCache

    ResultCache(sandbox.LOCK_DIR / "cache" / run).clear()
    sandbox.quietly(sandbox.reap, run)


def _prepare_images(run: str, tasks: list[Task], policy: str, boxes: dict[str, list]) -> dict:
    from . import sandbox

    _join_run(run)
    sandbox.quietly(sandbox.reap)
    out = {}
    for task in tasks:
        try:
            had = policy != "always" and sandbox._has_image(task.image_name)
            sandbox.ensure_image(_local_context(task, boxes.get(task.build_context, [])), policy)
            out[task.instance_id] = "present" if had else "made"
        except Exception as exc:  # one image failing never stops the others
            out[task.instance_id] = f"error: {str(exc).splitlines()[0][:300]}"
    return out
