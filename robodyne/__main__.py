"""`python -m robodyne tokens …`: the owner's commands (robodyne/cli.py)."""

from .cli import main

main()
