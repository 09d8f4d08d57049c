"""The episode's rules on strings: steps, format errors in a row, submission, limits."""

from swe_harness.agent.config import load_agent_config
from swe_harness.agent.rules import Rules


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def rules(*overrides, clock=None):
    return Rules(load_agent_config(overrides=list(overrides)), **({"clock": clock} if clock else {}))


def test_a_reply_with_one_block_is_a_command_and_costs_a_step():
    r = rules()
    turn = r.reply("I will look.\n```bash\nls -la\n```")
    assert (turn.command, turn.ending, r.steps) == ("ls -la", None, 1)
    assert r.after_observation() is None


def test_format_errors_cost_steps_and_end_the_episode_only_in_a_row():
    r = rules("max_format_errors=2")
    first = r.reply("no block")
    assert first.command is None and first.ending is None
    assert first.observation.startswith("Your reply was not run: no ```bash block")
    assert r.reply("```bash\ntrue\n```").command == "true"  # resets the count
    assert r.reply("```bash\na\n```\n```bash\nb\n```").ending is None
    last = r.reply("still none")
    assert (last.ending, r.steps) == ("format_errors", 4) and last.observation


def test_the_step_limit_ends_after_the_last_observation():
    r = rules("step_limit=2")
    r.reply("```bash\nls\n```")
    assert r.after_observation() is None
    r.reply("```bash\nls\n```")
    assert r.after_observation() == "step_limit"


def test_submission_is_decided_on_the_output():
    r = rules()
    assert r.after_output("COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT\n") == "submitted"
    assert r.after_output("nothing to see\n") is None


def test_the_wall_clock_bounds_the_timeout_and_ends_the_episode():
    clock = Clock()
    r = rules("wall_clock_limit_s=100", "command_timeout_s=180", clock=clock)
    assert r.command_timeout() == 100
    clock.now += 99.5
    assert r.command_timeout() == 1.0  # never below one second
    assert r.reply("```bash\nls\n```").command == "ls"
    clock.now += 1
    assert r.after_observation() == "wall_clock_limit"
    assert r.reply("```bash\nls\n```").ending == "wall_clock_limit"
