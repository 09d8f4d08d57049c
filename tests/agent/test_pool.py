"""The warm pool: one use per container, nothing left behind, even after SIGKILL."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid

from swe_harness import sandbox


def labelled(client, value):
    return client.containers.list(all=True, filters={"label": [f"swe_harness.test={value}"]})


def test_each_container_serves_once_and_close_removes_everything(docker_engine, invoice_image):
    value = uuid.uuid4().hex
    with sandbox.WarmPool(size=2, labels={"swe_harness.test": value}) as pool:
        first = pool.acquire(invoice_image)
        second = pool.acquire(invoice_image)
        assert first.id != second.id
        assert first.exec(["true"])[0] == 0
        first.release()
        first.release()  # idempotent
        attrs = docker_engine.api.inspect_container(second.id)
        assert attrs["HostConfig"]["NetworkMode"] == "none"
        assert attrs["Config"]["Labels"][sandbox.LABEL_RUN] == sandbox.run_id()
        # PID 1 cannot be killed from inside, so the agent cannot stop its own container
        assert second.exec(["bash", "-c", "kill -9 1; kill -9 -1; sleep 0.2; echo alive"])[1] \
            .endswith(b"alive\n")
        assert second.running()
    assert labelled(docker_engine, value) == []


def test_a_run_killed_with_sigkill_leaves_nothing_after_the_next_run(docker_engine, invoice_image,
                                                                     tmp_path):
    value = uuid.uuid4().hex
    script = textwrap.dedent(f"""
        import sys, time
        from swe_harness import sandbox
        pool = sandbox.WarmPool(size=2, labels={{"swe_harness.test": "{value}"}})
        held = pool.acquire("{invoice_image}")
        pool.prewarm("{invoice_image}")
        while len(pool._live) < 3:
            time.sleep(0.05)
        print("ready", flush=True)
        time.sleep(120)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        assert len(labelled(docker_engine, value)) == 3
    finally:
        child.kill()
        child.wait()
    sandbox.reap()  # what the next run does first: remove containers whose owner is gone
    assert labelled(docker_engine, value) == []
