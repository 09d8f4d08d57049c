"""A persistent bash session in a running container, over one exec stream.

Each command is sent to a long-lived bash (no new ``docker exec`` per step) and runs there in
a child ``bash`` under ``timeout``, in its own process group, with stdin from /dev/null. The
working directory and the exported variables carry over to the next command (saved by the
child on exit, restored by the next one); whatever the command leaves running is killed with
its process group when it ends. The end of a command is a line with a marker that is new for
every command. Output is kept head and tail (``max_output_bytes`` each), however much comes.

When the session itself dies (``kill -9 -1``, an agent killing bash), the next command finds a
new session with the same directory and variables, and says so (``restarted``). Only a
container that is gone raises (:class:`swe_harness.sandbox.ContainerGone`): nothing inside it
can cause that.

The container is duck-typed: ``open_stream(cmd, environment, workdir)`` -> a stream with
``send(bytes)``, ``read(timeout) -> bytes | b"" | None`` and ``close()``; ``exec(cmd,
timeout_s)``; ``raise_if_gone()``. :class:`swe_harness.sandbox.PooledContainer` is one.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from .prompt import decode

STATE_DIR = "/tmp/.swe_shell"
ENVIRONMENT = {
    "PAGER": "cat", "MANPAGER": "cat", "GIT_PAGER": "cat", "SYSTEMD_PAGER": "", "LESS": "-R",
    "TERM": "dumb", "NO_COLOR": "1", "PIP_PROGRESS_BAR": "off", "PIP_NO_INPUT": "1",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1", "TQDM_DISABLE": "1", "PYTHONUNBUFFERED": "1",
    "DEBIAN_FRONTEND": "noninteractive", "GIT_TERMINAL_PROMPT": "0", "CI": "true",
    "HISTFILE": "/dev/null",
}
# Runs each command (argument $1). State: the directory and the exported variables.
_CHILD = r"""
__swe_d=%(dir)s
. "$__swe_d/env" 2>/dev/null
IFS= read -r __swe_cwd < "$__swe_d/cwd" 2>/dev/null && cd -- "$__swe_cwd" 2>/dev/null
unset __swe_cwd
trap '__swe_rc=$?; { pwd > "$__swe_d/cwd"; export -p > "$__swe_d/env"; } 2>/dev/null; exit $__swe_rc' EXIT
eval "$1"
"""
# The session: defines __swe_run (marker, timeout; the command on stdin) and says it is ready.
_SESSION = r"""exec 2>&1
__swe_d=%(dir)s
mkdir -p "$__swe_d"
[ -f "$__swe_d/cwd" ] || { pwd > "$__swe_d/cwd"; export -p > "$__swe_d/env"; }
__swe_child=%(child)s
__swe_run() {
  local __swe_cmd __swe_pid __swe_rc
  IFS= read -r -d '' __swe_cmd
  [ -d "$__swe_d" ] || mkdir -p "$__swe_d"
  timeout -k 2 "$2" bash --noprofile --norc -c "$__swe_child" bash "$__swe_cmd" </dev/null 2>&1 &
  __swe_pid=$!
  wait "$__swe_pid" 2>/dev/null; __swe_rc=$?
  kill -9 -- "-$__swe_pid" 2>/dev/null
  printf '%%s %%d\n' "$1" "$__swe_rc"
}
printf '%%s %%d %%s\n' %(ready)s "$$" "$(git rev-parse HEAD 2>/dev/null || echo -)"
"""


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


@dataclass
class CommandResult:
    output: str  # the head of the output (all of it when nothing was dropped)
    exit_code: int | None  # None when the session died under the command
    duration_s: float
    timed_out: bool = False
    restarted: bool = False  # the session had died and a new one runs the next command
    tail: str = ""  # the tail of the output, when bytes were dropped between head and tail
    dropped_bytes: int = 0
    total_bytes: int = 0


class _Capture:
    """Head and tail of a byte stream, each at most ``cap`` bytes."""

    def __init__(self, cap: int):
        self.cap = cap
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, data: bytes | bytearray) -> None:
        self.total += len(data)
        room = self.cap - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > 2 * self.cap:
                del self.tail[:len(self.tail) - self.cap]

    def result(self) -> tuple[str, str, int]:
        tail = self.tail[-self.cap:] if len(self.tail) > self.cap else self.tail
        dropped = self.total - len(self.head) - len(tail)
        if not dropped:
            return decode(bytes(self.head + tail)), "", 0
        return decode(bytes(self.head)), decode(bytes(tail)), dropped


class ShellError(Exception):
    """The session could not be (re)started although the container runs: something the agent
    ran broke it (e.g. every pid taken). The episode goes on; the next command tries again."""


class Shell:
    GRACE_S = 5.0  # past the command's timeout before the session counts as hung

    def __init__(self, container, workdir: str, max_output_bytes: int = 256 << 10,
                 environment: dict[str, str] | None = None):
        self.container = container
        self.workdir = workdir
        self.max_output_bytes = max_output_bytes
        self.environment = {**ENVIRONMENT, **(environment or {})}
        self.head_commit: str | None = None  # HEAD when the first session started
        self.pid: int | None = None
        self.restarts = 0
        self._stream = None

    def start(self) -> None:
        """Open the session (again). Raises ContainerGone or ShellError."""
        self.close()
        ready = f"__SWE_READY_{uuid.uuid4().hex}__"
        session = _SESSION % {"dir": STATE_DIR, "child": _quote(_CHILD % {"dir": STATE_DIR}),
                              "ready": ready}
        last_error = None
        for attempt in range(3):
            try:
                stream = self.container.open_stream(["bash", "--noprofile", "--norc"],
                                                    self.environment, self.workdir)
            except Exception as exc:
                self.container.raise_if_gone(exc)
                last_error = exc
                time.sleep(0.2 * (attempt + 1))
                continue
            stream.send(session.encode())
            found, text, _ = self._read_until(stream, ready, time.monotonic() + 30, None)
            if found is not None:
                pid, _, head = found.partition(" ")
                self.pid = int(pid) if pid.isdigit() else None
                if self.head_commit is None and head not in ("", "-"):
                    self.head_commit = head.strip()
                self._stream = stream
                return
            stream.close()
            self.container.raise_if_gone()
            last_error = ShellError(f"the shell did not start: {text[-500:]!r}")
            time.sleep(0.2 * (attempt + 1))
        raise ShellError(f"could not start a shell in the container: {last_error}")

    def run(self, command: str, timeout_s: float) -> CommandResult:
        """Run one command. A dead session is restarted first (``restarted`` set)."""
        started = time.monotonic()
        restarted = False
        if self._stream is None or self._stream.eof:
            try:
                self.start()
            except ShellError as exc:  # e.g. every pid taken by what the agent left running
                self.restarts += 1
                return CommandResult(f"[the shell could not be started: {exc}]\n", None,
                                     time.monotonic() - started, restarted=True)
            restarted = self.restarts > 0
        marker = f"__SWE_DONE_{uuid.uuid4().hex}__"
        delimiter = f"__SWE_EOF_{uuid.uuid4().hex}__"
        body = command if command.endswith("\n") else command + "\n"
        script = f"__swe_run {marker} {timeout_s:g} <<'{delimiter}'\n{body}{delimiter}\n"
        self._drain()
        capture = _Capture(self.max_output_bytes)
        try:
            self._stream.send(script.encode("utf-8", "surrogateescape"))
        except OSError:
            self._stream.eof = True
        found, _, hung = self._read_until(self._stream, marker,
                                          started + timeout_s + self.GRACE_S, capture)
        duration = time.monotonic() - started
        head, tail, dropped = capture.result()
        if found is not None:
            code = int(found) if found.lstrip("-").isdigit() else None
            timed_out = code == 124 or (code in (137, -9) and duration >= timeout_s)
            return CommandResult(head, code, duration, timed_out, restarted, tail, dropped,
                                 capture.total)
        # the session died (or hung past the grace period): a container that is gone is the
        # harness's problem; anything else was done from inside, so restart the session
        self.container.raise_if_gone()
        if hung:
            self._kill_all()
        self.close()
        self.restarts += 1
        try:
            self.start()
        except ShellError as exc:
            head += f"\n[the shell could not be restarted: {exc}]\n"
        return CommandResult(head, None, duration, hung, True, tail, dropped, capture.total)

    def _read_until(self, stream, marker: str, deadline: float, capture: _Capture | None):
        """Read until ``marker`` and the rest of its line: (rest of line, text before, hung).
        (None, ..., False) at end of stream; (None, ..., True) when the deadline passed."""
        needle = marker.encode()
        window = bytearray()
        keep = len(needle) + 64
        seen = bytearray()
        while True:
            at = window.find(needle)
            if at >= 0:
                end = window.find(b"\n", at)
                if end >= 0:
                    if capture is not None:
                        capture.add(window[:at])
                    else:
                        seen += window[:at]
                    return decode(bytes(window[at + len(needle):end])).strip(), decode(
                        bytes(seen)), False
            elif len(window) > keep:
                cut = len(window) - keep
                if capture is not None:
                    capture.add(window[:cut])
                elif len(seen) < 4096:
                    seen += window[:cut]
                del window[:cut]
            left = deadline - time.monotonic()
            if left <= 0:
                if capture is not None:
                    capture.add(window)
                return None, decode(bytes(seen + window)), True
            chunk = stream.read(left)
            if chunk is None:
                continue
            if not chunk:
                if capture is not None:
                    capture.add(window)
                return None, decode(bytes(seen + window)), False
            window += chunk

    def _drain(self) -> None:
        """Drop output that came between commands (from processes that left their group)."""
        while self._stream is not None and not self._stream.eof:
            chunk = self._stream.read(0)
            if not chunk:
                return

    def _kill_all(self) -> None:
        """A session hung past its timeout (the agent disabled ``timeout``): kill every
        process in the container but PID 1."""
        try:
            self.container.exec(["kill", "-9", "-1"], timeout_s=10)
        except Exception:
            self.container.raise_if_gone()

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
