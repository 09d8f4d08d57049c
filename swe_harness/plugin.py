"""The pytest plugin: every task is a test item; ``pytest --swe-tasks tasks/``.

Inert without ``--swe-tasks``. Collection reads task files only (no Docker call), sorted by
instance id, so every xdist worker collects the same items. Each item evaluates one patch and
takes its reward from the ``swe_harness_reward`` hook; the report line travels in the item's
``user_properties`` so the controller (or junitxml) sees it, and only the controller writes the
``--swe-report`` file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from . import rewards, validation
from .evaluate import EvalOptions, EvalResult, candidate_for, evaluate
from .predictions import load_predictions
from .summary import EXPECTED_REWARD, PATCH_KINDS, summary_lines
from .task import Task, load_tasks

PM_KEY = pytest.StashKey["object"]()
RAY_KEY = pytest.StashKey["object"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("swe_harness", "SWE task evaluation (swe_harness)")
    group.addoption("--swe-tasks", action="append", default=[], metavar="PATH",
                    help="tasks: a dir of */task.json, one task dir, .jsonl, .json or .parquet "
                         "(repeatable). Without it the plugin does nothing.")
    group.addoption("--swe-patch", default="gold", metavar="gold|empty|test-only|FILE",
                    help="patch to evaluate; FILE = JSONL of {instance_id, model_patch} (default gold)")
    group.addoption("--swe-validate", action="store_true",
                    help="per task: gold must pass, empty and test-only must fail")
    group.addoption("--swe-repeat", type=int, default=1, metavar="N",
                    help="with --swe-validate: gold runs per task (all must pass)")
    group.addoption("--swe-report", metavar="PATH", help="write one JSON line per evaluation")
    group.addoption("--swe-valid-ids", metavar="PATH",
                    help="with --swe-validate: write the ids of valid tasks, one per line")
    group.addoption("--swe-validated", metavar="PATH",
                    help="with --swe-validate: write the valid tasks with their derived "
                         "FAIL_TO_PASS/PASS_TO_PASS lists (JSONL the loader reads)")
    group.addoption("--swe-timeout", type=float, metavar="S",
                    help="eval timeout in seconds (default: the task's, else 1800)")
    group.addoption("--swe-no-cache", action="store_true",
                    help="evaluate identical (image, eval script, tests, patch) again instead of "
                         "replaying the first result of this run")
    group.addoption("--swe-build", choices=("never", "missing", "always"), default="missing",
                    help="image policy (default missing: local, else build or pull)")
    group.addoption("--swe-ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                    help="evaluate on a Ray cluster: ADDRESS, 'auto' (the running one), or nothing "
                         "(start a local one); replaces -n")


def swe_plugin_manager(config: pytest.Config):
    """The pluggy manager this run asks for rewards; register reward plugins on it."""
    if PM_KEY not in config.stash:
        config.stash[PM_KEY] = rewards.plugin_manager()
    return config.stash[PM_KEY]


def _active(config: pytest.Config) -> bool:
    return bool(config.getoption("swe_tasks", default=None))


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "swe_task: a task evaluation item of swe_harness")
    if not _active(config):
        return
    _terminate_as_interrupt()
    if not _is_worker(config):
        # Workers inherit it: every container of this run carries one run id, this session's
        # own (a session run inside another process's, as pytester does, reaps only its own).
        if "SWE_HARNESS_RUN_ID" not in os.environ:
            import uuid

            os.environ["SWE_HARNESS_RUN_ID"] = uuid.uuid4().hex[:12]
            config.add_cleanup(lambda: os.environ.pop("SWE_HARNESS_RUN_ID", None))
        config.pluginmanager.register(ReportWriter(config), "swe_harness.report")
        config.pluginmanager.register(Reaper(), "swe_harness.reaper")
        if config.getoption("swe_ray") is not None:
            config.pluginmanager.register(RayDispatch(config), "swe_harness.ray")


def _terminate_as_interrupt() -> None:
    """SIGTERM unwinds like Ctrl-C, so every evaluation's ``finally`` removes its container."""
    import signal
    import threading

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)


class Reaper:
    """On the controller: removes containers of dead runs at start, this run's at the end
    (what a crashed xdist worker left behind)."""

    def pytest_sessionstart(self, session) -> None:
        from . import sandbox

        sandbox.quietly(sandbox.reap)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session) -> None:
        from . import sandbox
        from .cache import ResultCache

        sandbox.settle()  # this process's removals in flight
        sandbox.quietly(sandbox.reap, sandbox.run_id())
        cache_dir = run_cache_dir(session.config)
        if cache_dir:
            ResultCache(cache_dir).clear()


def pytest_ignore_collect(collection_path: Path, config: pytest.Config):
    """With --swe-tasks and no explicit test paths, collect only the task items."""
    if _active(config) and config.args_source != pytest.Config.ArgsSource.ARGS:
        return True
    return None


@pytest.hookimpl(tryfirst=True)  # before -k/-m deselection sees the items
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list):
    if not _active(config):
        return
    items.extend(SweTasks.from_parent(session, name="swe", nodeid="swe").collect())


class SweTasks(pytest.Collector):
    """The virtual collector for every task of ``--swe-tasks``."""

    def collect(self):
        config = self.config
        tasks, errors = load_tasks(config.getoption("swe_tasks"))
        for error in errors:
            yield BrokenInput.from_parent(self, name=f"load-error[{error.source}]", error=str(error))
        kind, predictions = config.getoption("swe_patch"), None
        if config.getoption("swe_validate"):
            kind = "validate"
        elif kind not in PATCH_KINDS:
            predictions, pred_errors = load_predictions(kind)
            for error in pred_errors:
                yield BrokenInput.from_parent(self, name=f"prediction-error[{error}]"[:200],
                                              error=str(error))
            kind = "model"
            unknown = sorted(set(predictions) - {task.instance_id for task in tasks})
            if unknown:
                yield BrokenInput.from_parent(
                    self, name="prediction-error[unknown instance ids]",
                    error=f"{len(unknown)} prediction(s) name no loaded task: "
                          + ", ".join(unknown[:10]) + (" ..." if len(unknown) > 10 else ""))
        for task in tasks:
            yield SweTaskItem.from_parent(self, name=task.instance_id, task=task, kind=kind,
                                          predictions=predictions)


class BrokenInput(pytest.Item):
    """A task or prediction that could not be loaded: fails alone, with the reason."""

    def __init__(self, *, error: str, **kwargs):
        super().__init__(**kwargs)
        self.error = error

    def runtest(self):
        raise SweFailure(self.error)

    def repr_failure(self, excinfo):
        return str(excinfo.value) if excinfo.errisinstance(SweFailure) else super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, self.nodeid


class SweFailure(Exception):
    """The item's verdict did not match what its patch kind expects."""


class SweTaskItem(pytest.Item):
    def __init__(self, *, task: Task, kind: str, predictions: dict[str, str] | None, **kwargs):
        super().__init__(**kwargs)
        self.task = task
        self.kind = kind
        self.predictions = predictions
        self.add_marker(pytest.mark.swe_task)

    def options(self) -> EvalOptions:
        config = self.config
        return EvalOptions(build=config.getoption("swe_build"),
                           timeout_s=config.getoption("swe_timeout"),
                           cache_dir=run_cache_dir(config))

    def run_one(self, kind: str) -> tuple[EvalResult, float | None]:
        candidate = candidate_for(self.task, kind, self.predictions)
        if candidate is None:
            pytest.skip(f"no prediction for {self.task.instance_id}")
        pm = swe_plugin_manager(self.config)
        dispatch = self.config.stash.get(RAY_KEY, None)
        if dispatch is not None:
            result = dispatch.result(self, kind)
        else:
            result = evaluate(self.task, candidate, kind, self.options(), pm)
        reward = rewards.reward_for(self.task, result, pm)
        line = result.report(reward)
        self.user_properties.append(("swe_report", json.dumps(line)))
        self.user_properties.append(("reward", reward))
        return result, reward

    def runtest(self):
        if self.kind == "validate":
            return self.validate()
        result, reward = self.run_one(self.kind)
        expected = EXPECTED_REWARD[self.kind]
        if reward != expected:
            raise SweFailure(explain(self.task, result, reward, f"expected reward {expected}"))

    def validate(self):
        """gold must pass (every repeat), empty and test-only must fail."""
        plan = validation.checks(bool(self.task.test_patch), self.config.getoption("swe_repeat"))
        problems, lines = [], []
        for kind, expected in plan:
            result, reward = self.run_one(kind)
            lines.append(result.report(reward))
            if reward != expected:
                problems.append(explain(self.task, result, reward, f"{kind}: expected {expected}"))
        label, reason = validation.classify(lines)
        if problems or label != "valid":
            raise SweFailure(f"{self.task.instance_id} is {label}: {reason}\n\n" + "\n\n".join(problems))

    def repr_failure(self, excinfo):
        if excinfo.errisinstance(SweFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, self.nodeid


def run_cache_dir(config: pytest.Config) -> str | None:
    """The run's shared reward cache; none when validating (repeats must really repeat)."""
    from .sandbox import LOCK_DIR, run_id

    if config.getoption("swe_no_cache") or config.getoption("swe_validate"):
        return None
    return str(LOCK_DIR / "cache" / run_id())


def explain(task: Task, result: EvalResult, reward: float | None, what: str) -> str:
    lines = [f"{task.instance_id}: {what}, got reward {reward} (status {result.status}, "
             f"patch {result.kind}, exit code {result.exit_code}, apply {result.apply_method})"]
    if result.error:
        lines.append(f"error: {result.error}")
    if result.detail:
        lines.append(f"detail: {result.detail}")
    if result.log_tail:
        lines.append("log tail:\n" + result.log_tail[-1500:])
    return "\n".join(lines)


class ReportWriter:
    """Registered on the controller (or the only process): gathers the report lines of every
    item, writes ``--swe-report`` and prints the summary."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.lines: list[dict] = []
        self.path = config.getoption("swe_report")
        if self.path:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            Path(self.path).write_text("")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        lines = [json.loads(v) for k, v in report.user_properties if k == "swe_report"]
        self.lines.extend(lines)
        if self.path and lines:
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.writelines(json.dumps(line) + "\n" for line in lines)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.lines:
            return
        terminalreporter.write_sep("=", "swe_harness summary")
        for text in summary_lines(self.lines):
            terminalreporter.write_line(text)
        if self.config.getoption("swe_validate"):
            classes = validation.classify_all(self.lines)
            terminalreporter.write_sep("-", "task validation")
            for iid, (label, reason) in classes.items():
                terminalreporter.write_line(f"{label:8} {iid}  {reason}".rstrip())
            path = self.config.getoption("swe_valid_ids")
            if path:
                valid = validation.write_valid_ids(path, classes)
                terminalreporter.write_line(f"{len(valid)}/{len(classes)} valid ids written to {path}")
            path = self.config.getoption("swe_validated")
            if path:
                tasks, _ = load_tasks(self.config.getoption("swe_tasks"))
                valid = validation.write_validated_tasks(path, tasks, self.lines, classes)
                terminalreporter.write_line(f"{len(valid)} validated tasks written to {path}")


class RayDispatch:
    """``--swe-ray``: once collection ends, every item's evaluations go to the Ray cluster at
    once (in a driver thread); each item then waits for its own results and takes the rewards
    from the hook as in a local run."""

    def __init__(self, config: pytest.Config):
        if getattr(config.option, "numprocesses", None):
            raise pytest.UsageError("--swe-ray replaces -n: drop -n (the cluster runs the items "
                                    "in parallel)")
        self.config = config
        self.futures: dict[tuple[str, str], list] = {}
        self.thread = self.executor = None

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        import threading
        from concurrent.futures import Future

        from .distributed import RayExecutor

        jobs, futures = [], []
        for item in session.items:
            if not isinstance(item, SweTaskItem):
                continue
            plan = ([kind for kind, _ in validation.checks(bool(item.task.test_patch),
                                                           self.config.getoption("swe_repeat"))]
                    if item.kind == "validate" else [item.kind])
            for kind in plan:
                candidate = candidate_for(item.task, kind, item.predictions)
                if candidate is not None:
                    jobs.append((item.task, candidate, kind))
                    futures.append(Future())
                    self.futures.setdefault((item.nodeid, kind), []).append(futures[-1])
        if not jobs:
            return
        self.executor = RayExecutor(self.config.getoption("swe_ray"))
        options = next(i for i in session.items if isinstance(i, SweTaskItem)).options()
        pm = swe_plugin_manager(self.config)

        def work():
            try:
                self.executor.run(jobs, options, pm,
                                  lambda index, result: futures[index].set_result(result))
            except BaseException as exc:  # every item still waiting gets the error
                for future in futures:
                    if not future.done():
                        future.set_exception(exc)

        self.thread = threading.Thread(target=work, name="swe-ray-driver", daemon=True)
        self.thread.start()
        self.config.stash[RAY_KEY] = self

    def result(self, item: SweTaskItem, kind: str) -> EvalResult:
        future = self.futures[(item.nodeid, kind)].pop(0)
        try:
            return future.result()
        except Exception as exc:  # the driver thread failed: missing data, never a 0.0
            return EvalResult(item.task.instance_id, kind, "error", image=item.task.image_name,
                              error=f"Ray: {type(exc).__name__}: {exc}", duration_s={"total": 0.0})

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session) -> None:
        if self.thread is not None:
            self.executor.stop()  # an interrupted session: what is still in flight is cancelled
            self.thread.join(timeout=60)
        if self.executor is not None:
            self.executor.close()
