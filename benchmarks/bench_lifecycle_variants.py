#!/usr/bin/env python
"""Container-lifecycle variants on docker-py: where can an evaluation's fixed cost go down?

Run by hand from the repository root (about 1.5 minutes on 2 cores):

    .venv/bin/python benchmarks/bench_lifecycle_variants.py [-n 20] [--image IMAGE]

The bare variants run the same tiny "runner" (read the inputs, write a result) through different
sequences of Docker calls; the last three are the real harness, a prototype of it, and the floor.
All run interleaved round-robin so that background load hits all alike:

  archive   create -> put_archive -> start -> wait -> get_archive -> remove
            (swe_harness up to b4e43b3)
  no_init   the same with init=False
  logs      create -> put_archive -> start -> wait -> logs -> remove  (result on stdout, no get_archive)
  attach    create -> put_archive -> attach(stream) -> start -> read to EOF -> wait -> remove
            (what `docker run` does: output streamed while it runs)
  pool      create + put_archive done ahead (off the critical path, e.g. while the previous
            evaluation runs); the critical path is start -> wait -> get_archive -> remove
  attach_pool  both: created + filled ahead, then attach -> start -> read to EOF -> wait -> remove
  env_logs  inputs as base64 of a gzipped tar in an environment variable of the create call,
            outputs as the last stdout line read with logs(): create -> start -> wait -> logs ->
            remove (what swe_harness does since b4aae2a)
  stdin_attach  no archive calls at all: create(stdin_open) -> attach(stdin+stdout) -> start ->
            send the input tar on stdin (runner: `tar -x -C /`) -> read the output tar from stdout
            (runner: `tar -C /swe/out -cf - .`) -> wait -> remove; the same API calls as `docker run -i`
  evaluate        swe_harness.evaluate() on the synthetic task of bench_overhead.py (overhead =
                  total - eval), i.e. the real runner.sh with git apply etc.
  evaluate_stdin  PROTOTYPE, not swe_harness code: the same inputs (container_files), environment,
                  limits and runner.sh, but moved in and out like stdin_attach (overhead = total - eval)
  cli_run   `docker run --rm --network none IMAGE true` (the floor of issue 4)

It is evidence for docs/benchmarks.md, not a test; every container it makes carries the label
``swe_harness.bench`` and is removed.
"""

from __future__ import annotations

import argparse
import io
import socket
import struct
import statistics
import subprocess
import sys
import tarfile
import time
import uuid

from swe_harness import sandbox
from swe_harness.base_image import base_image_name

LABELS = {"swe_harness.bench": f"variants-{uuid.uuid4().hex[:8]}"}
INPUTS = {"swe/run.sh": "#!/bin/bash\n" + "# padding\n" * 300, "swe/candidate.diff": "x" * 2000,
          "swe/eval_script.sh": "exit 0\n", "swe/out/": b""}
RUNNER = ("cat /swe/run.sh /swe/candidate.diff >/dev/null; "
          "printf 'phase=done\\neval_exit_code=0\\n' > /swe/out/result; cat /swe/out/result")


def p(values, q):
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo, hi = int(pos), min(int(pos) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def demux(raw: socket.socket) -> dict[int, bytes]:
    """Read a non-tty attach stream to EOF; split Docker's 8-byte-header frames by stream."""
    chunks = []
    while chunk := raw.recv(65536):
        chunks.append(chunk)
    buf, out, i = b"".join(chunks), {1: b"", 2: b""}, 0
    while i + 8 <= len(buf):
        stream, size = struct.unpack(">BxxxL", buf[i:i + 8])
        out[stream] = out.get(stream, b"") + buf[i + 8:i + 8 + size]
        i += 8 + size
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=20)
    parser.add_argument("--image", default=base_image_name(),
                        help="image for the bare variants (default: the harness base image)")
    args = parser.parse_args()
    client = sandbox.client()
    image = args.image
    tar = sandbox.make_tar(INPUTS)

    def create(init=True):
        return client.containers.create(image, ["bash", "-c", RUNNER], network_mode="none",
                                        init=init, labels=LABELS)

    def archive(init=True):
        t0 = time.perf_counter()
        c = create(init)
        c.put_archive("/", tar)
        c.start()
        c.wait()
        b"".join(c.get_archive("/swe/out")[0])
        c.remove(force=True, v=True)
        return time.perf_counter() - t0

    def logs():
        t0 = time.perf_counter()
        c = create()
        c.put_archive("/", tar)
        c.start()
        c.wait()
        out = c.logs(stdout=True, stderr=False)
        assert b"phase=done" in out, out
        c.remove(force=True, v=True)
        return time.perf_counter() - t0

    def attach():
        t0 = time.perf_counter()
        c = create()
        c.put_archive("/", tar)
        stream = c.attach(stdout=True, stderr=True, stream=True, logs=True)
        c.start()
        out = b"".join(stream)
        c.wait()
        assert b"phase=done" in out, out
        c.remove(force=True, v=True)
        return time.perf_counter() - t0

    def pool():
        c = create()  # ahead of time, off the critical path
        c.put_archive("/", tar)
        t0 = time.perf_counter()
        c.start()
        c.wait()
        b"".join(c.get_archive("/swe/out")[0])
        c.remove(force=True, v=True)
        return time.perf_counter() - t0

    def attach_pool():
        c = create()  # ahead of time, off the critical path
        c.put_archive("/", tar)
        t0 = time.perf_counter()
        stream = c.attach(stdout=True, stderr=True, stream=True, logs=True)
        c.start()
        out = b"".join(stream)
        c.wait()
        assert b"phase=done" in out, out
        c.remove(force=True, v=True)
        return time.perf_counter() - t0

    def stdin_attach():
        t0 = time.perf_counter()
        c = client.containers.create(
            image, ["bash", "-c", "tar -x -C / && { " + RUNNER + "; } >&2 && tar -C /swe/out -cf - ."],
            network_mode="none", init=True, labels=LABELS, stdin_open=True)
        sock = client.api.attach_socket(c.id, params={"stdin": 1, "stdout": 1, "stderr": 1,
                                                      "stream": 1})
        raw = sock._sock
        c.start()
        raw.sendall(tar)
        raw.shutdown(socket.SHUT_WR)
        out = demux(raw)
        raw.close()
        rc = c.wait()["StatusCode"]
        c.remove(force=True, v=True)
        assert rc == 0 and len(out[1]) >= 1024, (rc, out)
        return time.perf_counter() - t0

    # the real harness and a prototype of it on the stdin/stdout path, on bench_overhead's task
    import tempfile
    from pathlib import Path

    import bench_overhead as bo

    task = bo.load_one(bo.write_task(Path(tempfile.mkdtemp(prefix="bench-variants-")),
                                     "bench-trivial", "trivial"))
    sandbox.ensure_image(task, "always")
    spec = bo.build_spec(task, bo.patchlib.normalize(task.gold_candidate), bo.EvalOptions(),
                         sandbox.ensure_image(task, "missing"))
    files, env = spec.tar_files(), dict(spec.environment)
    # the wrapper *becomes* the runner (exec) and the runner itself writes the output tar, to
    # fd 3 = stdout
    last = "main; exit $?"
    runner = files["swe/run.sh"].decode()
    proto_ok = runner.rstrip().endswith(last)
    files = {**files, "swe/run.sh": runner.rstrip()[: -len(last)]
             + "main; rc=$?; trap - EXIT; emit_outputs >/dev/null; tar -C /swe/out -cf - . >&3; exit $rc\n"}

    def evaluate():
        r = bo.evaluate(task, task.gold_candidate, kind="gold")
        assert r.status == "passed", r
        return r.duration_s["total"] - r.duration_s["eval"]

    def evaluate_stdin():
        t0 = time.perf_counter()
        c = client.containers.create(
            spec.image_id, ["bash", "-c", "mkdir -p /swe && tar --no-same-owner -x -C / && exec bash /swe/run.sh 3>&1 >/dev/null 2>&1"], working_dir=task.workdir, network_mode="none",
            init=True, mem_limit="4g", memswap_limit="4g", pids_limit=2048, environment=env,
            user="root", security_opt=["no-new-privileges"], labels=LABELS, stdin_open=True)
        try:
            sock = client.api.attach_socket(c.id, params={"stdin": 1, "stdout": 1, "stderr": 1,
                                                          "stream": 1})
            raw = sock._sock
            c.start()
            raw.sendall(sandbox.make_tar(files))
            raw.shutdown(socket.SHUT_WR)
            out = demux(raw)
            raw.close()
            c.wait()
            assert out[1], out[2]
            with tarfile.open(fileobj=io.BytesIO(out[1])) as tar_out:
                result = tar_out.extractfile("./result").read().decode()
        finally:
            c.remove(force=True, v=True)
        fields = bo.parse_fields(result)
        assert fields.get("eval_exit_code") == "0", (fields, out[2])
        return (time.perf_counter() - t0) - (float(fields["t_eval_end"]) - float(fields["t_apply_end"]))

    cli = ["docker", "run", "--rm", "--network", "none", "--label",
           f"swe_harness.bench={LABELS['swe_harness.bench']}", image, "true"]

    def cli_run():
        t0 = time.perf_counter()
        subprocess.run(cli, check=True, capture_output=True)
        return time.perf_counter() - t0

    def env_logs():
        import base64
        t0 = time.perf_counter()
        blob = base64.b64encode(sandbox.make_tar(INPUTS, gzip=True)).decode()
        c = client.containers.create(
            image, ["bash", "-c", 'printf %s "$SWE_INPUT" | base64 -d | tar -xzf - -C / && '
                    "{ " + RUNNER + "; } >/dev/null && echo && tar -C /swe/out -czf - . | base64 -w0"],
            network_mode="none", init=True, labels=LABELS, environment={"SWE_INPUT": blob})
        c.start()
        c.wait()
        last = c.logs(stdout=True, stderr=False).rstrip(b"\n").rsplit(b"\n", 1)[-1]
        assert base64.b64decode(last, validate=True), last
        c.remove(force=True, v=True)
        return time.perf_counter() - t0

    variants = {"archive": archive, "no_init": lambda: archive(False), "logs": logs,
                "attach": attach, "pool": pool, "attach_pool": attach_pool, "env_logs": env_logs, "stdin_attach": stdin_attach, "evaluate": evaluate,
                "evaluate_stdin": evaluate_stdin, "cli_run": cli_run}
    if not proto_ok:
        print(f"runner.sh no longer ends with {last!r}: prototype evaluate_stdin skipped")
        del variants["evaluate_stdin"]
    times = {k: [] for k in variants}
    try:
        for fn in variants.values():
            fn()  # warm-up
        for _ in range(args.n):
            for name, fn in variants.items():
                times[name].append(fn())
    finally:
        ids = subprocess.run(["docker", "ps", "-aq", "--filter",
                              f"label=swe_harness.bench={LABELS['swe_harness.bench']}"],
                             capture_output=True, text=True).stdout.split()
        if ids:
            subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)
        subprocess.run(["docker", "rmi", task.image_name], capture_output=True)
    base = statistics.median(times["archive"])
    print(f"image {image}, n={args.n} each, interleaved; ms")
    print(f"{'variant':<15} {'p50':>7} {'p95':>7} {'vs archive':>11} {'vs cli_run':>11}")
    floor = statistics.median(times["cli_run"])
    for name, xs in times.items():
        med = statistics.median(xs)
        print(f"{name:<15} {med * 1000:7.0f} {p(xs, 0.95) * 1000:7.0f} {med / base:10.2f}x "
              f"{med / floor:10.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
