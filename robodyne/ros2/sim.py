"""`python -m robodyne.ros2.sim`: simulated Nav2 robots for the tests and the demo.

Each robot offers what the bridge uses of Nav2 and nothing more: `goal_pose` in; `amcl_pose`
(transient-local), `odom`, `battery_state` and the navigate_to_pose status array out; the
action's cancel service. It drives straight at its goal. Lines on stdin steer it for tests
(`abort ROBOT`, `silent ROBOT`, `loud ROBOT`, `hold ROBOT`, `go ROBOT`); it prints
`goal ROBOT X Y`, `arrived ROBOT` and `cancel ROBOT`. With `--clock` a robot's pose x is the
wall clock (time.time()) at each tick, as the benchmarks' TCP robots send theirs: a client of
the robots topic reads its latency off the pose (bench/ros2.py).
"""

from __future__ import annotations

import argparse
import math
import os
import select
import signal
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import rclpy
from action_msgs.msg import GoalInfo, GoalStatus, GoalStatusArray
from action_msgs.srv import CancelGoal
from geometry_msgs.msg import PoseStamped, PoseWithCovarianceStamped
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import BatteryState

from .ros import AMCL_QOS, GOAL_QOS, STATUS_QOS

# Goals kept in the status array after they end, as rcl_action keeps them for a while.
KEEP_ENDED: Final = 5
DRAIN_PER_S: Final = 0.0005


@dataclass
class Goal:
    info: GoalInfo
    x: float
    y: float
    status: int = GoalStatus.STATUS_EXECUTING


class SimNav2(Node):
    """One robot: a point that drives at `speed` m/s to the newest goal."""

    def __init__(self, name: str, *, x: float, y: float, speed: float, hz: float,
                 clock: bool = False) -> None:
        super().__init__("sim_nav2", namespace="/" + name)
        self.robot = name
        self.x, self.y, self.yaw = x, y, 0.0
        self.speed = speed
        self.battery = 0.9
        self.silent = False
        self.held = False
        self.clock = clock
        self.goals: list[Goal] = []
        self._dt = 1.0 / hz
        self._pose = self.create_publisher(PoseWithCovarianceStamped, "amcl_pose", AMCL_QOS)
        self._odom = self.create_publisher(Odometry, "odom", 10)
        self._battery = self.create_publisher(BatteryState, "battery_state", 10)
        self._status = self.create_publisher(GoalStatusArray, "navigate_to_pose/_action/status",
                                             STATUS_QOS)
        self.create_subscription(PoseStamped, "goal_pose", self._on_goal, GOAL_QOS)
        self.create_service(CancelGoal, "navigate_to_pose/_action/cancel_goal", self._on_cancel)
        self.create_timer(self._dt, self._tick)
        self.create_timer(1.0, self._slow_tick)
        self._publish_pose()
        self._publish_status()

    def active(self) -> Goal | None:
        goal = self.goals[-1] if self.goals else None
        return goal if goal is not None and goal.status == GoalStatus.STATUS_EXECUTING else None

    def abort(self) -> None:
        goal = self.active()
        if goal is not None:
            self._end(goal, GoalStatus.STATUS_ABORTED)

    def _on_goal(self, message: PoseStamped) -> None:
        previous = self.active()
        if previous is not None:  # Nav2 aborts the goal a newer one preempts
            previous.status = GoalStatus.STATUS_ABORTED
        info = GoalInfo()
        info.goal_id.uuid = list(uuid.uuid4().bytes)
        info.stamp = self.get_clock().now().to_msg()
        goal = Goal(info, message.pose.position.x, message.pose.position.y)
        self.goals = [*self.goals[-KEEP_ENDED:], goal]
        _say(f"goal {self.robot} {goal.x:g} {goal.y:g}")
        self._publish_status()

    def _on_cancel(self, request: Any, response: Any) -> Any:
        wanted = bytes(request.goal_info.goal_id.uuid)
        everything = not any(wanted)
        for goal in self.goals:
            if goal.status == GoalStatus.STATUS_EXECUTING and (
                    everything or bytes(goal.info.goal_id.uuid) == wanted):
                response.goals_canceling.append(goal.info)
                self._end(goal, GoalStatus.STATUS_CANCELED)
        _say(f"cancel {self.robot}")
        response.return_code = CancelGoal.Response.ERROR_NONE
        return response

    def _end(self, goal: Goal, status: int) -> None:
        goal.status = status
        self._publish_status()

    def _tick(self) -> None:
        goal = self.active()
        if goal is not None and not self.held:
            dx, dy = goal.x - self.x, goal.y - self.y
            distance = math.hypot(dx, dy)
            reach = self.speed * self._dt
            self.battery = max(0.0, self.battery - DRAIN_PER_S * self._dt)
            if distance > 0:
                self.yaw = math.atan2(dy, dx)
            if reach >= distance:
                self.x, self.y = goal.x, goal.y
                self._end(goal, GoalStatus.STATUS_SUCCEEDED)
                _say(f"arrived {self.robot}")
            else:
                self.x += dx / distance * reach
                self.y += dy / distance * reach
            self._publish_pose()
        elif self.clock:
            self.x = time.time()
            self._publish_pose()
        if not self.silent:
            odom = Odometry()
            odom.header.stamp = self.get_clock().now().to_msg()
            odom.pose.pose.position.x, odom.pose.pose.position.y = self.x, self.y
            self._odom.publish(odom)

    def _slow_tick(self) -> None:
        battery = BatteryState()
        battery.percentage = self.battery
        self._battery.publish(battery)

    def _publish_pose(self) -> None:
        if self.silent:
            return
        pose = PoseWithCovarianceStamped()
        pose.header.frame_id = "map"
        pose.header.stamp = self.get_clock().now().to_msg()
        pose.pose.pose.position.x, pose.pose.pose.position.y = self.x, self.y
        pose.pose.pose.orientation.z = math.sin(self.yaw / 2)
        pose.pose.pose.orientation.w = math.cos(self.yaw / 2)
        self._pose.publish(pose)

    def _publish_status(self) -> None:
        array = GoalStatusArray()
        for goal in self.goals:
            status = GoalStatus()
            status.goal_info = goal.info
            status.status = goal.status
            array.status_list.append(status)
        self._status.publish(array)


def _say(line: str) -> None:
    print(line, flush=True)


class Steering:
    """stdin's lines, read without blocking from a timer: no thread of our own."""

    def __init__(self, robots: dict[str, SimNav2]) -> None:
        self._robots = robots
        self._buffer = b""

    def poll(self) -> None:
        while select.select([sys.stdin], [], [], 0)[0]:
            data = os.read(sys.stdin.fileno(), 4096)
            if not data:
                return
            self._buffer += data
            while b"\n" in self._buffer:
                line, self._buffer = self._buffer.split(b"\n", 1)
                self._obey(line.decode().split())

    def _obey(self, words: list[str]) -> None:
        if len(words) != 2 or words[1] not in self._robots:
            return
        robot = self._robots[words[1]]
        if words[0] == "abort":
            robot.abort()
        elif words[0] in ("silent", "loud"):
            robot.silent = words[0] == "silent"
        elif words[0] in ("hold", "go"):
            robot.held = words[0] == "hold"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m robodyne.ros2.sim", description=__doc__)
    parser.add_argument("names", nargs="+", help="robot names; each is its namespace")
    parser.add_argument("--x", type=float, default=1.0, help="where they start, metres")
    parser.add_argument("--y", type=float, default=1.0)
    parser.add_argument("--speed", type=float, default=1.0, help="metres per second")
    parser.add_argument("--hz", type=float, default=10.0, help="odometry and pose rate")
    parser.add_argument("--clock", action="store_true",
                        help="pose x = the wall clock at every tick (latency benchmarks)")
    args = parser.parse_args(argv)
    # rclpy's own handlers would shut the context down under the spinning executor, which then
    # fails; SIGTERM and SIGINT end the loop below between two callbacks instead.
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    stopping: list[int] = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda number, frame: stopping.append(number))
    robots = {name: SimNav2(name, x=args.x, y=args.y, speed=args.speed, hz=args.hz,
                            clock=args.clock) for name in args.names}
    executor = rclpy.executors.SingleThreadedExecutor()
    for robot in robots.values():
        executor.add_node(robot)
    steering = Steering(robots)
    next(iter(robots.values())).create_timer(0.05, steering.poll)
    _say("ready")
    try:
        while not stopping:
            executor.spin_once(timeout_sec=0.1)
    finally:
        executor.shutdown()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
