"""The ROS 2 bridge's config (docs/ros2.md, config/ros2.toml): every refusal names its key in
one line, and the example file is valid as shipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from robodyne.ros2.config import ConfigError, load_config

ROBOT = '[[robots]]\nid = "r1"\ntoken = "secret-t"\n'
EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "ros2.toml"


@pytest.mark.parametrize(("text", "says"), [
    ('[[robots]]\nid = "r1"\n', "invalid setting robots.0.token: Field required"),
    (ROBOT + "speed = 3\n", "invalid setting robots.0.speed: unknown key"),
    ('[server]\nport = 8001\nhots = "x"\n' + ROBOT, "invalid setting server.hots: unknown key"),
    ('[bridge]\n' + ROBOT, "invalid setting bridge: unknown key"),
    (ROBOT + 'namespace = "pinky 1"\n', "invalid setting robots.0.namespace: Invalid namespace:"
     " namespace must be absolute, it must lead with a '/' (got 'pinky 1')"),
    (ROBOT + 'namespace = "/pinky1/"\n', "robots.0.namespace: Invalid namespace"),
    (ROBOT + 'odom_topic = "od om"\n', "robots.0.odom_topic: Invalid topic name"),
    (ROBOT + 'battery_topic = "9volt"\n', "robots.0.battery_topic: Invalid topic name"),
    ('[[robots]]\nid = "r 1"\ntoken = "t"\n', "robots.0.id: String should match pattern"),
    (ROBOT + ROBOT, "invalid setting robots.1.id: 'r1' appears twice"),
    (ROBOT + "state_hz = 0\n", "robots.0.state_hz: Input should be greater than 0"),
    ('[server]\nport = 8001\n', "invalid setting robots: Field required"),
    ('[server]\nport = 0\n' + ROBOT, "server.port: Input should be greater than or equal to 1"),
    ("[server\n", "is not TOML"),
])
def test_a_bad_config_is_one_line_naming_its_key(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "ros2.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    line = str(refused.value)
    assert says in line and "\n" not in line
    assert "secret-t" not in line


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file .*nowhere.toml"):
        load_config(tmp_path / "nowhere.toml")


def test_the_example_config_is_valid_and_the_empty_battery_topic_means_none(
        tmp_path: Path) -> None:
    [robot] = load_config(EXAMPLE).robots
    assert (robot.id, robot.namespace, robot.goal_timeout_s) == ("pinky1", "/pinky1", 300)
    path = tmp_path / "ros2.toml"
    path.write_text(ROBOT + 'battery_topic = ""\nnamespace = ""\n')
    [robot] = load_config(path).robots
    assert (robot.battery_topic, robot.namespace, robot.name) == ("", "", "")
    assert "secret-t" not in repr(robot)  # a token never reaches a log line
