"""The bridge's TOML file (SPEC §14) as a pydantic model; any problem is one line naming it."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from rclpy.exceptions import InvalidNamespaceException, InvalidTopicNameException
from rclpy.validate_namespace import validate_namespace
from rclpy.validate_topic_name import validate_topic_name

from ..core.tokens import ROBOT_ID_PATTERN
from ..wire.validation import first_problem


class ConfigError(Exception):
    """A config that cannot be used; the message names the key."""


def _valid(check: Callable[[str], object], value: str) -> str:
    """`value` if rclpy's `check` passes it, else ValueError with rclpy's reason."""
    try:
        check(value)
    except (InvalidNamespaceException, InvalidTopicNameException) as err:
        # rclpy's message spans three lines (the name, a caret); the first says why.
        raise ValueError(str(err).splitlines()[0]) from None
    return value


def _namespace(value: str) -> str:
    return _valid(validate_namespace, value) if value else value


def _topic(value: str) -> str:
    return _valid(validate_topic_name, value)


def _optional_topic(value: str) -> str:
    return _topic(value) if value else value


Namespace = Annotated[str, AfterValidator(_namespace)]
TopicName = Annotated[str, AfterValidator(_topic)]
OptionalTopic = Annotated[str, AfterValidator(_optional_topic)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(Strict):
    host: str = "127.0.0.1"
    port: int = Field(8001, ge=1, le=65535)
    cafile: str = ""


class RobotConfig(Strict):
    id: str = Field(pattern=ROBOT_ID_PATTERN)
    name: str = Field("", max_length=100)
    token: str = Field(min_length=1, repr=False)  # a secret: never in a log line
    namespace: Namespace = ""
    pose_topic: TopicName = "amcl_pose"
    odom_topic: TopicName = "odom"
    battery_topic: OptionalTopic = "battery_state"
    goal_topic: TopicName = "goal_pose"
    status_topic: TopicName = "navigate_to_pose/_action/status"
    cancel_service: TopicName = "navigate_to_pose/_action/cancel_goal"
    frame_id: str = Field("map", min_length=1)
    dwell_s: float = Field(20, ge=0)
    state_hz: float = Field(5, gt=0, le=100)
    stale_s: float = Field(5, gt=0)
    goal_timeout_s: float = Field(300, gt=0)


class BridgeConfig(Strict):
    server: ServerConfig = ServerConfig()
    robots: list[RobotConfig] = Field(min_length=1)


def parse_config(raw: dict[str, Any]) -> BridgeConfig:
    """Validate a parsed TOML document; ConfigError names the first problem."""
    try:
        config = BridgeConfig.model_validate(raw)
    except ValidationError as err:
        problem = first_problem(err)
        # "Value error, Invalid namespace: …:" says less than "invalid namespace: …".
        problem = problem._replace(message=problem.message.removeprefix("Value error, ")
                                   .rstrip(":"))
        # A token is a secret: its problem never quotes the value.
        got = "" if problem.where.endswith("token") else f" (got {problem.value!r})"
        if problem.message.startswith("Extra inputs"):
            problem = problem._replace(message="unknown key")
            got = ""
        raise ConfigError(f"invalid setting {problem.where}: {problem.message}{got}") from err
    seen: set[str] = set()
    for n, robot in enumerate(config.robots):
        if robot.id in seen:
            raise ConfigError(f"invalid setting robots.{n}.id: {robot.id!r} appears twice")
        seen.add(robot.id)
    return config


def load_config(path: Path) -> BridgeConfig:
    """Read and validate the bridge's TOML file (before the loop starts: a blocking read)."""
    try:
        with path.open("rb") as file:
            raw = tomllib.load(file)
    except OSError as err:
        raise ConfigError(f"cannot read config file {path}: {err.strerror or err}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config file {path} is not TOML: {err}") from None
    return parse_config(raw)
