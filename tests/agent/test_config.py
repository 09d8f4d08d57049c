import pytest

from swe_harness.agent.config import ConfigError, config_from_mapping, load_agent_config


def test_default_config_has_the_seed_limits():
    config = load_agent_config()
    assert (config.step_limit, config.command_timeout_s) == (20, 180)
    assert config.submit_marker == "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
    assert "{{ problem_statement }}" in config.instance_template


def test_overrides_are_applied_and_typed():
    config = load_agent_config(overrides=["step_limit=5", "wall_clock_limit_s=30"])
    assert config.step_limit == 5 and config.wall_clock_limit_s == 30.0


def test_bad_fields_are_named(tmp_path):
    with pytest.raises(ConfigError, match="unknown field.*stepz"):
        load_agent_config(overrides=["stepz=3"])
    with pytest.raises(ConfigError, match="'step_limit'"):
        load_agent_config(overrides=["step_limit=abc"])
    with pytest.raises(ConfigError, match="system_template"):
        config_from_mapping({"instance_template": "x", "format_error_template": "x",
                             "observation_template": "x"})
    broken = tmp_path / "agent.yaml"
    broken.write_text("step_limit: [1\n")
    with pytest.raises(ConfigError, match=str(broken)):
        load_agent_config(broken)
