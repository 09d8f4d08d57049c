"""``python -m swe_harness.rollout``: N tasks x K samples of agent episodes.

    python -m swe_harness.rollout tasks=tasks/ output_dir=out samples=2 concurrency=4 \\
        model=scripted model.script=replies.jsonl
    python -m swe_harness.rollout tasks=tasks/ output_dir=out model=openai \\
        model.base_url=http://localhost:8000/v1 model.name=Qwen/Qwen3-8B

Writes ``trajectories.jsonl`` (one line per episode, appended as each ends), ``preds.jsonl``
(SWE-bench predictions of sample 0, so ``pytest --swe-tasks ... --swe-patch preds.jsonl``
re-scores them; ``preds.sample<k>.jsonl`` for the other samples) and ``summary.json``
(resolved rate, unbiased pass@k, endings, mean steps; infra errors counted apart). A second run
into the same directory skips the episodes that already have a reward.
"""

from __future__ import annotations

import json
import math
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from .agent.config import CONFIG_DIR, ConfigError, config_from_mapping
from .agent.episode import Episode
from .agent.models import ContextLimitExceeded, ModelError, ScriptedModel
from .evaluate import EvalOptions
from .task import Task, load_tasks


class RolloutError(Exception):
    """Bad rollout input (config, script file); names the file or the field."""


# ---------------------------------------------------------------- models


def load_script(path: str | Path) -> dict[str, list[str]]:
    """JSONL of ``{"instance_id", "replies": [...]}`` -> replies per instance."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise RolloutError(f"{path}: cannot read the script: {exc}") from exc
    script: dict[str, list[str]] = {}
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RolloutError(f"{path}:{lineno}: invalid JSON: {exc.msg}") from exc
        iid = record.get("instance_id") if isinstance(record, dict) else None
        replies = record.get("replies") if isinstance(record, dict) else None
        if not isinstance(iid, str) or not iid:
            raise RolloutError(f"{path}:{lineno}: field 'instance_id' missing or not a string")
        if not isinstance(replies, list) or not all(isinstance(r, str) for r in replies):
            raise RolloutError(f"{path}:{lineno} [{iid}]: field 'replies' must be a list of "
                               "strings")
        script[iid] = replies
    return script


def model_factory(model_cfg: dict):
    """``(instance_id) -> Model`` for the model config (a fresh scripted model per episode,
    one shared endpoint client)."""
    kind = model_cfg.get("kind")
    if kind == "scripted":
        if not model_cfg.get("script"):
            raise RolloutError("model=scripted needs model.script=FILE")
        script = load_script(model_cfg["script"])

        def scripted(instance_id: str):
            if instance_id not in script:
                raise ModelError(f"{model_cfg['script']}: no replies for {instance_id}")
            return ScriptedModel(script[instance_id])
        return scripted
    if kind == "openai":
        from .agent.models import OpenAIChatModel

        shared = OpenAIChatModel(
            model_cfg.get("name"), model_cfg.get("base_url"), model_cfg.get("api_key"),
            temperature=model_cfg.get("temperature"), top_p=model_cfg.get("top_p"),
            max_tokens=model_cfg.get("max_tokens"), stop=model_cfg.get("stop"),
            timeout_s=model_cfg.get("timeout_s") or 600,
            max_retries=int(model_cfg.get("max_retries", 5)),
            extra_body=model_cfg.get("extra_body"))
        return lambda instance_id: shared
    raise RolloutError(f"model.kind must be 'scripted' or 'openai', got {kind!r}")


# ---------------------------------------------------------------- one episode


def run_episode(task: Task, sample: int, model, config, *, pool=None,
                eval_options: EvalOptions = EvalOptions(), pm=None) -> dict:
    """Drive one episode with ``model`` to its end; the trajectory line."""
    episode = Episode(task, config, pool=pool, eval_options=eval_options, pm=pm)
    usage: Counter = Counter()
    model_error = None
    try:
        episode.start()
        while not episode.done:
            try:
                reply = model.query(list(episode.messages))
            except ContextLimitExceeded as exc:
                model_error = str(exc)
                episode.end("context_limit")
                break
            except ModelError as exc:
                model_error = str(exc)
                episode.end("infra_error")
                break
            usage.update({k: v for k, v in reply.usage.items() if isinstance(v, int)})
            episode.step(reply.text)
        result = episode.result()
    finally:
        episode.close()
    return {
        "instance_id": task.instance_id, "sample": sample, "ending": result.ending,
        "patch": result.patch, "status": result.status, "reward": result.reward,
        "steps": result.steps, "messages": episode.messages, "commands": result.commands,
        "usage": dict(usage), "timings": result.timings,
        "error": result.error or model_error,
        "eval": result.eval_result.report(result.reward) if result.eval_result else None,
    }


# ---------------------------------------------------------------- summary


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k (Chen et al. 2021): 1 - C(n-c, k) / C(n, k)."""
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def summarize(records: list[dict], samples: int) -> dict:
    by_task: dict[str, list[dict]] = {}
    for record in records:
        by_task.setdefault(record["instance_id"], []).append(record)
    scored = [r for r in records if r.get("reward") is not None]
    resolved = [r for r in scored if r["reward"] >= 1.0]
    summary = {
        "tasks": len(by_task), "samples": samples, "trajectories": len(records),
        "scored": len(scored), "infra_errors": len(records) - len(scored),
        "resolved": len(resolved),
        "resolved_rate": round(len(resolved) / len(scored), 4) if scored else None,
        "mean_reward": round(sum(r["reward"] for r in scored) / len(scored), 4) if scored else None,
        "endings": dict(Counter(r["ending"] for r in records)),
        "statuses": dict(Counter(str(r.get("status")) for r in records)),
        "mean_steps": round(sum(r["steps"] for r in records) / len(records), 3) if records else None,
        "usage": dict(sum((Counter(r.get("usage") or {}) for r in records), Counter())),
    }
    for k in range(1, samples + 1):
        values = []
        for runs in by_task.values():
            ok = [r for r in runs if r.get("reward") is not None]
            if len(ok) >= k:
                values.append(pass_at_k(len(ok), sum(r["reward"] >= 1.0 for r in ok), k))
        summary[f"pass@{k}"] = round(sum(values) / len(values), 4) if values else None
    return summary


def read_trajectories(path: Path) -> dict[tuple[str, int], dict]:
    """The last line per (instance_id, sample); unreadable lines (a killed run's torn last
    line) are skipped."""
    out: dict[tuple[str, int], dict] = {}
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
            out[(record["instance_id"], int(record["sample"]))] = record
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            continue
    return out


def write_outputs(out_dir: Path, records: list[dict], samples: int, extra: dict) -> dict:
    for k in range(samples):
        name = "preds.jsonl" if k == 0 else f"preds.sample{k}.jsonl"
        with open(out_dir / name, "w", encoding="utf-8") as fh:
            for record in sorted(records, key=lambda r: r["instance_id"]):
                if record["sample"] != k or record.get("reward") is None:
                    continue
                scored = record.get("status") is not None
                fh.write(json.dumps({"instance_id": record["instance_id"],
                                     "model_name_or_path": extra.get("model", "swe_harness"),
                                     "model_patch": (record["patch"] or "") if scored else ""})
                         + "\n")
    summary = {**summarize(records, samples), **extra}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


# ---------------------------------------------------------------- the run


def rollout(cfg: dict, log=print) -> dict:
    """The whole run from a plain config mapping (what hydra composed); returns the summary."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from . import sandbox

    started = time.monotonic()
    for key in ("tasks", "output_dir"):
        if cfg.get(key) in (None, "", "???"):
            raise RolloutError(f"{key}=... is required")
    samples, concurrency = int(cfg.get("samples", 1)), int(cfg.get("concurrency", 4))
    if samples < 1 or concurrency < 1:
        raise RolloutError("samples and concurrency must be at least 1")
    try:
        agent_config = config_from_mapping(cfg.get("agent") or {}, "agent config")
    except ConfigError as exc:
        raise RolloutError(str(exc)) from exc
    make_model = model_factory(dict(cfg.get("model") or {}))
    sources = cfg["tasks"] if isinstance(cfg["tasks"], (list, tuple)) else [cfg["tasks"]]
    tasks, errors = load_tasks(sources)
    for error in errors:
        log(f"[rollout] skipped: {error}")
    wanted = cfg.get("instance_ids")
    if wanted:
        tasks = [t for t in tasks if t.instance_id in set(wanted)]
    out_dir = Path(cfg["output_dir"])
    out_dir.mkdir(parents=True, exist_ok=True)
    traj_path = out_dir / "trajectories.jsonl"
    done = {key for key, r in read_trajectories(traj_path).items() if r.get("reward") is not None}
    jobs = [(t, k) for t in tasks for k in range(samples) if (t.instance_id, k) not in done]
    log(f"[rollout] {len(tasks)} tasks x {samples} samples: {len(jobs)} episodes to run, "
        f"{len(tasks) * samples - len(jobs)} already done")
    eval_options = EvalOptions(build=cfg.get("build") or "missing",
                               timeout_s=cfg.get("eval_timeout_s"))
    pool = sandbox.WarmPool(size=int(cfg.get("pool_size", 1)),
                            limits=sandbox.Limits(memory=agent_config.memory,
                                                  pids=agent_config.pids),
                            lifecycle_concurrency=int(cfg.get("lifecycle_concurrency", 4)))
    write_lock = threading.Lock()
    stopping = threading.Event()

    def one(task: Task, sample: int) -> dict:
        if stopping.is_set():
            raise KeyboardInterrupt
        try:
            model = make_model(task.instance_id)
        except ModelError as exc:
            model = _Failing(str(exc))
        record = run_episode(task, sample, model, agent_config, pool=pool,
                             eval_options=eval_options)
        with write_lock:
            if stopping.is_set():  # a run being torn down: its infra errors are not results
                raise KeyboardInterrupt
            with open(traj_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")
        return record

    previous = signal.getsignal(signal.SIGTERM)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_interrupt)
    sandbox.reap_in_background()  # containers of runs killed with SIGKILL
    executor = ThreadPoolExecutor(concurrency, thread_name_prefix="swe-episode")
    try:
        _prewarm(pool, jobs[:concurrency], agent_config, eval_options, log)
        futures = [executor.submit(one, t, k) for t, k in jobs]
        with _progress(bool(cfg.get("progress", True)), len(jobs)) as advance:
            for future in as_completed(futures):
                record = future.result()
                advance(record)
    except BaseException:
        stopping.set()
        executor.shutdown(wait=False, cancel_futures=True)
        pool.close()
        sandbox.quietly(sandbox.reap, sandbox.run_id())
        raise
    finally:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, previous)
    executor.shutdown(wait=True)
    pool.close()
    sandbox.settle()  # the evaluations' containers, removed in the background
    records = list(read_trajectories(traj_path).values())
    model_cfg = cfg.get("model") or {}
    summary = write_outputs(out_dir, records, samples, {
        "model": model_cfg.get("name") or model_cfg.get("kind"),
        "load_errors": [str(e) for e in errors], "wall_s": round(time.monotonic() - started, 2),
        "pool": dict(pool.stats)})
    log(f"[rollout] resolved {summary['resolved']}/{summary['scored']} "
        f"(pass@1 {summary['pass@1']}), infra errors {summary['infra_errors']}, "
        f"endings {summary['endings']} -> {out_dir}")
    return summary


class _Failing:
    def __init__(self, message: str):
        self.message = message

    def query(self, messages):
        raise ModelError(self.message)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def _prewarm(pool, jobs, agent_config, eval_options, log) -> None:
    """Prepare the agent images of the first episodes and start their containers (and shells)
    ahead."""
    from . import sandbox
    from .agent.episode import shell_setup

    for task in {t.image_name: t for t, _ in jobs}.values():
        try:
            pool.prewarm(sandbox.agent_image(task, eval_options.build, log),
                         setup=shell_setup(task, agent_config))
        except Exception as exc:  # the episode itself reports it as infra_error
            log(f"[rollout] {task.instance_id}: {exc}")


class _progress:
    """A rich progress bar (or nothing), advanced with each finished trajectory."""

    def __init__(self, enabled: bool, total: int):
        self.enabled, self.total = enabled and total > 0, total
        self.resolved = 0

    def __enter__(self):
        if not self.enabled:
            return lambda record: None
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn)

        self._bar = Progress(TextColumn("[bold]rollout"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("resolved {task.fields[resolved]}"),
                             TimeElapsedColumn(), transient=False)
        self._bar.__enter__()
        self._task = self._bar.add_task("episodes", total=self.total, resolved=0)

        def advance(record):
            self.resolved += (record.get("reward") or 0) >= 1.0
            self._bar.update(self._task, advance=1, resolved=self.resolved)
        return advance

    def __exit__(self, *exc):
        if self.enabled:
            self._bar.__exit__(*exc)


def _hydra_main(cfg) -> None:
    from omegaconf import OmegaConf

    try:
        rollout(OmegaConf.to_container(cfg, resolve=True))
    except RolloutError as exc:
        print(f"rollout: {exc}", file=sys.stderr)
        sys.exit(2)


def main() -> None:
    import hydra

    hydra.main(config_path=str(CONFIG_DIR), config_name="rollout", version_base="1.3")(
        _hydra_main)()


if __name__ == "__main__":
    main()
