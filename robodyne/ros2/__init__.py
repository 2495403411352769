"""The ROS 2 bridge (SPEC §14): its own process, `robodyne-ros2 --config FILE`."""
