"""Small pieces of SQL text the store's queries share."""

from __future__ import annotations

from collections.abc import Iterable


def sql_list(values: Iterable[str]) -> str:
    """Known values (statuses, event types: never input) as an SQL list: 'a', 'b'."""
    return ", ".join(f"'{value}'" for value in sorted(values))


def in_range(column: str) -> str:
    """`column` within [:start, :end): the range every report query reads."""
    return f"{column} >= :start AND {column} < :end"
