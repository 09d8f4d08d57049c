"""``EvalSpec``: exactly what enters an evaluation's container, built once per evaluation.

task + candidate + options + image id → the files copied to ``/swe`` (runner, candidate, test
patch, the path lists the runner checks against, eval script, evidence code), the environment,
the limits and the network. The container is created from the image *id*, and the spec's hash
keys the reward cache: two evaluations with equal specs are the same evaluation.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from importlib import resources

from . import __version__
from . import patch as patchlib
from .offline import offline_env
from .task import DEFAULT_TIMEOUT_S, Task

LOG_BYTES = 1 << 20  # eval output kept per evaluation (the tail)
GITCONFIG = "[safe]\n\tdirectory = *\n[user]\n\tname = swe_harness\n\temail = swe_harness@localhost\n"
EVIDENCE_FILES = {"lib/swe_harness_evidence.py": "evidence_plugin.py",
                  "lib/sitecustomize.py": "evidence_site.py",
                  "lib/swe_harness_origin.py": "evidence_origin.py"}
# A path token in the eval script (not part of a longer path or name) naming a Python file.
_SCRIPT_PATH = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]+\.py)(?![\w/.-])")
_TEST_DIRS = {"test", "tests", "testing"}


@dataclass(frozen=True)
class EvalOptions:
    build: str = "missing"
    timeout_s: float | None = None  # overrides the task's
    memory: str = "4g"
    pids: int = 2048
    cache_dir: str | None = None  # the run's reward cache (see cache.py); None: always evaluate
    pool: object = None  # a sandbox.WarmPool to take fresh containers from (not part of the spec)


@dataclass(frozen=True)
class EvalSpec:
    instance_id: str
    image: str  # the tag, for reports
    image_id: str  # what the container is created from
    workdir: str
    files: tuple[tuple[str, bytes], ...]  # below /swe, sorted
    environment: tuple[tuple[str, str], ...]
    memory: str
    pids: int
    network: bool
    timeout_s: float

    def key(self) -> str:
        """sha256 of everything that decides the evaluation, the harness version included."""
        digest = hashlib.sha256()
        parts = [__version__, self.image_id, self.workdir, list(self.environment), self.memory,
                 self.pids, self.network, self.timeout_s,
                 [(path, hashlib.sha256(data).hexdigest()) for path, data in self.files]]
        digest.update(json.dumps(parts).encode())
        return digest.hexdigest()

    # the eval's log and evidence pipes (runner.sh reads them), made by the archive: no mkfifo
    FIFOS = ("swe/log.fifo", "swe/evidence.fifo")

    def tar_files(self) -> dict[str, bytes]:
        return {"swe/" + path: data for path, data in self.files} | {"swe/out/": b""}


def eval_timeout(task: Task, options: EvalOptions) -> float:
    return options.timeout_s or task.timeout_s or DEFAULT_TIMEOUT_S


def script_test_paths(eval_script: str) -> set[str]:
    """Test files the eval script names: whole path tokens that are test modules by convention
    or sit in a test directory (``latest.py`` or a module named for ``--doctest-modules`` is not)."""
    code = "\n".join(line.split("#", 1)[0] for line in eval_script.splitlines())
    out = set()
    for match in _SCRIPT_PATH.finditer(code):
        path = match.group(1).removeprefix("./")
        if patchlib.is_test_path(path) or _TEST_DIRS & set(path.split("/")[:-1]):
            out.add(path)
    return out


def reset_files(task: Task, candidate_paths: set[str]) -> list[str]:
    """Paths reset to the base commit after the candidate is applied (modified ones checked
    out, added ones removed): what the task declares as its tests (the test patch's paths, its
    test files, the test files the eval script names) and every test module the candidate
    touches (pytest's conventions)."""
    declared = (patchlib.touched_paths(task.test_patch) | set(task.test_files)
                | script_test_paths(task.eval_script))
    return sorted(declared | package_inits(declared)
                  | {p for p in candidate_paths if patchlib.is_test_path(p)})


def package_inits(test_paths: set[str]) -> set[str]:
    """The ``__init__.py`` files of the test directories a declared test module sits in
    (``tests/unit/__init__.py`` for ``tests/unit/test_x.py`` when ``unit`` is named like a test
    directory, ``tests/__init__.py``): imported before the test runs, so they are the test's.
    A library package's (``astropy/__init__.py``, ``pkg/`` holding ``test_x.py``) is not."""
    out = set()
    for path in test_paths:
        parts = path.split("/")[:-1]
        top = next((i for i, part in enumerate(parts) if part in _TEST_DIRS), None)
        if top is not None:
            out.update("/".join(parts[:j + 1]) + "/__init__.py" for j in range(top, len(parts)))
    return out


def _resource(name: str) -> bytes:
    return resources.files("swe_harness").joinpath(name).read_bytes()


def _encode(path: str) -> bytes:
    return path.encode("utf-8", "surrogateescape")


def build_spec(task: Task, candidate: str, options: EvalOptions, image_id: str,
               extra_env: dict[str, str] | None = None) -> EvalSpec:
    """The one input of an evaluation. ``candidate`` is already normalised."""
    candidate_paths = patchlib.touched_paths(candidate)
    files = {
        "run.sh": _resource("runner.sh"),
        "candidate.diff": candidate.encode("utf-8", "surrogateescape"),
        "test.diff": task.test_patch.encode(),
        "expected.list": b"".join(_encode(p) + b"\0" for p in sorted(candidate_paths)),
        "protect.list": "".join(p + "\n" for p in reset_files(task, candidate_paths)).encode(),
        "eval_script.sh": task.eval_script.encode(),
        "gitconfig": GITCONFIG.encode(),
        **{dest: _resource(src) for dest, src in EVIDENCE_FILES.items()},
    }
    timeout_s = eval_timeout(task, options)
    environment = {
        "SWE_WORKDIR": task.workdir, "SWE_TIMEOUT": str(timeout_s), "SWE_LOG_BYTES": str(LOG_BYTES),
        "SWE_PATCH_FUZZ": "1" if patchlib.unified_only(candidate) else "0",
        "TZ": "UTC", "PYTHONHASHSEED": "0", "PAGER": "cat", "TQDM_DISABLE": "1",
        "PIP_NO_INPUT": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        **offline_env(task.network),  # package managers fail fast without a network
        **(extra_env or {}),
    }
    return EvalSpec(
        instance_id=task.instance_id, image=task.image_name, image_id=image_id,
        workdir=task.workdir, files=tuple(sorted(files.items())),
        environment=tuple(sorted(environment.items())), memory=options.memory,
        pids=options.pids, network=task.network, timeout_s=timeout_s)
