from swe_harness.agent.action import is_submission, parse_action


def test_one_bash_block_is_the_command():
    assert parse_action("Look first.\n\n```bash\nls -la\ncat x\n```\nthen more").command == "ls -la\ncat x"
    assert parse_action("```sh\necho hi\n```").command == "echo hi"


def test_zero_or_several_blocks_are_format_errors():
    assert "no ```bash block" in parse_action("I will run ls").error
    assert "no ```bash block" in parse_action("```python\nprint(1)\n```").error
    assert "found 2" in parse_action("```bash\nls\n```\n```bash\npwd\n```").error
    assert "empty" in parse_action("```bash\n\n```").error


def test_submission_is_output_that_starts_with_the_marker():
    assert is_submission("  COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT\n", "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT")
    assert not is_submission("diff\nCOMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT\n",
                             "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT")
