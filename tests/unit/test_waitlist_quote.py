"""The waitlist's quote and position (core/waitlist.py) against a hand-made floor and history."""

from __future__ import annotations

from robodyne.core.waitlist import (
    CLEANING_S,
    FloorTable,
    InLine,
    Turn,
    ahead_of,
    position,
    quote_s,
    turn_s,
)

MIN = 60.0
DEFAULT = 45 * MIN


def party(id: int, size: int, at: str, status: str = "waiting") -> InLine:
    return InLine(id=id, party_size=size, status=status, created_at=f"2026-12-07T12:{at}Z")


def test_position_counts_parties_waiting_or_called_that_joined_before() -> None:
    parties = [party(1, 2, "00:00", "seated"), party(2, 4, "01:00"), party(3, 2, "02:00", "called"),
               party(4, 2, "03:00"), party(5, 2, "03:00", "no_show"), party(6, 2, "04:00", "left")]
    assert position(parties[3], parties) == 3
    assert position(parties[1], parties) == 1
    assert [p.id for p in ahead_of(parties[3], parties)] == [2, 3]


def test_a_tie_in_time_goes_by_id() -> None:
    first, second = party(7, 2, "00:00"), party(8, 2, "00:00")
    assert position(second, [first, second]) == 2
    assert position(first, [first, second]) == 1


def test_turn_is_the_median_of_fitting_tables_visits_from_five_on() -> None:
    history = [Turn(4, 30 * MIN), Turn(4, 50 * MIN), Turn(6, 40 * MIN), Turn(4, 60 * MIN),
               Turn(2, 5 * MIN)]
    # Four visits on tables of 4 seats or more: too few, the default.
    assert turn_s(4, history, DEFAULT) == DEFAULT
    history.append(Turn(8, 70 * MIN))
    assert turn_s(4, history, DEFAULT) == 50 * MIN  # median of 30, 40, 50, 60, 70
    # A party of 2 fits every table: six visits, median of 5..70.
    assert turn_s(2, history, DEFAULT) == 45 * MIN


def test_a_fitting_available_table_quotes_zero_even_with_parties_ahead() -> None:
    tables = [FloorTable(1, 2, "available"), FloorTable(2, 4, "occupied", 10 * MIN)]
    assert quote_s(2, tables, [party(1, 2, "00:00")], [], DEFAULT) == 0
    # The free table is too small for four.
    assert quote_s(4, tables, [], [], DEFAULT) == 35 * MIN


def test_no_table_that_could_ever_seat_the_party_quotes_none() -> None:
    tables = [FloorTable(1, 4, "occupied", 0), FloorTable(2, 10, "out_of_service")]
    assert quote_s(8, tables, [], [], DEFAULT) is None


def test_parties_ahead_take_the_first_tables_to_free() -> None:
    # The worked example of docs/api.md, "Waitlist".
    tables = [FloorTable(1, 2, "occupied", 40 * MIN), FloorTable(2, 4, "occupied", 10 * MIN),
              FloorTable(3, 4, "occupied", 30 * MIN), FloorTable(4, 6, "reserved")]
    ahead = [party(1, 2, "00:00"), party(2, 4, "01:00")]
    # Turn 45 min: T1 frees in 5, T3 in 15, T2 in 35. Party 1 (2) takes T1 at 5 (frees at
    # 50); party 2 (4) takes T3 at 15 (frees at 60); this party of 3 gets T2 at 35.
    assert quote_s(3, tables, ahead, [], DEFAULT) == 35 * MIN
    # A party of 2 gets T1 or T2 first: T2 at 35 (T1 is held until 50).
    assert quote_s(2, tables, ahead, [], DEFAULT) == 35 * MIN
    # With nobody ahead, a party of 4 gets T3 at 15.
    assert quote_s(4, tables, [], [], DEFAULT) == 15 * MIN


def test_a_visit_past_its_turn_frees_now_and_a_table_being_cleaned_after_its_cleaning(
) -> None:
    tables = [FloorTable(1, 4, "occupied", 90 * MIN), FloorTable(2, 4, "needs_cleaning")]
    assert quote_s(4, tables, [], [], DEFAULT) == 0
    # Not available, so never a 0 by itself: cleaned first.
    assert quote_s(4, [FloorTable(2, 4, "needs_cleaning")], [], [], DEFAULT) == CLEANING_S
    assert quote_s(4, tables, [party(1, 4, "00:00"), party(2, 4, "01:00")], [], DEFAULT) \
        == 45 * MIN


def test_an_occupied_table_without_a_known_visit_frees_in_one_turn() -> None:
    assert quote_s(2, [FloorTable(1, 2, "occupied")], [], [], DEFAULT) == 45 * MIN
