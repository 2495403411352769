"""`python -m robodyne.simulator`: simulated robots (the model in robodyne/demo/robot.py,
its TCP client in demo/client.py, the command line in demo/simulator.py) against any server."""

from .demo.simulator import main

if __name__ == "__main__":
    main()
