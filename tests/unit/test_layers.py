"""The package's imports point one way: core ← wire ← store ← live ← domain ← robots/web ← app.

Walks every module's imports (the AST, so nothing is executed) and fails on an import circle,
on any import from a lower layer into a higher one, and on SQLite's drivers outside the store.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "robodyne"

# A layer may import its own layer and any lower one. Modules outside the sub-packages:
# `__init__` (the version) and settings are low enough for anyone to import; the composition
# root and the entry points are above everything.
RANK = {
    "__init__": 0, "core": 1, "wire": 2, "settings": 3, "tokenfile": 3, "tls": 3, "store": 4,
    "live": 5, "domain": 6, "robots": 7, "web": 7, "demo": 8, "app": 9, "simulator": 9,
    "__main__": 9, "cli": 9,
    # The ROS 2 bridge is a process of its own, above everything; nothing imports it (below).
    "ros2": 10,
}
# What the bridge may use of the server's package: the vocabulary, the robot protocol's codecs
# and the client's TLS context; never the server's parts.
BRIDGE_USES = {"__init__", "core", "wire", "settings", "tls", "ros2"}
ROS = {"rclpy", "action_msgs", "geometry_msgs", "nav_msgs", "sensor_msgs", "std_msgs"}


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _all_imports() -> dict[str, set[str]]:
    """Every robodyne module and every module it imports, of any package (at any depth)."""
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module(path)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    target = node.module or ""
                names = [target] + [f"{target}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found.update(names)
        graph[module] = found
    return graph


def _imports() -> dict[str, set[str]]:
    """Every robodyne module and the robodyne modules it imports (at any depth of the file)."""
    graph = _all_imports()
    modules = set(graph)
    # `from .x import name` names a module only when x.name is one.
    return {m: {t for t in targets if t in modules and t != m} for m, targets in graph.items()}


def test_every_module_sits_in_a_known_layer() -> None:
    unknown = sorted({_layer(m) for m in _imports()} - set(RANK))
    assert not unknown, f"modules outside the known layers: {unknown}"


def test_no_import_runs_from_a_lower_layer_up_to_a_higher_one() -> None:
    upward = [
        f"{module} ({_layer(module)}) imports {target} ({_layer(target)})"
        for module, targets in _imports().items() for target in sorted(targets)
        if RANK[_layer(target)] > RANK[_layer(module)]
    ]
    assert not upward, "imports that run upward:\n" + "\n".join(upward)


def test_robots_and_web_do_not_import_each_other() -> None:
    across = [f"{module} imports {target}" for module, targets in _imports().items()
              for target in targets
              if {_layer(module), _layer(target)} == {"robots", "web"}]
    assert not across, "\n".join(across)


def test_only_the_store_imports_sqlite() -> None:
    """The store turns sqlite3's errors into ours (core/errors.py): no layer above needs it."""
    drivers = {"sqlite3", "aiosqlite"}
    outside = [f"{module} imports {target}" for module, targets in _all_imports().items()
               for target in sorted(targets)
               if target.split(".")[0] in drivers and _layer(module) != "store"]
    assert not outside, "\n".join(outside)


def test_nothing_in_the_server_imports_the_ros2_bridge_or_ros() -> None:
    """The server never loads ROS (SPEC §14): only robodyne/ros2 may import rclpy."""
    found = [f"{module} imports {target}" for module, targets in _all_imports().items()
             if _layer(module) != "ros2" for target in sorted(targets)
             if target.split(".")[0] in ROS or target.startswith("robodyne.ros2")]
    assert not found, "\n".join(found)


def test_the_ros2_bridge_uses_only_the_protocol_and_the_vocabulary() -> None:
    used = [f"{module} imports {target}" for module, targets in _imports().items()
            if _layer(module) == "ros2" for target in sorted(targets)
            if _layer(target) not in BRIDGE_USES]
    assert not used, "\n".join(used)


def test_there_is_no_import_circle() -> None:
    graph = _imports()
    # Packages import their own modules only by the dotted path; an `__init__` importing
    # nothing keeps them out of the circle search.
    seen: dict[str, int] = {}  # 1: on the current path, 2: done
    circles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        seen[module] = 1
        for target in sorted(graph[module]):
            if seen.get(target) == 1:
                circles.append([*path[path.index(target):], target])
            elif target not in seen:
                visit(target, [*path, target])
        seen[module] = 2

    for module in sorted(graph):
        if module not in seen:
            visit(module, [module])
    assert not circles, "import circles:\n" + "\n".join(" -> ".join(c) for c in circles)


def test_the_walk_sees_the_imports_it_checks() -> None:
    """The checks above would pass on an empty graph: prove the walk finds real arrows."""
    graph = _imports()
    assert "robodyne.live.hub" in graph["robodyne.domain.fleet"]
    assert "robodyne.wire.frames" in graph["robodyne.live.hub"]
    assert "robodyne.core.roles" in graph["robodyne.web.auth"]
    assert "sqlite3" in _all_imports()["robodyne.store.database"]
    assert "rclpy" in _all_imports()["robodyne.ros2.ros"]
