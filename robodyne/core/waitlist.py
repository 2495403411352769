"""The waitlist's arithmetic (SPEC §12.4, docs/api.md, "Waitlist"): a party's position, and the
quote — the wait for a table that fits it — as pure functions of what the floor holds now and
how long its visits lasted lately. No I/O: domain/waitlist.py gathers the inputs.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from statistics import median
from typing import Final

from .models import CustomerStatus, TableStatus

# The history a turn is the median of, and how many visits it needs to be trusted.
HISTORY: Final = timedelta(days=14)
MIN_HISTORY: Final = 5
# A table being cleaned is not free now (SPEC §12.4: only an available one quotes 0): it takes
# its next party after this allowance.
CLEANING_S: Final = 300.0
# The statuses of a party still in line.
IN_LINE: Final = frozenset({CustomerStatus.WAITING, CustomerStatus.CALLED})


@dataclass(frozen=True)
class FloorTable:
    """A table as the quote sees it: its seats, its status, and how long its open visit has
    lasted so far (None: no open visit)."""

    id: int
    seats: int
    status: str
    age_s: float | None = None


@dataclass(frozen=True)
class Turn:
    """A closed visit of the history: its table's seats and how long it lasted."""

    seats: int
    length_s: float


@dataclass(frozen=True)
class InLine:
    """A party in line: its id, size, status and when it joined (ISO text sorts by time)."""

    id: int
    party_size: int
    status: str
    created_at: str


def expired(party: dict[str, object], cutoff: str) -> bool:
    """Whether a party is out of line and last changed before `cutoff` (the closed orders'
    cutoff, core/orders.closed_cutoff): it has left the customers snapshot."""
    return party["status"] not in IN_LINE and str(party["updated_at"]) < cutoff


def ahead_of(party: InLine, parties: Iterable[InLine]) -> list[InLine]:
    """The parties waiting or called that joined before `party`, first come first (a tie in
    time goes by id)."""
    key = (party.created_at, party.id)
    return sorted((other for other in parties
                   if other.status in IN_LINE and (other.created_at, other.id) < key),
                  key=lambda other: (other.created_at, other.id))


def position(party: InLine, parties: Iterable[InLine]) -> int:
    """1 + the parties waiting or called that joined before it."""
    return 1 + len(ahead_of(party, parties))


def turn_s(party_size: int, history: Iterable[Turn], default_s: float) -> float:
    """A visit's expected length at a table that fits the party: the median length of the
    history's visits on tables with seats >= party_size, or `default_s` while fewer than
    MIN_HISTORY of them."""
    lengths = [turn.length_s for turn in history if turn.seats >= party_size]
    return float(median(lengths)) if len(lengths) >= MIN_HISTORY else default_s


def quote_s(party_size: int, tables: Sequence[FloorTable], ahead: Sequence[InLine],
            history: Iterable[Turn], default_turn_s: float) -> int | None:
    """The estimated wait (seconds) for a table with seats >= party_size.

    0 when a fitting table is `available` now; None when no table that could ever seat the
    party exists (every fitting one out of service, or none that large). Otherwise the
    floor is played forward: each table that can take a party frees at (turn - age of its
    visit, at least 0; needs_cleaning: CLEANING_S; occupied with no visit known: a turn),
    the parties ahead, in their order, each take the fitting table that frees first (the
    smallest of equal ones), holding it one turn; the quote is when the first table that
    fits this party frees after that. A reserved or out-of-service table takes no one.
    """
    fitting = [table for table in tables if table.seats >= party_size]
    if any(table.status == TableStatus.AVAILABLE for table in fitting):
        return 0
    turn = turn_s(party_size, history, default_turn_s)
    # (frees at, seats, id) of every table that will take a party.
    free: list[tuple[float, int, int]] = []
    for table in tables:
        frees = _frees_in(table, turn)
        if frees is not None:
            free.append((frees, table.seats, table.id))
    if not any(seats >= party_size for _, seats, _ in free):
        return None
    for other in ahead:
        taken = _first_free(free, other.party_size)
        if taken is not None:
            free.remove(taken)
            free.append((taken[0] + turn, taken[1], taken[2]))
    mine = _first_free(free, party_size)
    assert mine is not None  # a fitting table is in `free`, and none ever leaves it
    return round(mine[0])


def _frees_in(table: FloorTable, turn: float) -> float | None:
    """Seconds from now until the table can take a party; None: it takes none."""
    if table.status == TableStatus.AVAILABLE:
        return 0.0
    if table.status == TableStatus.NEEDS_CLEANING:
        return CLEANING_S
    if table.status == TableStatus.OCCUPIED:
        return turn if table.age_s is None else max(0.0, turn - table.age_s)
    return None  # reserved, out_of_service


def _first_free(free: list[tuple[float, int, int]], party_size: int
                ) -> tuple[float, int, int] | None:
    """The table fitting `party_size` that frees first (the smallest of equal ones)."""
    fits = [entry for entry in free if entry[1] >= party_size]
    return heapq.nsmallest(1, fits)[0] if fits else None
