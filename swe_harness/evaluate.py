"""``evaluate(task, patch) -> EvalResult``: the one evaluation path.

spec (task + patch) → script (runner.sh + files) → container → outputs → status, as plain data.
The pytest plugin, the CLI and the trainer all call this and take the reward from the
``swe_harness_reward`` hook (:func:`swe_harness.rewards.reward_for`).
"""

from __future__ import annotations

import base64
import re
import time
from dataclasses import asdict, dataclass, field
from importlib import resources

from . import grading
from . import patch as patchlib
from .offline import offline_env
from .task import DEFAULT_TIMEOUT_S, Task

LOG_BYTES = 1 << 20  # eval output kept per evaluation (the tail)
LOG_TAIL_CHARS = 4000  # of which this much goes into the report line
# Inputs up to this size (base64 of the gzipped tar) travel in an environment variable of the
# create call; Linux caps one variable at 128 KiB. Larger ones are copied in with put_archive.
INLINE_INPUT_BYTES = 96 * 1024
UNPACK_AND_RUN = ["bash", "-c", 'mkdir -p /swe && printf %s "$SWE_INPUT" | base64 -d | '
                  'tar -xzf - -C / && unset SWE_INPUT && exec bash /swe/run.sh']
GITCONFIG = "[safe]\n\tdirectory = *\n[user]\n\tname = swe_harness\n\temail = swe_harness@localhost\n"


@dataclass
class EvalResult:
    instance_id: str
    patch: str  # "gold" | "empty" | "test-only" | "model"
    status: str
    exit_code: int | None = None
    apply_method: str | None = None
    duration_s: dict[str, float] = field(default_factory=dict)
    image: str | None = None
    evidence: str = "none"
    log_tail: str = ""
    error: str | None = None  # what broke, when status == "error"
    detail: str | None = None  # why a verdict is what it is (rejections, missing evidence)
    cached: bool = False  # replayed from an identical evaluation earlier in this run
    log: str = field(default="", repr=False)  # the whole kept eval log; not in the report line

    def report(self, reward: float | None) -> dict:
        """One report line (schema in ARCHITECTURE.md); ``error``/``detail`` only when set."""
        line = asdict(self)
        line["reward"] = reward
        del line["log"]
        for key in ("error", "detail"):
            if line[key] is None:
                del line[key]
        return line


@dataclass(frozen=True)
class EvalOptions:
    build: str = "missing"
    timeout_s: float | None = None  # overrides the task's
    memory: str = "4g"
    pids: int = 2048
    cache_dir: str | None = None  # the run's reward cache (see cache.py); None: always evaluate


def eval_timeout(task: Task, options: EvalOptions) -> float:
    return options.timeout_s or task.timeout_s or DEFAULT_TIMEOUT_S


def candidate_problems(candidate: str, protected: tuple[str, ...] | list[str] = ()) -> str | None:
    """Why a candidate is refused before any container starts, or None."""
    if candidate.strip() and not patchlib.looks_like_diff(candidate):  # blank = the empty patch
        return "not a unified diff"
    bad = patchlib.unsafe_paths(candidate)
    if bad:
        return "writes outside the repository: " + ", ".join(bad)
    violations = patchlib.protected_violations(candidate, protected)
    if violations:
        return "touches what judges it: " + "; ".join(violations)
    return None


def protected_patterns(task: Task, pm=None) -> list[str]:
    """The default protected paths plus every ``swe_harness_protected_paths`` answer."""
    from .rewards import default_manager

    extra = (pm or default_manager()).hook.swe_harness_protected_paths(task=task)
    return [*patchlib.DEFAULT_PROTECTED, *(p for answer in extra for p in answer)]


_SCRIPT_TEST_PATH = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]*test[\w.-]*\.py)\b")


def reset_files(task: Task, candidate: str = "") -> list[str]:
    """Paths reset to the base commit after the candidate is applied (modified ones checked
    out, added ones removed): every path the test patch touches, the task's declared test files,
    the test files the eval script names, and every test file the candidate touches."""
    named = {m.group(1) for m in _SCRIPT_TEST_PATH.finditer(task.eval_script)}
    return sorted(patchlib.touched_paths(task.test_patch) | set(task.test_files) | named
                  | patchlib.test_paths(candidate))


def _resource(name: str) -> str:
    return resources.files("swe_harness").joinpath(name).read_text()


def container_files(task: Task, candidate: str) -> dict[str, bytes | str]:
    return {
        "swe/run.sh": _resource("runner.sh"),
        "swe/candidate.diff": patchlib.normalize(candidate),
        "swe/test.diff": task.test_patch,
        "swe/protect.list": "".join(p + "\n" for p in reset_files(task, candidate)),
        "swe/lib/swe_harness_evidence.py": _resource("evidence_plugin.py"),
        "swe/lib/sitecustomize.py": _resource("evidence_site.py"),
        "swe/lib/swe_harness_origin.py": _resource("evidence_origin.py"),
        "swe/eval_script.sh": task.eval_script,
        "swe/gitconfig": GITCONFIG,
        "swe/out/": b"",
    }


def container_env(task: Task, options: EvalOptions) -> dict[str, str]:
    return {
        "SWE_WORKDIR": task.workdir, "SWE_TIMEOUT": str(eval_timeout(task, options)),
        "SWE_LOG_BYTES": str(LOG_BYTES), "TZ": "UTC", "PYTHONHASHSEED": "0", "PAGER": "cat",
        "TQDM_DISABLE": "1", "PIP_NO_INPUT": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        **offline_env(task.network),  # package managers fail fast without a network
    }


def evaluate(task: Task, candidate: str, kind: str = "model",
             options: EvalOptions = EvalOptions(), pm=None) -> EvalResult:
    """Evaluate ``candidate`` on ``task`` in a fresh container. Never raises for a bad patch or a
    broken machine: those are statuses (``rejected``/``patch_failed``/``error``).

    rejection check → image → cache lookup → container run → cache store.
    """
    from . import sandbox

    started = time.monotonic()
    result = EvalResult(task.instance_id, kind, "error", image=task.image_name)
    problem = candidate_problems(candidate, protected_patterns(task, pm))
    if problem:
        result.status, result.detail = "rejected", problem
    else:
        try:
            sandbox.ensure_image(task, options.build)
            image_id = sandbox.image_id(task.image_name)
        except sandbox.InfraError as exc:
            result.error = str(exc)
        except Exception as exc:  # docker SDK / requests errors: infrastructure, never a 0.0
            result.error = f"{type(exc).__name__}: {exc}"
        else:
            result = _cached_run(task, candidate, kind, options, image_id)
    if "total" not in result.duration_s:
        result.duration_s = {**result.duration_s, "total": round(time.monotonic() - started, 3)}
    return result


def _cached_run(task: Task, candidate: str, kind: str, options: EvalOptions,
                image_id: str) -> EvalResult:
    if not options.cache_dir:
        return run_in_container(task, candidate, kind, options)
    from .cache import ResultCache

    cache = ResultCache(options.cache_dir)
    key = cache.key(image_id, task.eval_script, task.test_patch, reset_files(task, candidate),
                    patchlib.normalize(candidate), task.workdir, eval_timeout(task, options))
    started = time.monotonic()
    with cache.entry(key) as (hit, store):
        if hit is not None:
            hit.instance_id, hit.patch, hit.cached = task.instance_id, kind, True
            hit.duration_s = {"total": round(time.monotonic() - started, 3)}
            return hit
        result = run_in_container(task, candidate, kind, options)
        store(result)
        return result


def run_in_container(task: Task, candidate: str, kind: str, options: EvalOptions) -> EvalResult:
    """One fresh container: create, copy /swe in, start, wait, copy /swe/out back, remove."""
    from . import sandbox

    started = time.monotonic()
    result = EvalResult(task.instance_id, kind, "error", image=task.image_name)
    timeout_s = eval_timeout(task, options)
    container = None
    marks = {"start": started}
    try:
        archive = sandbox.make_tar(container_files(task, candidate), gzip=True)
        inline = len(archive) <= INLINE_INPUT_BYTES
        environment = container_env(task, options)
        if inline:  # inputs ride in the create call: no separate copy into the container
            environment["SWE_INPUT"] = base64.b64encode(archive).decode()
        container = sandbox.Container(
            task.image_name, UNPACK_AND_RUN if inline else ["bash", "/swe/run.sh"], task.workdir,
            labels={sandbox.LABEL_INSTANCE: task.instance_id,
                    sandbox.LABEL_WORKER: _worker()},
            network=task.network, environment=environment,
            limits=sandbox.Limits(memory=options.memory, pids=options.pids))
        container.create()
        if not inline:
            container.put_archive(archive)
        container.start()
        marks["started"] = time.monotonic()
        exit_code = container.wait(timeout_s + 60)
        outputs = container.last_line_archive() if exit_code is not None else {}
        text = {name: data.decode("utf-8", "replace") for name, data in outputs.items()}
        fields = grading.parse_result(text.get("result", ""))
        oom = exit_code is not None and fields.get("phase") != "done" and container.oom_killed()
        _read_outputs(result, task, text, fields, exit_code, timeout_s, oom)
        result.duration_s = _durations(fields, marks)
    except sandbox.InfraError as exc:
        result.status, result.error = "error", str(exc)
    except Exception as exc:  # docker SDK / requests errors: infrastructure, never a 0.0
        result.status, result.error = "error", f"{type(exc).__name__}: {exc}"
    finally:
        teardown = time.monotonic()
        if container is not None:
            try:
                container.remove()
            except Exception as exc:
                result.error = result.error or f"container removal failed: {exc}"
        end = time.monotonic()
        result.duration_s = {**result.duration_s, "teardown": round(end - teardown, 3),
                             "total": round(end - started, 3)}
    return result


def _read_outputs(result: EvalResult, task: Task, text: dict[str, str], fields: dict[str, str],
                  exit_code: int | None, timeout_s: float, oom: bool) -> None:
    """Fill ``result`` from what the runner left in /swe/out (pure but for the mutation)."""
    verdict = grading.grade(
        fields, exit_code, timeout_s, runner=grading.runner_kind(task.eval_script),
        pytest_records=text.get("evidence.jsonl", ""), log=text.get("eval.log", ""),
        oom_killed=oom)
    result.status, result.evidence = verdict.status, verdict.evidence
    result.error, result.detail = verdict.error, verdict.detail
    result.exit_code = int(fields["eval_exit_code"]) if "eval_exit_code" in fields else None
    result.apply_method = fields.get("apply_method")
    log = text.get("eval.log", "") or text.get("apply.log", "")
    result.log_tail = log[-LOG_TAIL_CHARS:]
    result.log = log


def _durations(fields: dict[str, str], marks: dict[str, float]) -> dict[str, float]:
    out = {"setup": round(marks["started"] - marks["start"], 3)}
    try:
        t0, t1 = float(fields["t_start"]), float(fields["t_apply_end"])
        out["apply"] = round(t1 - t0, 3)
        if "t_eval_end" in fields:
            out["eval"] = round(float(fields["t_eval_end"]) - t1, 3)
    except (KeyError, ValueError):
        pass
    return out


def _worker() -> str:
    import os

    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def candidate_for(task: Task, kind: str, predictions: dict[str, str] | None = None) -> str | None:
    """The patch text for a patch kind; None when a predictions file has no entry for the task."""
    if kind == "gold":
        return task.gold_candidate
    if kind == "empty":
        return ""
    if kind == "test-only":
        return task.test_only_candidate
    return (predictions or {}).get(task.instance_id)
