"""`python -m robodyne.simulator`: simulated robots (robodyne/demo/simulator.py) against any
server."""

from .demo.simulator import main

if __name__ == "__main__":
    main()
