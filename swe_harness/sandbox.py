"""The Docker edge: client, image policy, one-shot containers, the reaper.

Everything that talks to the Docker engine is here, on the ``docker`` SDK (imported lazily).
Containers are labelled with the run that owns them, run with ``init=True`` (no SIGTERM grace
period on removal), network off, memory and pids limits, and are always removed with force.
"""

from __future__ import annotations

import functools
import io
import os
import socket
import tarfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .task import Task

LABEL = "swe_harness"
LABEL_RUN = "swe_harness.run_id"
LABEL_OWNER = "swe_harness.owner"  # "<host>:<pid>" of the process that created the container
LABEL_INSTANCE = "swe_harness.instance"
LABEL_WORKER = "swe_harness.worker"
BUILD_POLICIES = ("never", "missing", "always")
LOCK_DIR = Path(os.environ.get("SWE_HARNESS_LOCK_DIR", "/tmp/swe-harness-locks"))
CLIENT_TIMEOUT_S = 1800


class InfraError(Exception):
    """The machinery failed (daemon, image, container): no verdict on the patch can be given."""


@dataclass(frozen=True)
class Limits:
    memory: str = "4g"
    pids: int = 2048
    nano_cpus: int | None = None


def run_id() -> str:
    """One id for the whole run; xdist workers share the controller's ``testrun_uid``."""
    rid = os.environ.get("SWE_HARNESS_RUN_ID") or os.environ.get("PYTEST_XDIST_TESTRUNUID")
    return rid or _process_run_id()


@functools.cache
def _process_run_id() -> str:
    return uuid.uuid4().hex[:12]


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@functools.cache
def client():
    """The process's Docker client; InfraError with one clear message when no engine answers."""
    import docker
    import docker.errors

    try:
        docker_client = docker.from_env(timeout=CLIENT_TIMEOUT_S)
        docker_client.ping()
    except docker.errors.DockerException as exc:
        client.cache_clear()
        raise InfraError(f"Docker engine unreachable ({os.environ.get('DOCKER_HOST', 'unix:///var/run/docker.sock')}): {exc}") from exc
    return docker_client


# ---------------------------------------------------------------- images


def ensure_image(task: Task, policy: str = "missing", log=lambda msg: None) -> str:
    """The id of the task's image, present locally.

    ``never``: local images only. ``missing``: local, else pull, else build from the task's
    Dockerfile. ``always``: build once per run (a task without a Dockerfile is pulled).
    Pulls and builds are serialised with a file lock per image, so xdist workers make each
    image once.
    """
    if policy not in BUILD_POLICIES:
        raise ValueError(f"build policy must be one of {BUILD_POLICIES}, got {policy!r}")
    import docker.errors
    from filelock import FileLock

    name = task.image_name
    # an image the harness built from an older build context (the task was edited) is rebuilt
    stale = policy == "missing" and _images().stale(task)
    if policy != "always" and not stale and _has_image(name):
        return image_id(name)
    if policy == "never":
        raise InfraError(f"image {name} is not present locally and the build policy is 'never'")
    LOCK_DIR.mkdir(parents=True, exist_ok=True)
    key = name.replace("/", "_").replace(":", "_")
    with FileLock(str(LOCK_DIR / f"{key}.lock")):
        built_marker = LOCK_DIR / f"{key}.{run_id()}.built"
        stale = stale and _images().stale(task)  # another worker may have rebuilt it
        if _has_image(name) and not stale and (policy != "always" or built_marker.exists()):
            return image_id(name)
        try:
            if policy == "missing" and not stale and _pulled(name, log):
                return image_id(name)
            if not task.build_context:
                raise InfraError(f"image {name} is not present locally, cannot be pulled, and "
                                 "the task has no Dockerfile to build it from")
            build_image(task, log)
            built_marker.touch()
        except docker.errors.BuildError as exc:
            tail = "".join(str(chunk.get("stream", chunk.get("error", ""))) for chunk in exc.build_log)
            raise InfraError(f"image {name} failed to build: {exc.msg}\n{tail[-2000:]}") from exc
        except docker.errors.APIError as exc:
            raise InfraError(f"image {name} is not available: {exc}") from exc
    return image_id(name)


def _pulled(name: str, log) -> bool:
    """Try a registry; where none answers (these machines), say so and move on."""
    import docker.errors

    log(f"pulling {name}")
    try:
        client().images.pull(name)
        return True
    except docker.errors.APIError as exc:
        log(f"pull of {name} failed ({exc.explanation or exc}); building it")
        return False


def image_id(name: str) -> str:
    return client().images.get(name).id


def _has_image(name: str) -> bool:
    import docker.errors

    try:
        client().images.get(name)
        return True
    except docker.errors.ImageNotFound:
        return False


def build_image(task: Task, log=lambda msg: None) -> None:
    """``docker build`` of the task dir with ``BASE_IMAGE`` set to the registry-free base."""
    from .base_image import ensure_base_image

    from filelock import FileLock

    with FileLock(str(LOCK_DIR / "base-image.lock")):
        base = ensure_base_image(client(), log)
    log(f"building {task.image_name} from {task.build_context}")
    client().images.build(
        path=task.build_context, tag=task.image_name, buildargs={"BASE_IMAGE": base},
        network_mode="host", rm=True, forcerm=True, labels=_images().build_labels(task),
    )


# ---------------------------------------------------------------- containers


@dataclass
class Container:
    """A one-shot container: create, (copy files in), start, wait, read its outputs, remove."""

    image: str
    command: list[str]
    workdir: str
    labels: dict[str, str]
    network: bool = False
    limits: Limits = field(default_factory=Limits)
    environment: dict[str, str] = field(default_factory=dict)
    _container: object = None

    def create(self) -> None:
        from docker.types import LogConfig

        self._container = client().containers.create(
            self.image, command=self.command, working_dir=self.workdir,
            name=f"swe-{self.labels.get(LABEL_INSTANCE, 'eval')[:60]}-{uuid.uuid4().hex[:8]}",
            labels={LABEL: "1", LABEL_RUN: run_id(), LABEL_OWNER: owner(), **self.labels},
            network_mode="default" if self.network else "none", init=True,
            mem_limit=self.limits.memory, memswap_limit=self.limits.memory,
            pids_limit=self.limits.pids, nano_cpus=self.limits.nano_cpus,
            environment=self.environment, user="root",
            # room for the runner's final outputs line (see runner.sh); the eval's own output
            # never reaches the container log
            log_config=LogConfig(type="json-file", config={"max-size": "32m", "max-file": "1"}),
            security_opt=["no-new-privileges"],
        )

    def put_archive(self, archive: bytes, dest: str = "/") -> None:
        """Copy a tar archive in (never a patch on a command line)."""
        self._container.put_archive(dest, archive)

    def start(self) -> None:
        self._container.start()

    def wait(self, timeout_s: float) -> int | None:
        """Exit code, or None when it did not end in time (the container is then killed)."""
        import requests

        try:
            return int(self._container.wait(timeout=timeout_s)["StatusCode"])
        except requests.exceptions.ConnectionError as exc:
            # over a unix socket a read timeout surfaces as a ConnectionError
            if not isinstance(exc, requests.exceptions.ReadTimeout) and "timed out" not in str(exc):
                raise
            self.kill()
            return None

    def last_line_archive(self) -> dict[str, bytes]:
        """Files the command printed as its last stdout line (base64 of a gzipped tar)."""
        import base64
        import binascii

        lines = self._container.logs(stdout=True, stderr=False).rstrip(b"\n").rsplit(b"\n", 1)
        try:
            data = base64.b64decode(lines[-1], validate=True)
            return read_tar(data) if data else {}
        except (binascii.Error, tarfile.TarError, EOFError, OSError):
            return {}

    def oom_killed(self) -> bool:
        self._container.reload()
        return bool(self._container.attrs["State"].get("OOMKilled"))

    def kill(self) -> None:
        import docker.errors

        try:
            self._container.kill()
        except docker.errors.APIError:
            pass

    def remove(self) -> None:
        import docker.errors

        if self._container is None:
            return
        try:
            self._container.remove(force=True, v=True)
        except docker.errors.NotFound:
            pass
        self._container = None


@dataclass
class RunOutput:
    """How one evaluation container ended, as the harness saw it from outside."""

    exit_code: int | None  # None: still running at the client deadline (then killed)
    outputs: dict[str, bytes]  # the runner's /swe/out, from its last stdout line
    oom_killed: bool
    durations: dict[str, float]  # setup (create + start) and teardown, in seconds


# Inputs up to this size (base64 of the gzipped tar) travel in an environment variable of the
# create call; Linux caps one variable at 128 KiB. Larger ones are copied in with put_archive.
INLINE_INPUT_BYTES = 96 * 1024
UNPACK_AND_RUN = ["bash", "-c", 'mkdir -p /swe && printf %s "$SWE_INPUT" | base64 -d | '
                  'tar --no-same-owner -xzf - -C / && unset SWE_INPUT && exec bash /swe/run.sh']


def run_spec(spec, labels: dict[str, str]) -> RunOutput:
    """One fresh container for one evaluation spec: create (by image id), start, wait, read the
    runner's last line, remove. Five engine calls; errors propagate to the caller."""
    import base64

    started = time.monotonic()
    archive = make_tar(spec.tar_files(), gzip=True)
    inline = len(archive) <= INLINE_INPUT_BYTES
    environment = dict(spec.environment)
    if inline:  # inputs ride in the create call: no separate copy into the container
        environment["SWE_INPUT"] = base64.b64encode(archive).decode()
    container = Container(spec.image_id, UNPACK_AND_RUN if inline else ["bash", "/swe/run.sh"],
                          spec.workdir, labels={**labels}, network=spec.network,
                          environment=environment,
                          limits=Limits(memory=spec.memory, pids=spec.pids))
    try:
        container.create()
        if not inline:
            container.put_archive(archive)
        container.start()
        setup = time.monotonic() - started
        exit_code = container.wait(spec.timeout_s + 60)
        outputs = container.last_line_archive() if exit_code is not None else {}
        oom = exit_code is not None and "result" not in outputs and container.oom_killed()
    finally:
        teardown = time.monotonic()
        container.remove()
    return RunOutput(exit_code, outputs, oom, {"setup": round(setup, 3),
                                               "teardown": round(time.monotonic() - teardown, 3)})


def read_tar(data: bytes) -> dict[str, bytes]:
    """Regular files of a (possibly gzipped) tar, by their path below its top directory."""
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar.getmembers():
            if member.isfile():
                # "./x" from `tar -C dir .`; "dir/x" from a copy out of a container
                name = member.name
                rel = name[2:] if name.startswith("./") else name.split("/", 1)[-1]
                out[rel] = tar.extractfile(member).read()
    return out


def make_tar(files: dict[str, bytes | str], gzip: bool = False) -> bytes:
    """A tar of ``files`` (relative path -> content; a path ending in ``/`` is a directory)."""
    buf = io.BytesIO()
    now = time.time()
    options = {"mode": "w:gz", "compresslevel": 1} if gzip else {"mode": "w"}
    with tarfile.open(fileobj=buf, **options) as tar:
        for path, content in sorted(files.items()):
            if path.endswith("/"):
                info = tarfile.TarInfo(path.rstrip("/"))
                info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, now
                tar.addfile(info)
                continue
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(data), 0o644, now
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


# ---------------------------------------------------------------- reaper


def _owner_alive(owner_label: str) -> bool:
    host, _, pid = owner_label.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine's container: not ours to judge
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed process whose parent died too can linger as a zombie
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def reap(run: str | None = None, dead_only: bool = True) -> int:
    """Remove harness containers: those of ``run`` (all of them), or those whose owner process
    on this host is gone (``dead_only``). Returns how many were removed."""
    import docker.errors

    filters = {"label": [f"{LABEL}=1"] + ([f"{LABEL_RUN}={run}"] if run else [])}
    removed = 0
    for container in client().containers.list(all=True, filters=filters, ignore_removed=True):
        if run is None and dead_only and _owner_alive(container.labels.get(LABEL_OWNER, "")):
            continue
        try:
            container.remove(force=True, v=True)
            removed += 1
        except docker.errors.NotFound:
            pass
    return removed


def reap_in_background(run: str | None = None) -> threading.Thread:
    thread = threading.Thread(target=lambda: quietly(reap, run), daemon=True, name="swe-reaper")
    thread.start()
    return thread


def quietly(fn, *args):
    try:
        fn(*args)
    except Exception:  # the reaper is best effort; evaluation reports its own errors
        pass


def image_sizes(tasks: list[Task]) -> list[tuple[Task, int | None, int | None]]:
    """(task, size, unique size) in bytes; unique = not shared with any other image's layers."""
    by_tag = {}
    for image in client().df().get("Images") or []:
        shared = image.get("SharedSize", -1)
        unique = image["Size"] - shared if shared >= 0 else None
        for tag in image.get("RepoTags") or []:
            by_tag[tag] = (image["Size"], unique)
    return [(task, *by_tag.get(task.image_name, (None, None))) for task in tasks]


# ---------------------------------------------------------------- images at scale (issue 11)


def _images():
    """images.py (context hashes, prune, save/load), imported late: it imports this module."""
    from . import images

    return images


def remove_owned() -> int:
    """Remove every container this process created (its ``swe_harness.owner`` label), running
    or not: what an interrupted CLI run leaves. Returns how many were removed."""
    import docker.errors

    removed = 0
    filters = {"label": [f"{LABEL}=1", f"{LABEL_OWNER}={owner()}"]}
    for container in client().containers.list(all=True, filters=filters):
        try:
            container.remove(force=True, v=True)
            removed += 1
        except docker.errors.NotFound:
            pass
    return removed
