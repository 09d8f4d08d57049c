from swe_harness.agent import prompt
from swe_harness.agent.config import load_agent_config


def test_truncation_keeps_head_and_tail_and_says_what_was_cut():
    text, cut = prompt.truncate("H" * 50 + "M" * 900 + "T" * 50, 100)
    assert cut == 900 and text.startswith("H" * 50) and text.endswith("T" * 50)
    assert "[... 900 characters cut" in text
    assert prompt.truncate("short", 100) == ("short", 0)


def test_bytes_the_shell_dropped_are_reported():
    text, cut = prompt.truncate("head", 100, tail="tail", dropped_bytes=5_000_000)
    assert text.startswith("head") and text.endswith("tail") and "5000000 bytes" in text


def test_non_utf8_bytes_never_raise():
    assert prompt.decode(b"ok \xff\xfe\x00end") == "ok \ufffd\ufffdend"


def test_observation_template_shows_exit_code_timeout_and_restart():
    config = load_agent_config(overrides=["observation_max_chars=20"])
    text, truncated = prompt.observation(config, "x" * 100, 124, timed_out=True, restarted=True)
    assert truncated and "<returncode>124</returncode>" in text
    assert "timed out after 180 seconds" in text and "restarted" in text
    text, truncated = prompt.observation(config, "fine", None)
    assert not truncated and "none (the shell was killed)" in text


def test_opening_messages_carry_the_problem_and_the_rules():
    config = load_agent_config()
    system, user = prompt.opening_messages(config, problem_statement="add() subtracts",
                                           workdir="/repo", instance_id="x-1", repo="a/b")
    assert system["role"] == "system" and user["role"] == "user"
    assert "add() subtracts" in user["content"] and "/repo" in user["content"]
    assert "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT" in user["content"]
