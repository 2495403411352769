"""The ROS 2 side of the bridge: one node per robot, spun by rclpy's executor in its own thread.

Every ROS callback turns its message into plain values and hands them to the asyncio loop with
`call_soon_threadsafe`, so neither side ever waits for the other. Publishing and service calls
from the loop's thread are thread-safe in rclpy.
"""

from __future__ import annotations

import asyncio
import math
import threading
from dataclasses import dataclass
from typing import Any, Protocol

import rclpy
from action_msgs.msg import GoalStatusArray
from action_msgs.srv import CancelGoal
from geometry_msgs.msg import PoseStamped, PoseWithCovarianceStamped
from nav_msgs.msg import Odometry
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions
from rclpy.qos import (DurabilityPolicy, QoSProfile, ReliabilityPolicy,
                       qos_profile_sensor_data)
from sensor_msgs.msg import BatteryState

from .config import RobotConfig

# Sensor data QoS is best-effort, which takes both reliable and best-effort publishers.
SENSOR_QOS = qos_profile_sensor_data
# AMCL publishes its pose reliable and transient-local (only when the robot moves): a late
# subscriber still gets the last one. A transient-local subscriber matches only such publishers.
AMCL_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL)
# rcl_action's status topic: reliable, transient-local, the last array only.
STATUS_QOS = AMCL_QOS
GOAL_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)


@dataclass(frozen=True, slots=True)
class GoalState:
    """One goal of the action's status array: its id, when it was accepted, its status."""

    goal_id: bytes
    stamp_ns: int
    status: int


class RobotSink(Protocol):
    """What the asyncio side takes from one robot's topics (called on the loop's thread)."""

    def on_pose(self, x: float, y: float, yaw: float) -> None: ...
    def on_odom(self) -> None: ...
    def on_battery(self, percent: float | None) -> None: ...
    def on_status(self, goals: list[GoalState]) -> None: ...


def yaw_of(z: float, w: float, x: float = 0.0, y: float = 0.0) -> float:
    """The heading of a quaternion, in radians."""
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def battery_percent(percentage: float) -> float | None:
    """sensor_msgs/BatteryState's 0..1 (NaN: unknown) as the server's 0..100."""
    if math.isnan(percentage):
        return None
    return max(0.0, min(100.0, percentage * 100.0))


class RobotLink:
    """One robot's node: its subscriptions, the goal publisher and the cancel client."""

    def __init__(self, node: Node, config: RobotConfig, loop: asyncio.AbstractEventLoop) -> None:
        self._node = node
        self._config = config
        self._loop = loop
        self._hand = loop.call_soon_threadsafe
        self._goals = node.create_publisher(PoseStamped, config.goal_topic, GOAL_QOS)
        self._cancel: Any = node.create_client(CancelGoal, config.cancel_service)

    def listen(self, sink: RobotSink) -> None:
        """Subscribe to the robot's topics; each message reaches `sink` on the loop's thread."""
        node, config, hand = self._node, self._config, self._hand

        def pose(message: PoseWithCovarianceStamped) -> None:
            hand(sink.on_pose, *_pose(message))

        def odom(message: Odometry) -> None:
            hand(sink.on_odom)

        def battery(message: BatteryState) -> None:
            hand(sink.on_battery, battery_percent(message.percentage))

        def status(message: GoalStatusArray) -> None:
            hand(sink.on_status, _goals(message))

        node.create_subscription(PoseWithCovarianceStamped, config.pose_topic, pose, AMCL_QOS)
        node.create_subscription(Odometry, config.odom_topic, odom, SENSOR_QOS)
        if config.battery_topic:
            node.create_subscription(BatteryState, config.battery_topic, battery, SENSOR_QOS)
        node.create_subscription(GoalStatusArray, config.status_topic, status, STATUS_QOS)

    def goal_listeners(self) -> int:
        """How many subscribers the goal topic has (Nav2's bt_navigator is one)."""
        return self._goals.get_subscription_count()

    def publish_goal(self, x: float, y: float) -> None:
        goal = PoseStamped()
        goal.header.frame_id = self._config.frame_id
        goal.header.stamp = self._node.get_clock().now().to_msg()
        goal.pose.position.x = float(x)
        goal.pose.position.y = float(y)
        goal.pose.orientation.w = 1.0
        self._goals.publish(goal)

    def cancel(self, goal_id: bytes | None) -> asyncio.Future[bool]:
        """Ask the action server to cancel `goal_id` (None: every goal); the future says
        whether it answered without an error code. Never waits for a missing server."""
        done: asyncio.Future[bool] = self._loop.create_future()
        request = CancelGoal.Request()
        if goal_id is not None:
            request.goal_info.goal_id.uuid = list(goal_id)
        if not self._cancel.service_is_ready():
            done.set_result(False)
            return done
        call = self._cancel.call_async(request)

        def answered(call: Any) -> None:
            response = call.result()
            ok = response is not None and response.return_code == CancelGoal.Response.ERROR_NONE
            self._hand(_settle, done, ok)

        call.add_done_callback(answered)
        return done


def _settle(future: asyncio.Future[bool], value: bool) -> None:
    if not future.done():
        future.set_result(value)


def _pose(message: PoseWithCovarianceStamped) -> tuple[float, float, float]:
    pose = message.pose.pose
    q = pose.orientation
    return pose.position.x, pose.position.y, yaw_of(q.z, q.w, q.x, q.y)


def _goals(message: GoalStatusArray) -> list[GoalState]:
    return [GoalState(bytes(s.goal_info.goal_id.uuid),
                      s.goal_info.stamp.sec * 1_000_000_000 + s.goal_info.stamp.nanosec,
                      s.status) for s in message.status_list]


def node_name(robot_id: str) -> str:
    """A valid ROS node name for the bridge's node of `robot_id`."""
    return "robodyne_bridge_" + "".join(c if c.isalnum() else "_" for c in robot_id)


class RosThread:
    """rclpy's context and executor, spinning in their own thread until `close`."""

    def __init__(self) -> None:
        self.context = Context()
        # ROS_DOMAIN_ID and ROS_AUTOMATIC_DISCOVERY_RANGE come from the environment. SIGTERM
        # belongs to the asyncio loop (bye for every robot first), not to rclpy.
        rclpy.init(context=self.context, signal_handler_options=SignalHandlerOptions.NO)
        self._executor = SingleThreadedExecutor(context=self.context)
        self._nodes: list[Node] = []
        self._thread = threading.Thread(target=self._spin, name="rclpy", daemon=True)

    def node(self, name: str, namespace: str) -> Node:
        node = rclpy.create_node(name, namespace=namespace or "/", context=self.context)
        self._nodes.append(node)
        self._executor.add_node(node)
        return node

    def start(self) -> None:
        self._thread.start()

    def _spin(self) -> None:
        # Shutting the context down ends spin() with ExternalShutdownException.
        try:
            self._executor.spin()
        except rclpy.executors.ExternalShutdownException:
            pass

    def close(self) -> None:
        """Stop spinning, destroy the nodes and the context; joins the thread."""
        self.context.try_shutdown()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._executor.shutdown(timeout_sec=1)
        for node in self._nodes:
            node.destroy_node()
