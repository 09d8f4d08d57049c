"""The persistent shell against a real container (no evaluation involved)."""

from __future__ import annotations

import time

import pytest

from swe_harness.agent.shell import Shell


@pytest.fixture
def shell(pool, invoice_image):
    container = pool.acquire(invoice_image)
    sh = Shell(container, "/workspace", max_output_bytes=64 << 10)
    sh.start()
    yield sh
    sh.close()
    container.release()


def test_state_carries_over_and_the_environment_is_non_interactive(shell):
    assert shell.run("cd invoicekit && export ANSWER=42", 10).exit_code == 0
    result = shell.run("pwd; echo $ANSWER $PAGER $TERM; git log -1 --format=%s | cat", 10)
    assert result.output.split() == ["/workspace/invoicekit", "42", "cat", "dumb", "base"]
    assert shell.head_commit and len(shell.head_commit) == 40


def test_a_timeout_kills_the_whole_process_group_and_the_session_goes_on(shell):
    started = time.monotonic()
    result = shell.run("sleep 60 & sleep 60; echo never", 1)
    assert result.timed_out and "never" not in result.output
    assert time.monotonic() - started < 10
    # the pool's PID-1 loop keeps one sleep of its own; the command's two are gone (killed
    # processes leave the table once reaped, a moment later on a loaded machine)
    for _ in range(20):
        after = shell.run("ps -eo stat=,comm= | grep -c '^[^Z]* *sleep$' || true", 10)
        if after.output.strip() == "1":
            break
        time.sleep(0.1)
    assert after.exit_code == 0 and after.output.strip() == "1"


def test_exit_and_kill_self_end_only_the_command(shell):
    assert shell.run("cd /tmp; exit 3", 10).exit_code == 3
    assert shell.run("kill -9 $$", 10).exit_code == 137
    result = shell.run("pwd", 10)
    assert (result.exit_code, result.output.strip(), result.restarted) == (0, "/tmp", False)


def test_a_killed_session_is_restarted_and_says_so(shell):
    shell.run("cd /etc && export KEPT=yes", 10)
    killed = shell.run("kill -9 -1", 10)
    assert killed.restarted and killed.exit_code is None
    result = shell.run("pwd; echo $KEPT", 10)
    assert result.exit_code == 0 and result.output.split() == ["/etc", "yes"]
    assert shell.restarts == 1


def test_a_50_mb_flood_is_capped_head_and_tail(shell):
    result = shell.run("head -c 50000000 /dev/zero | tr '\\0' a; echo END", 60)
    assert result.exit_code == 0 and result.total_bytes == 50_000_004
    assert len(result.output) == 64 << 10 and result.tail.endswith("aEND\n")
    assert result.dropped_bytes == 50_000_004 - 2 * (64 << 10)
    assert shell.run("echo next", 10).output == "next\n"


def test_interactive_commands_get_no_input_and_never_hang(shell):
    result = shell.run("python; cat; read -r line; echo \"[$line]\"; less /etc/hostname >/dev/null; "
                       "vi -c q 2>/dev/null; echo done", 20)
    assert not result.timed_out and result.output.rstrip().endswith("done")
    assert "[]" in result.output


def test_non_utf8_output_is_replaced_not_raised(shell):
    result = shell.run("printf 'caf\\xe9 \\xff\\xfe\\n'", 10)
    assert result.output == "caf\ufffd \ufffd\ufffd\n"


def test_output_without_a_final_newline_and_marker_lookalikes(shell):
    result = shell.run("printf 'no newline __SWE_DONE_ fake 0'", 10)
    assert result.output == "no newline __SWE_DONE_ fake 0" and result.exit_code == 0


def test_a_command_with_lone_surrogates_runs(shell):
    result = shell.run("echo '\ud800' fine", 10)
    assert result.exit_code == 0 and result.output == "? fine\n"
