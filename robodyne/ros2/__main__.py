"""`python -m robodyne.ros2 --config FILE`."""

from .bridge import main

main()
