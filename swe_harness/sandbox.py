"""The Docker edge: client, image policy, one-shot containers, the reaper.

Everything that talks to the Docker engine is here, on the ``docker`` SDK (imported lazily).
Containers are labelled with the run that owns them, run with ``init=True`` (no SIGTERM grace
period on removal), network off, memory and pids limits, and are always removed with force.
"""

from __future__ import annotations

import contextlib
import contextvars
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
    """One id for the whole run: ``SWE_HARNESS_RUN_ID`` (the pytest plugin's controller sets it,
    so its xdist workers share it), else one per process. Not xdist's own ``testrun_uid``: a
    test suite that runs evaluations in its workers is no swe run, and one of its runs reaping
    "its" containers must not reach the other workers'."""
    return os.environ.get("SWE_HARNESS_RUN_ID") or _process_run_id()


@functools.cache
def _process_run_id() -> str:
    return uuid.uuid4().hex[:12]


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def client():
    """The client of the current engine: ``DOCKER_HOST`` (Docker's default socket without it), or
    the one :func:`engine` selects in this context. Cached per engine; InfraError with one clear
    message when no engine answers."""
    return _engine_client(_ENGINE.get())


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
    local = _local_id(name) if policy != "always" and not stale else None
    if local:  # the hot path: one inspect
        return local
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


EVAL_IMAGE_REPO = "swe-harness/eval"
# Where `pip install -e .` writes: made sticky-writable for the eval user (runner.sh checks what
# the eval added there). The same globs as runner.sh's SITE_DIRS and BIN_DIRS.
INTERPRETER_DIRS = ("/usr/lib/python3*/site-packages /usr/local/lib/python3*/site-packages "
                    "/usr/lib/python3/dist-packages /usr/local/lib/python3*/dist-packages "
                    "/opt/*/lib/python3*/site-packages /opt/*/envs/*/lib/python3*/site-packages "
                    "/usr/local/bin /opt/*/bin")
EVAL_UID = 10001  # the unprivileged user the eval runs as (runner.sh: SWE_EVAL_UID)
_eval_images: dict[tuple[str, str], str] = {}  # (task image id, workdir) -> eval image id


def eval_image(task: Task, policy: str = "missing", log=lambda msg: None) -> str:
    """The id of the image evaluations run in: the task's image with its repo owned by the
    eval user and the interpreter dirs open, made once per (task image id, workdir) and cached
    as ``swe-harness/eval:<digest>``.

    The runner hands the repo to the eval user; on overlayfs every ``chown`` copies the whole
    file up (seconds for a real repo), so it is done once here, not in every evaluation. The
    content is the task image's, byte for byte."""
    source = ensure_image(task, policy, log)
    if (source, task.workdir) in _eval_images and policy != "always":
        return _eval_images[(source, task.workdir)]
    recipe = (f"{{ [ ! -d {task.workdir} ] || chown -R {EVAL_UID}:{EVAL_UID} {task.workdir}; }} && "
              f"mkdir -p -m 700 /tmp/swe-home && chown {EVAL_UID}:{EVAL_UID} /tmp/swe-home && "
              f"for d in {INTERPRETER_DIRS}; do "
              '[ -d "$d" ] && [ ! -L "$d" ] && chmod 1777 "$d"; done; true')
    found = derived_image(source, EVAL_IMAGE_REPO, ["sh", "-c", recipe],
                          f"{task.image_name}, its repo the eval user's", log)
    _eval_images[(source, task.workdir)] = found
    return found


def derived_image(source: str, repository: str, run: list[str], what: str,
                  log=lambda msg: None, nocache: bool = False) -> str:
    """The id of ``FROM source`` + one ``RUN run`` (no network), built once and cached as
    ``repository:<digest of source and run>``; a file lock keeps xdist workers from building
    it twice."""
    import hashlib
    import json

    import docker.errors
    from filelock import FileLock

    digest = hashlib.sha256(f"{source}\0{json.dumps(run)}".encode()).hexdigest()[:24]
    tag = f"{repository}:{digest}"
    if nocache or not _has_image(tag):
        LOCK_DIR.mkdir(parents=True, exist_ok=True)
        with FileLock(str(LOCK_DIR / f"derived-{digest}.lock")):
            if nocache or not _has_image(tag):
                log(f"preparing {tag} from {what}")
                dockerfile = f"FROM {source}\nRUN {json.dumps(run)}\n"
                try:
                    client().images.build(
                        fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True, forcerm=True,
                        network_mode="none", nocache=nocache,
                        labels={LABEL: "1", "swe_harness.source_image": source})
                except docker.errors.BuildError as exc:
                    tail = "".join(str(c.get("stream", c.get("error", ""))) for c in exc.build_log)
                    raise InfraError(f"{tag} from {what} failed to build: {exc.msg}\n"
                                     f"{tail[-2000:]}") from exc
                except docker.errors.APIError as exc:
                    raise InfraError(f"{tag} from {what} failed to build: {exc}") from exc
    return image_id(tag)


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
    return _local_id(name) is not None


def _local_id(name: str) -> str | None:
    """The id of the local image ``name``; None when there is none."""
    import docker.errors

    try:
        return client().images.get(name).id
    except docker.errors.ImageNotFound:
        return None


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


def engine_op(method):
    """Run ``method`` holding one of the engine's operation slots (see :func:`engine_slot`)."""
    @functools.wraps(method)
    def capped(*args, **kwargs):
        with engine_slot():
            return method(*args, **kwargs)
    return capped


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

    @engine_op
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

    @engine_op
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
        return last_line_archive(self._container.logs(stdout=True, stderr=False))

    def oom_killed(self) -> bool:
        self._container.reload()
        return bool(self._container.attrs["State"].get("OOMKilled"))

    def kill(self) -> None:
        import docker.errors

        try:
            self._container.kill()
        except docker.errors.APIError:
            pass

    @engine_op
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
UNPACK_AND_RUN = ["bash", "-c", 'printf %s "$SWE_INPUT" | base64 -d | '
                  'tar --no-same-owner -xzf - -C / && unset SWE_INPUT && exec bash /swe/run.sh']


def run_spec(spec, labels: dict[str, str], pool=None) -> RunOutput:
    """One fresh container for one evaluation spec: create (by image id), start, wait, read the
    runner's last line, remove. Five engine calls; errors propagate to the caller. With a warm
    ``pool`` whose containers match the spec (no network, same limits), the container comes
    started from the pool and the runner is started by exec."""
    import base64

    if pool is not None and not spec.network and (pool.limits.memory, pool.limits.pids) == (
            spec.memory, spec.pids):
        return _run_pooled(spec, pool)
    started = time.monotonic()
    archive = make_tar(spec.tar_files(), gzip=True, fifos=spec.FIFOS)
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
        remove_later(container.remove)
    return RunOutput(exit_code, outputs, oom, {"setup": round(setup, 3),
                                               "teardown": round(time.monotonic() - teardown, 3)})


_removals: set = set()  # removals in flight (futures)
_removals_lock = threading.Lock()
_remover = None


def remove_later(remove) -> None:
    """Call ``remove`` (a container's removal) off the critical path: the verdict does not wait
    for it. Pending removals finish before the interpreter exits (the executor's threads are
    joined then); :func:`settle` waits for them; the reaper removes what a killed process left."""
    global _remover
    from concurrent.futures import ThreadPoolExecutor

    with _removals_lock:
        if _remover is None:
            _remover = ThreadPoolExecutor(LIFECYCLE_CONCURRENCY, thread_name_prefix="swe-remove")
        # in this context: the engine (sandbox.engine) whose operation slot it takes
        future = _remover.submit(contextvars.copy_context().run, quietly, remove)
        _removals.add(future)
    future.add_done_callback(_removals.discard)


def settle(timeout_s: float = 120) -> None:
    """Wait until every removal started by :func:`remove_later` in this process is done."""
    from concurrent.futures import wait

    with _removals_lock:
        pending = list(_removals)
    wait(pending, timeout=timeout_s)


def _run_pooled(spec, pool) -> RunOutput:
    """The same runner in a fresh container from the pool, started by a launcher the pool opened
    ahead (:func:`open_eval_launcher`): the inputs go down its stdin, the runner's last line and
    exit code come back on its stdout; the container is released (removed off the critical
    path). No exec, no copy-in on the critical path: each costs ~40 ms on this engine."""
    started = time.monotonic()
    container = pool.acquire(spec.image_id, setup=open_eval_launcher)
    launcher = None
    try:
        launcher, container.prepared = container.prepared or open_eval_launcher(container), None
        environ = b"".join(f"{k}={v}".encode() + b"\0" for k, v in spec.environment)
        inputs = make_tar({**spec.tar_files(), "swe/environ": environ}, gzip=True,
                          fifos=spec.FIFOS)
        try:
            launcher.send(b"%d\n" % len(inputs) + inputs)
        except OSError as exc:
            container.raise_if_gone(exc)
            raise
        setup = time.monotonic() - started
        output, ended = read_stream(launcher, time.monotonic() + spec.timeout_s + 60)
        body, _, code = output.rstrip(b"\n").rpartition(b"\n")
        if ended and code.isdigit():
            exit_code = int(code)
        elif ended:  # the launcher did not say: the container went, or it was killed
            exit_code = container.exit_code(launcher)
        else:
            container.raise_if_gone()  # gone: an error; still running: the client deadline
            exit_code = None
        outputs = last_line_archive(body)
    finally:
        if launcher is not None:
            launcher.close()
        teardown = time.monotonic()
        container.release()
    return RunOutput(exit_code, outputs, False, {"setup": round(setup, 3),
                                                 "teardown": round(time.monotonic() - teardown, 3)})


# Reads the size of a gzipped tar, the tar (unpacked into /), the environment from
# /swe/environ (NUL-separated), then runs the runner and prints its exit code as a last line.
# `read` and `head -c` take exactly what is theirs from the pipe; the runner gets /dev/null.
EVAL_LAUNCHER = ["bash", "-c", 'IFS= read -r size || exit 97; '
                 'head -c "$size" | tar --no-same-owner -xzf - -C / || exit 98; '
                 'while IFS= read -r -d "" kv; do export "$kv"; done < /swe/environ; '
                 'rm -f /swe/environ; bash /swe/run.sh < /dev/null; printf "\\n%d\\n" "$?"']


def open_eval_launcher(container: "PooledContainer") -> "ExecStream":
    """A root shell in ``container`` waiting for one evaluation's inputs (the pool's setup for
    evaluation images: ``pool.prewarm(eval_image(task), setup=open_eval_launcher)``)."""
    return container.open_stream(EVAL_LAUNCHER, stderr=False)


def read_stream(stream: "ExecStream", deadline: float, max_bytes: int = 64 << 20
                ) -> tuple[bytes, bool]:
    """What ``stream`` prints until it ends (at most ``max_bytes``, the head): (output, whether
    it ended before ``deadline``)."""
    out = bytearray()
    while True:
        chunk = stream.read(max(deadline - time.monotonic(), 0))
        if chunk is None:
            return bytes(out), False
        if not chunk:
            return bytes(out), True
        if len(out) < max_bytes:
            out += chunk[:max_bytes - len(out)]


def last_line_archive(output: bytes) -> dict[str, bytes]:
    """The files a runner printed as the last line of ``output`` (base64 of a gzipped tar);
    nothing when that line is not one (the runner did not finish)."""
    import base64
    import binascii

    try:
        data = base64.b64decode(output.rstrip(b"\n").rsplit(b"\n", 1)[-1], validate=True)
        return read_tar(data) if data else {}
    except (binascii.Error, tarfile.TarError, EOFError, OSError):
        return {}


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


def make_tar(files: dict[str, bytes | str], gzip: bool = False, fifos: tuple[str, ...] = ()
             ) -> bytes:
    """A tar of ``files`` (relative path -> content; a path ending in ``/`` is a directory),
    and of named pipes (mode 600) at ``fifos``."""
    buf = io.BytesIO()
    now = time.time()
    options = {"mode": "w:gz", "compresslevel": 1} if gzip else {"mode": "w"}
    with tarfile.open(fileobj=buf, **options) as tar:
        for path in fifos:
            info = tarfile.TarInfo(path)
            info.type, info.mode, info.mtime = tarfile.FIFOTYPE, 0o600, now
            tar.addfile(info)
        for path, content in sorted(files.items()):
            if path.endswith("/"):
                info = tarfile.TarInfo(path.rstrip("/"))
                mode = 0o700 if path.endswith("out/") else 0o755  # the runner's outputs: root's
                info.type, info.mode, info.mtime = tarfile.DIRTYPE, mode, now
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
    keep = (lambda c: _owner_alive(c.labels.get(LABEL_OWNER, ""))) \
        if run is None and dead_only else (lambda c: False)
    return remove_labelled([f"{LABEL}=1"] + ([f"{LABEL_RUN}={run}"] if run else []), keep)


def remove_labelled(labels: list[str], keep=lambda container: False) -> int:
    """Remove (force) every container carrying ``labels`` but those ``keep`` spares; a container
    that vanishes meanwhile (another run removed it) is no error. Returns how many it removed."""
    import docker.errors

    removed = 0
    for container in client().containers.list(all=True, filters={"label": labels},
                                              ignore_removed=True):
        if keep(container):
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
    return [(task, *(by_tag.get(task.image_name) or _size_without_df(task.image_name)))
            for task in tasks]


# ---- agent: exec shell and warm pool
#
# The agent's containers: a derived image per task image whose repo shows nothing after the base
# commit, fresh containers kept warm per image (created and started ahead, one use each, removed
# off the critical path), and a raw exec stream into them for the persistent shell
# (swe_harness.agent.shell). Pooled containers carry the run labels, so ``reap`` removes them.

AGENT_IMAGE_REPO = "swe-harness/agent"
LABEL_SOURCE_IMAGE = "swe_harness.source_image"
# PID 1 of a pooled container: a bash loop. From inside the container PID 1 cannot be killed (it
# has no handler for any signal), so nothing the agent runs can stop the container, and bash
# reaps the zombies orphaned to it. Docker's init would exit when its one child is killed.
IDLE_COMMAND = ["bash", "-c", "trap '' TERM INT HUP QUIT USR1 USR2; "
                              "while :; do sleep 86400 & wait $!; done"]
LIFECYCLE_CONCURRENCY = 4  # creates+starts+removals at once: the engine saturates near 6-7/s


# Rewrites the repo's history so that nothing after the base commit is left: a fresh repository
# fetches only what HEAD reaches, HEAD is detached at the base commit, and no branch, tag, remote,
# reflog, stash, note, replace ref or unreachable object survives.
SANITIZE_GIT = r"""
set -euo pipefail
cd "$SWE_WORKDIR"
git rev-parse --verify -q HEAD >/dev/null || { echo "swe_harness: no git commit at $SWE_WORKDIR" >&2; exit 3; }
base=$(git rev-parse HEAD)
git update-ref refs/swe-harness/base "$base"
tmp=$(mktemp -d)
git init -q "$tmp"
git -C "$tmp" -c core.logAllRefUpdates=false fetch -q --no-tags "file://$PWD" refs/swe-harness/base
git -C "$tmp" -c core.logAllRefUpdates=false update-ref --no-deref HEAD "$base"
if [ -d .git/info ]; then cp -a .git/info/. "$tmp/.git/info/"; fi
for key in core.autocrlf core.eol core.filemode core.ignorecase core.symlinks core.precomposeunicode; do
  if value=$(git config --local --get "$key"); then git -C "$tmp" config "$key" "$value"; fi
done
rm -rf .git
mv "$tmp/.git" .git
rmdir "$tmp"
rm -rf .git/logs .git/FETCH_HEAD .git/ORIG_HEAD .git/refs/heads/* .git/refs/tags/*
git read-tree HEAD
git update-index -q --refresh >/dev/null || true
test -z "$(git for-each-ref)" && test "$(git rev-parse HEAD)" = "$base"
echo "swe_harness: base $base"
"""


def agent_image(task: Task, policy: str = "missing", log=lambda msg: None) -> str:
    """The id of the image the agent's containers run: the task image with its history cut at
    the base commit (see SANITIZE_GIT), made once per (source image id, workdir). The
    evaluation keeps using the task's own content (``eval_image``)."""
    known = _agent_images.get((task.image_name, task.workdir))
    if known and policy != "always":
        return known
    found = derived_image(ensure_image(task, policy, log), AGENT_IMAGE_REPO,
                          agent_recipe(task.workdir),
                          f"{task.image_name}, history cut at the base commit", log)
    _agent_images[(task.image_name, task.workdir)] = found
    return found


def agent_recipe(workdir: str) -> list[str]:
    return ["env", f"SWE_WORKDIR={workdir}", "bash", "-c", SANITIZE_GIT]


_agent_images: dict[tuple[str, str], str] = {}  # (task image, workdir) -> agent image id


def agent_client():
    """The current engine's client with a connection pool sized for many concurrent episodes
    (each exec stream holds a connection); one per engine."""
    client()  # one clear InfraError when no engine answers
    return _agent_client(_ENGINE.get())


@functools.cache
def _agent_client(url: str | None):
    import docker

    if url:
        return docker.DockerClient(base_url=url, timeout=CLIENT_TIMEOUT_S, max_pool_size=256)
    return docker.from_env(timeout=CLIENT_TIMEOUT_S, max_pool_size=256)


class ExecStream:
    """One process started by exec in a running container, with its stdin, and its stdout and
    stderr as one byte stream (Docker's multiplexed frames, unwrapped)."""

    def __init__(self, api, container_id: str, command: list[str],
                 environment: dict | None = None, workdir: str | None = None,
                 stderr: bool = True):
        self._api = api  # the low-level client of the container's engine
        self.exec_id = api.exec_create(container_id, command, stdin=True, stdout=True,
                                       stderr=stderr, tty=False, environment=environment,
                                       workdir=workdir, user="root")["Id"]
        raw = api.exec_start(self.exec_id, socket=True)
        self._raw = raw  # keeps the HTTP response (and so the connection) alive
        self._sock = getattr(raw, "_sock", raw)
        self._sock.settimeout(None)
        self._frames = bytearray()
        self._need = 0  # payload bytes left in the current frame
        self.eof = False

    def send(self, data: bytes) -> None:
        self._sock.sendall(data)

    def read(self, timeout_s: float | None) -> bytes | None:
        """The next output bytes; b"" at end of stream; None when nothing came in time."""
        import select

        while True:
            out = self._unframe()
            if out:
                return out
            if self.eof:
                return b""
            ready, _, _ = select.select([self._sock], [], [], timeout_s)
            if not ready:
                return None
            try:
                chunk = self._sock.recv(1 << 18)
            except (ConnectionError, OSError):
                chunk = b""
            if not chunk:
                self.eof = True
            self._frames += chunk

    def _unframe(self) -> bytes:
        out = bytearray()
        buf = self._frames
        pos = 0
        while pos < len(buf):
            if self._need:
                take = min(self._need, len(buf) - pos)
                out += buf[pos:pos + take]
                pos += take
                self._need -= take
                continue
            if len(buf) - pos < 8:
                break
            self._need = int.from_bytes(buf[pos + 4:pos + 8], "big")
            pos += 8
        del buf[:pos]
        return bytes(out)

    def exit_code(self) -> int | None:
        try:
            return self._api.exec_inspect(self.exec_id).get("ExitCode")
        except Exception:
            return None

    def close(self) -> None:
        for closer in (getattr(self._sock, "close", None), getattr(self._raw, "close", None)):
            try:
                if closer:
                    closer()
            except OSError:
                pass


class ContainerGone(InfraError):
    """The container stopped or vanished, which nothing inside it can cause: removed or killed
    from outside, or the engine is gone."""


class PooledContainer:
    """A started container from the pool: exec streams, one-shot execs, copies in, removal."""

    def __init__(self, docker_container, image: str, pool: "WarmPool | None" = None):
        self.container = docker_container
        self.id = docker_container.id
        self.image = image
        self._pool = pool
        self.prepared = None  # what the pool's setup for this image made ahead (a shell)

    def open_stream(self, command: list[str], environment: dict | None = None,
                    workdir: str | None = None, stderr: bool = True) -> ExecStream:
        try:
            return ExecStream(self.container.client.api, self.id, command, environment, workdir,
                              stderr)
        except Exception as exc:
            self.raise_if_gone(exc)
            raise

    def exec(self, command: list[str], timeout_s: float = 60, environment: dict | None = None,
             workdir: str | None = None, max_bytes: int = 64 << 20,
             stderr: bool = True) -> tuple[int | None, bytes]:
        """Run ``command`` to its end: (exit code or None on timeout, its output: stdout, and
        stderr interleaved unless ``stderr=False``; at most ``max_bytes``, the head)."""
        stream = self.open_stream(command, environment, workdir, stderr)
        try:
            out, ended = read_stream(stream, time.monotonic() + timeout_s, max_bytes)
        finally:
            stream.close()
        if not ended:
            return None, out
        return self.exit_code(stream), out

    def exit_code(self, stream: ExecStream) -> int | None:
        """The exit code of an ended stream's process; ContainerGone when the container went
        with it (it is read a moment after the stream closes)."""
        for _ in range(50):
            code = stream.exit_code()
            if code is not None:
                return code
            time.sleep(0.005)
        self.raise_if_gone()
        return None

    def put_archive(self, archive: bytes, dest: str = "/") -> None:
        self.container.put_archive(dest, archive)

    def running(self) -> bool:
        """False when the container is gone or stopped (killed from outside)."""
        import docker.errors

        try:
            self.container.reload()
        except docker.errors.NotFound:
            return False
        return self.container.status == "running"

    def raise_if_gone(self, cause: Exception | None = None) -> None:
        import docker.errors
        import requests

        try:
            alive = self.running()
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise ContainerGone(f"Docker engine unreachable: {exc}") from exc
        if not alive:
            raise ContainerGone(f"container {self.id[:12]} was stopped or removed from outside"
                                + (f" ({cause})" if cause else "")) from cause

    def release(self) -> None:
        """Give it back: it is removed off the critical path (one use each)."""
        if self._pool is not None:
            self._pool.release(self)
        else:
            remove_container(self.container)


def remove_container(docker_container) -> None:
    import docker.errors

    try:
        docker_container.remove(force=True, v=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        if exc.status_code != 409:  # 409: a removal already in progress
            raise


class WarmPool:
    """Fresh containers per image, created and started ahead, each used once.

    ``acquire(image)`` hands out a started container (idle under a PID-1 loop) and tops the
    image's stock up to ``size`` in the background; ``release`` removes it in the background.
    Creates, starts and removals run on their own ``lifecycle_concurrency`` workers, apart from
    the callers running episodes. ``close`` removes every container the pool made.

    Evaluations take containers of their evaluation image with ``EvalOptions(pool=pool)``;
    ``pool.prewarm(eval_image(task), setup=open_eval_launcher)`` readies them ahead.
    """

    def __init__(self, size: int = 2, limits: Limits | None = None,
                 lifecycle_concurrency: int = LIFECYCLE_CONCURRENCY,
                 labels: dict[str, str] | None = None):
        from concurrent.futures import ThreadPoolExecutor

        self.size = size
        self.limits = limits or Limits()
        self.labels = labels or {}
        # the engine of the context the pool is made in: its threads work there too
        self._engine = _ENGINE.get()
        self._executor = ThreadPoolExecutor(lifecycle_concurrency, thread_name_prefix="swe-pool")
        self._stock: dict[str, list] = {}  # image -> futures of started containers
        self._live: dict[str, object] = {}  # every container made and not yet removed
        self._released: set[str] = set()
        self._setup: dict[str, object] = {}  # image -> setup run on containers made ahead
        self._lock = threading.Lock()
        self._closed = False
        self.stats = {"hits": 0, "misses": 0, "created": 0, "removed": 0}

    def prewarm(self, image: str, count: int | None = None, setup=None) -> None:
        with self._lock:
            if setup is not None:
                self._setup.setdefault(image, setup)
            self._top_up(image, self.size if count is None else count)

    def acquire(self, image: str, setup=None) -> PooledContainer:
        """A started container of ``image``. ``setup(container)``, registered by the first
        caller per image, runs on containers made ahead (off the critical path); its result is
        ``container.prepared`` (None when made on demand, or when it failed)."""
        with self._lock:
            if self._closed:
                raise InfraError("the warm pool is closed")
            if setup is not None:
                self._setup.setdefault(image, setup)
            stock = self._stock.setdefault(image, [])
            ready = [f for f in stock if f.done() and not f.exception()]
            future = ready[0] if ready else (stock[0] if stock else None)
            if future is not None:
                stock.remove(future)
                self.stats["hits" if future.done() else "misses"] += 1
            else:
                future = self._executor.submit(self._create, image, False)
                self.stats["misses"] += 1
            self._top_up(image, self.size)
        try:
            return future.result()
        except InfraError:
            raise
        except Exception as exc:
            raise InfraError(f"could not start a container of {image}: {exc}") from exc

    def release(self, container: PooledContainer) -> None:
        with self._lock:
            if container.id not in self._live or container.id in self._released:
                return
            self._released.add(container.id)
            if not self._closed:
                self._executor.submit(self._remove, container.container)
                return
        self._remove(container.container)

    def close(self) -> None:
        """Remove every container this pool made, waiting for creates in flight."""
        with self._lock:
            self._closed = True
            futures = [f for stock in self._stock.values() for f in stock]
            self._stock.clear()
        for future in futures:
            future.cancel()
        self._executor.shutdown(wait=True, cancel_futures=True)
        for future in futures:
            if future.done() and not future.cancelled() and not future.exception():
                closer = getattr(future.result().prepared, "close", None)
                if closer:
                    quietly(closer)
        with self._lock:
            leftovers = list(self._live.values())
            self._live.clear()
        for docker_container in leftovers:
            quietly(self._remove, docker_container)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _top_up(self, image: str, target: int) -> None:
        stock = self._stock.setdefault(image, [])
        while len(stock) < target and not self._closed:
            stock.append(self._executor.submit(self._create, image, True))

    def _create(self, image: str, ahead: bool) -> PooledContainer:
        with engine(self._engine):
            return self._create_here(image, ahead)

    def _create_here(self, image: str, ahead: bool) -> PooledContainer:
        limits = self.limits
        docker_container = agent_client().containers.create(
            image, entrypoint=IDLE_COMMAND[:1], command=IDLE_COMMAND[1:],
            name=f"swe-pool-{image.split(':')[-1][:12]}-{uuid.uuid4().hex[:8]}",
            labels={LABEL: "1", LABEL_RUN: run_id(), LABEL_OWNER: owner(),
                    LABEL_INSTANCE: "pool", LABEL_WORKER: os.environ.get(
                        "PYTEST_XDIST_WORKER", "main"), **self.labels},
            network_mode="none", init=False, mem_limit=limits.memory,
            memswap_limit=limits.memory, pids_limit=limits.pids, nano_cpus=limits.nano_cpus,
            user="root", security_opt=["no-new-privileges"], log_config={"type": "none"},
            stop_signal="SIGKILL")
        with self._lock:
            self._live[docker_container.id] = docker_container
            self.stats["created"] += 1
            closed = self._closed
        if closed:
            self._remove(docker_container)
            raise InfraError("the warm pool closed")
        docker_container.start()
        container = PooledContainer(docker_container, image, self)
        setup = self._setup.get(image) if ahead else None
        if setup is not None:
            try:
                container.prepared = setup(container)
            except Exception:  # the caller prepares it again, where errors are reported
                container.prepared = None
        return container

    def _remove(self, docker_container) -> None:
        remove_container(docker_container)
        with self._lock:
            if self._live.pop(docker_container.id, None) is not None:
                self.stats["removed"] += 1
            self._released.discard(docker_container.id)


# ---- engines: which engine, and a cap on concurrent operations per engine
# Docker and Podman (its Docker-compatible service) are both reached through the docker SDK; the
# engine is DOCKER_HOST for the process, or ``engine(url)`` for one context (tests that target
# Podman beside Docker). Engine-specific differences live in this section only.

DEFAULT_ENGINE = "unix:///var/run/docker.sock"
# Container creates/starts/removals one engine takes at once from this host: a burst of them
# (many evaluations starting together on a node) otherwise makes every daemon call slow.
ENGINE_OPS = int(os.environ.get("SWE_HARNESS_ENGINE_OPS", "8"))
_ENGINE: contextvars.ContextVar[str | None] = contextvars.ContextVar("swe_harness_engine",
                                                                     default=None)


@contextlib.contextmanager
def engine(url: str | None):
    """Talk to the engine at ``url`` (e.g. ``unix:///run/podman/podman.sock``) in this context;
    None: the process default (``DOCKER_HOST``)."""
    token = _ENGINE.set(url)
    try:
        yield
    finally:
        _ENGINE.reset(token)


def engine_url() -> str:
    return _ENGINE.get() or os.environ.get("DOCKER_HOST") or DEFAULT_ENGINE


@functools.cache
def _engine_client(url: str | None):
    import docker
    import docker.errors

    try:
        if url:
            docker_client = docker.DockerClient(base_url=url, timeout=CLIENT_TIMEOUT_S)
        else:
            docker_client = docker.from_env(timeout=CLIENT_TIMEOUT_S)
        docker_client.ping()
    except docker.errors.DockerException as exc:
        _engine_client.cache_clear()
        raise InfraError(f"Docker engine unreachable ({url or engine_url()}): {exc}") from exc
    return docker_client


@contextlib.contextmanager
def engine_slot():
    """Hold one of ``ENGINE_OPS`` slots of the current engine, shared by every process on this host
    (xdist workers, Ray workers of every node on it): a pool of ``flock``-ed files, released by
    the kernel when a holder dies."""
    import fcntl
    import hashlib

    if ENGINE_OPS <= 0:
        yield
        return
    key = hashlib.sha256(engine_url().encode()).hexdigest()[:12]
    LOCK_DIR.mkdir(parents=True, exist_ok=True)
    delay = 0.001
    while True:
        for slot in range(ENGINE_OPS):
            fd = os.open(LOCK_DIR / f"engine-{key}.{slot}.slot", os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            try:
                yield
            finally:
                os.close(fd)  # closing the file releases the lock
            return
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


# ---- engines: podman
# Podman's service (`podman system service`) answers the same API; what differs is handled here.
# Needed on the host (see scripts/podman.sh): catatonit for `init`, and default ulimits the
# runtime may set (rootful Podman asks for more nofile/nproc than an unprivileged root may).


def _size_without_df(name: str) -> tuple[int | None, None]:
    """(size, unknown unique size) from the image itself: Podman's /system/df names images by
    their tag alone, without the repository."""
    import docker.errors

    try:
        return client().images.get(name).attrs.get("Size"), None
    except docker.errors.ImageNotFound:
        return None, None


# ---------------------------------------------------------------- images at scale (issue 11)


def _images():
    """images.py (context hashes, prune, save/load), imported late: it imports this module."""
    from . import images

    return images


def remove_owned() -> int:
    """Remove every container this process created (its ``swe_harness.owner`` label), running
    or not: what an interrupted CLI run leaves. Returns how many were removed."""
    return remove_labelled([f"{LABEL}=1", f"{LABEL_OWNER}={owner()}"])
