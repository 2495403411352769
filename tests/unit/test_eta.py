"""The guests' "about N s" (domain/eta.py): worked examples, properties, and its throttle."""

from __future__ import annotations

from hypothesis import given, strategies as st

from robodyne.core.models import StopStatus, TaskStop
from robodyne.domain.eta import AT_TABLE, UNKNOWN, Eta, EtaThrottle, eta

from ..support.clock import Clock

PENDING, ARRIVED, DONE, SKIPPED = (StopStatus.PENDING, StopStatus.ARRIVED, StopStatus.DONE,
                                   StopStatus.SKIPPED)
# Tables 1, 2 and 3 along the x axis, 10 m apart; table 4 stands nowhere known.
POSITIONS = {1: (10.0, 0.0), 2: (20.0, 0.0), 3: (30.0, 0.0)}


def _stops(*stops: tuple[int, StopStatus]) -> list[TaskStop]:
    return [TaskStop(table_id=table_id, status=status) for table_id, status in stops]


def _eta(pose: tuple[float, float] | None, stops: list[TaskStop], table_id: int) -> Eta:
    return eta(pose, stops, POSITIONS, table_id, speed_mps=0.5, dwell_s=20)


def test_the_first_stop_is_its_distance_over_the_speed() -> None:
    # 6 m up and 8 m across to table 1: 10 m at 0.5 m/s.
    assert _eta((2.0, -6.0), _stops((1, PENDING)), 1) == Eta(20, False)


def test_a_later_stop_adds_the_way_between_stops_and_a_dwell_at_each_open_one() -> None:
    stops = _stops((1, PENDING), (2, PENDING), (3, PENDING))
    # 10 m to table 1, 10 m to 2, 10 m to 3: 60 s, plus 20 s at tables 1 and 2.
    assert _eta((0.0, 0.0), stops, 3) == Eta(100, False)
    assert _eta((0.0, 0.0), stops, 2) == Eta(60, False)


def test_closed_stops_are_left_out_of_the_way_and_the_dwell() -> None:
    stops = _stops((1, DONE), (2, SKIPPED), (3, PENDING))
    # The robot at table 1 goes straight to 3: 20 m, no dwell.
    assert _eta((10.0, 0.0), stops, 3) == Eta(40, False)


def test_a_stop_the_robot_has_arrived_at_before_this_one_still_counts_its_dwell() -> None:
    stops = _stops((1, ARRIVED), (2, PENDING))
    assert _eta((10.0, 0.0), stops, 2) == Eta(40, False)  # 10 m: 20 s, + 20 s at table 1


def test_arrived_at_this_table_is_zero_and_at_table_until_the_stop_closes() -> None:
    assert _eta((10.0, 0.0), _stops((1, ARRIVED), (2, PENDING)), 1) == AT_TABLE == Eta(0, True)
    assert _eta(None, _stops((1, ARRIVED)), 1) == AT_TABLE  # no pose needed to be there
    assert _eta((10.0, 0.0), _stops((1, DONE), (2, PENDING)), 1) == UNKNOWN
    assert _eta((10.0, 0.0), _stops((1, SKIPPED)), 1) == UNKNOWN


def test_seconds_round_half_up() -> None:
    assert _eta((0.0, 0.0), _stops((1, PENDING)), 1) == Eta(20, False)
    half = eta((0.0, 0.0), _stops((1, PENDING)), {1: (0.25, 0.0)}, 1, speed_mps=0.5, dwell_s=0)
    assert half == Eta(1, False)  # 0.5 s
    assert eta((0.0, 0.0), _stops((1, PENDING)), {1: (0.74, 0.0)}, 1, speed_mps=0.5,
               dwell_s=0) == Eta(1, False)  # 1.48 s


def test_unknown_without_a_pose_a_position_on_the_way_or_a_stop_here() -> None:
    assert _eta(None, _stops((1, PENDING)), 1) == UNKNOWN
    assert _eta((0.0, 0.0), _stops((4, PENDING), (1, PENDING)), 1) == UNKNOWN
    assert _eta((0.0, 0.0), _stops((4, PENDING)), 4) == UNKNOWN
    assert _eta((0.0, 0.0), _stops((1, PENDING)), 2) == UNKNOWN
    assert _eta((0.0, 0.0), [], 1) == UNKNOWN
    # A table after this one without a position is not on its way.
    assert _eta((0.0, 0.0), _stops((1, PENDING), (4, PENDING)), 1) == Eta(20, False)


COORD = st.floats(-100, 100, allow_nan=False)
POINT = st.tuples(COORD, COORD)
STATUS = st.sampled_from(list(StopStatus))
# Up to five stops at tables 1-5; each table is placed or not.
TRIP = st.lists(st.tuples(st.integers(1, 5), STATUS), max_size=5)
PLACES = st.dictionaries(st.integers(1, 5), POINT)
SPEED = st.floats(0.1, 5)
DWELL = st.floats(0, 120)


@given(pose=st.none() | POINT, trip=TRIP, places=PLACES, table=st.integers(1, 5), speed=SPEED,
       dwell=DWELL)
def test_an_eta_is_none_or_whole_seconds_at_least_zero(pose: tuple[float, float] | None,
                                                       trip: list[tuple[int, StopStatus]],
                                                       places: dict[int, tuple[float, float]],
                                                       table: int, speed: float,
                                                       dwell: float) -> None:
    result = eta(pose, _stops(*trip), places, table, speed_mps=speed, dwell_s=dwell)
    assert result.eta_s is None or (isinstance(result.eta_s, int) and result.eta_s >= 0)
    assert not result.at_table or result.eta_s == 0
    if result.eta_s is not None and not result.at_table:
        assert pose is not None and table in places


@given(near=st.floats(0, 500), further=st.floats(0, 500), speed=SPEED, dwell=DWELL)
def test_further_away_is_never_sooner(near: float, further: float, speed: float,
                                      dwell: float) -> None:
    stops = _stops((1, PENDING), (2, PENDING))
    places = {1: (3.0, 4.0), 2: (3.0, 9.0)}

    def seconds(distance: float) -> int | None:
        # The robot waits `distance` metres beyond table 1, on the far side from table 2.
        return eta((3.0, 4.0 - distance), stops, places, 2, speed_mps=speed,
                   dwell_s=dwell).eta_s

    low, high = sorted((near, further))
    before, after = seconds(low), seconds(high)
    assert before is not None and after is not None and before <= after


@given(pose=POINT, trip=TRIP, places=PLACES, table=st.integers(1, 5), gone=st.integers(1, 5))
def test_forgetting_a_table_on_the_way_makes_the_eta_unknown(
        pose: tuple[float, float], trip: list[tuple[int, StopStatus]],
        places: dict[int, tuple[float, float]], table: int, gone: int) -> None:
    stops = _stops(*trip)
    known = eta(pose, stops, places, table, speed_mps=0.5, dwell_s=20)
    unplaced = {t: p for t, p in places.items() if t != gone}
    result = eta(pose, stops, unplaced, table, speed_mps=0.5, dwell_s=20)
    on_way = [s.table_id for s in stops if s.status in (PENDING, ARRIVED)]
    mine = on_way.index(table) if table in on_way else None
    if known.at_table or mine is None or gone not in on_way[:mine + 1]:
        assert result == known
    else:
        assert result == UNKNOWN
    assert eta(None, stops, places, table, speed_mps=0.5, dwell_s=20) in (UNKNOWN, AT_TABLE)


def test_an_eta_alone_goes_out_at_most_once_a_second_per_key() -> None:
    clock = Clock(50.0)
    throttle = EtaThrottle(clock)
    assert throttle.due(5, eta_only=True)  # the first for its key
    clock.now += 0.4
    assert not throttle.due(5, eta_only=True)
    assert throttle.due(6, eta_only=True)  # another table has its own second
    clock.now += 0.5
    assert not throttle.due(5, eta_only=True)
    clock.now += 0.1
    assert throttle.due(5, eta_only=True)  # a second since it last went out


def test_any_other_change_goes_out_at_once_and_restarts_the_second() -> None:
    clock = Clock(50.0)
    throttle = EtaThrottle(clock)
    assert throttle.due(5, eta_only=True)
    clock.now += 0.2
    assert not throttle.due(5, eta_only=True)
    assert throttle.due(5, eta_only=False)  # carries the latest eta with it
    assert throttle.overdue() == []  # nothing is held back any more
    clock.now += 0.9
    assert not throttle.due(5, eta_only=True)
    assert throttle.due(5, eta_only=False)


def test_a_held_back_eta_is_overdue_once_its_second_has_passed() -> None:
    clock = Clock(50.0)
    throttle = EtaThrottle(clock)
    throttle.due(5, eta_only=True)
    throttle.due(6, eta_only=True)
    clock.now += 0.5
    assert not throttle.due(5, eta_only=True)
    assert throttle.overdue() == []  # its second has not passed
    clock.now += 0.5
    assert throttle.overdue() == [5]  # 6 held nothing back
    assert throttle.overdue() == []
    clock.now += 0.5
    assert not throttle.due(5, eta_only=True)  # counted as published by overdue


def test_the_throttle_forgets_keys_quiet_for_a_whole_window() -> None:
    clock = Clock(50.0)
    throttle = EtaThrottle(clock)
    for table in range(1000):
        throttle.due(table, eta_only=False)
    clock.now += 1.0
    throttle.overdue()
    assert throttle.due(1, eta_only=True)  # as if never seen
    assert len(throttle) == 1
