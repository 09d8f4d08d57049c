"""``evaluate(task, patch) -> EvalResult``: the one evaluation path.

candidate → rejection check → image id → spec (what enters the container) → cache or container
run → grade, as plain data. The pytest plugin, the CLI, the agent episode and the trainer all
call this and take the reward from the ``swe_harness_reward`` hook
(:func:`swe_harness.rewards.reward_for`). Infrastructure failures become status ``error`` in
exactly one place (here); everything the judged code can cause is graded by ``grading``.
"""

from __future__ import annotations

import time

from . import grading
from . import patch as patchlib
from .result import EvalResult
from .spec import EvalOptions, EvalSpec, build_spec, eval_timeout
from .task import Task

LOG_TAIL_CHARS = 4000  # of the eval log, in the report line

__all__ = ["EvalOptions", "EvalResult", "candidate_for", "candidate_problems", "eval_timeout",
           "evaluate", "protected_patterns"]


def candidate_problems(candidate: str, protected: tuple[str, ...] | list[str] = ()) -> str | None:
    """Why a candidate is refused before any container starts, or None."""
    if candidate.strip() and not patchlib.looks_like_diff(candidate):  # blank = the empty patch
        return "not a diff"
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


def evaluate(task: Task, candidate: str, kind: str = "model",
             options: EvalOptions = EvalOptions(), pm=None) -> EvalResult:
    """Evaluate ``candidate`` on ``task`` in a fresh container. Never raises for a bad patch or a
    broken machine: those are statuses (``rejected``/``patch_failed``/``error``)."""
    started = time.monotonic()
    candidate = patchlib.normalize(candidate)
    problem = candidate_problems(candidate, protected_patterns(task, pm))
    if problem:
        result = EvalResult(task.instance_id, kind, "rejected", image=task.image_name, detail=problem)
    else:
        try:
            result = _run(task, candidate, kind, options)
        except Exception as exc:  # the engine, the image, the SDK: infrastructure, never a 0.0
            from .sandbox import InfraError

            message = str(exc) if isinstance(exc, InfraError) else f"{type(exc).__name__}: {exc}"
            result = EvalResult(task.instance_id, kind, "error", image=task.image_name, error=message)
    result.duration_s = {**result.duration_s, "total": round(time.monotonic() - started, 3)}
    return result


def _run(task: Task, candidate: str, kind: str, options: EvalOptions) -> EvalResult:
    from . import sandbox

    image_id = sandbox.eval_image(task, options.build)
    spec = build_spec(task, candidate, options, image_id)
    if not options.cache_dir:
        return _graded(task, spec, kind, options.pool)
    from .cache import ResultCache

    with ResultCache(options.cache_dir).entry(spec.key()) as (hit, store):
        if hit is not None:
            hit.instance_id, hit.kind, hit.cached = task.instance_id, kind, True
            hit.duration_s = {}
            return hit
        result = _graded(task, spec, kind, options.pool)
        store(result)
        return result


def _graded(task: Task, spec: EvalSpec, kind: str, pool=None) -> EvalResult:
    from . import sandbox

    run = sandbox.run_spec(spec, labels={sandbox.LABEL_INSTANCE: task.instance_id,
                                         sandbox.LABEL_WORKER: _worker()}, pool=pool)
    text = {name: data.decode("utf-8", "replace") for name, data in run.outputs.items()}
    fields = grading.parse_result(text.get("result", ""))
    runner = grading.runner_kind(task.eval_script)
    verdict = grading.grade(
        fields, run.exit_code, spec.timeout_s, runner=runner,
        records=text.get("evidence.jsonl", ""), log=text.get("eval.log", ""),
        oom_killed=run.oom_killed, fail_to_pass=task.fail_to_pass, pass_to_pass=task.pass_to_pass,
        log_tests=_log_tests(task, runner, text.get("eval.log", "")))
    log = text.get("eval.log", "") or text.get("apply.log", "")
    try:
        exit_code = int(fields["eval_exit_code"])
    except (KeyError, ValueError):
        exit_code = None
    return EvalResult(
        task.instance_id, kind, verdict.status, exit_code=exit_code,
        apply_method=fields.get("apply_method"), duration_s=_durations(fields, run.durations),
        image=task.image_name, evidence=verdict.evidence, log_tail=log[-LOG_TAIL_CHARS:],
        log=log,
        error=verdict.error, detail=verdict.detail, tests=verdict.tests,
        test_counts=grading.outcome_counts(verdict.tests, task.fail_to_pass, task.pass_to_pass))


def _log_tests(task: Task, runner: str, log: str) -> dict[str, str] | None:
    """Per-test outcomes read from the log by the repo's parser (sympy's bin/test, ...), for a
    task that lists its tests but whose runner gives no evidence records. Printed lines are
    forgeable by the code under test: this is the weakest evidence, and the report says
    ``evidence: none``."""
    if runner != "none" or not (task.fail_to_pass or task.pass_to_pass):
        return None
    from . import logs

    try:
        outcomes = logs.grade_from_log(task, log)
    except Exception:  # no parser for this repo: the listed tests are not seen to pass
        return None
    return {test: "passed" if status in logs.OK_STATUSES else str(status).lower()
            for test, status in outcomes.items()}


def _durations(fields: dict[str, str], host: dict[str, float]) -> dict[str, float]:
    out = dict(host)
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
