"""The dispatcher's choices as pure functions: given robots and tasks, who takes what."""

from __future__ import annotations

from robodyne.domain.assign import Candidate, Job, OpenDelivery, delivery_for, plan


def _robot(robot_id: str, x: float | None = None, y: float = 0.0,
           free_since: float = 0.0) -> Candidate:
    return Candidate(robot_id, None if x is None else (x, y), free_since)


def _job(task_id: int, *, priority: int = 0, created_at: str = "2026-12-01T10:00:00.000Z",
         target: tuple[float, float] | None = (10.0, 0.0), pinned_to: str | None = None,
         rejected_by: frozenset[str] = frozenset()) -> Job:
    return Job(task_id, priority, created_at, target, pinned_to, rejected_by)


def test_the_nearest_robot_takes_the_task() -> None:
    assert plan([_job(1)], [_robot("far", 0), _robot("near", 9), _robot("mid", 5)]) == [
        (1, "near")]


def test_higher_priority_then_older_tasks_choose_first() -> None:
    jobs = [_job(1, created_at="2026-12-01T10:00:02.000Z"),
            _job(2, created_at="2026-12-01T10:00:01.000Z"),
            _job(3, priority=2, created_at="2026-12-01T10:00:03.000Z")]
    assert plan(jobs, [_robot("a", 10), _robot("b", 0)]) == [(3, "a"), (2, "b")]


def test_a_robot_or_a_table_without_a_position_counts_as_farthest() -> None:
    assert plan([_job(1)], [_robot("lost"), _robot("far", -50)]) == [(1, "far")]
    assert plan([_job(1, target=None)], [_robot("a", 1, free_since=5),
                                         _robot("b", 2, free_since=3)]) == [(1, "b")]


def test_ties_go_to_the_robot_free_the_longest() -> None:
    robots = [_robot("recent", 10, free_since=20), _robot("long", 10, free_since=1)]
    assert plan([_job(1)], robots) == [(1, "long")]


def test_a_pinned_task_waits_for_its_robot_and_others_do_not_take_it() -> None:
    jobs = [_job(1, pinned_to="busy"), _job(2)]
    assert plan(jobs, [_robot("free", 10)]) == [(2, "free")]
    assert plan(jobs, [_robot("busy", 0), _robot("free", 10)]) == [(1, "busy"), (2, "free")]


def test_a_task_is_never_offered_to_a_robot_that_rejected_it() -> None:
    assert plan([_job(1, rejected_by=frozenset({"near"}))], [_robot("near", 10)]) == []
    assert plan([_job(1, rejected_by=frozenset({"near"}))],
                [_robot("near", 10), _robot("far", 0)]) == [(1, "far")]


def test_no_free_robot_leaves_every_task_queued() -> None:
    assert plan([_job(1), _job(2)], []) == []
    assert plan([_job(1), _job(2)], [_robot("only", 5)]) == [(1, "only")]


def test_a_ready_order_joins_the_trip_to_its_table_else_one_with_room_else_a_new_one() -> None:
    trips = [OpenDelivery(7, [1, 2]), OpenDelivery(8, [3])]
    assert delivery_for(3, trips, max_stops=2) == 8  # a stop at its table already
    assert delivery_for(4, trips, max_stops=2) == 8  # 7 is full, 8 has room
    assert delivery_for(4, trips, max_stops=3) == 7  # the oldest with room
    assert delivery_for(4, [OpenDelivery(7, [1])], max_stops=1) is None
    assert delivery_for(1, [], max_stops=3) is None


def test_the_plan_of_200_queued_tasks_for_50_robots_is_one_to_one() -> None:
    jobs = [_job(n, target=(n % 20, n % 12), created_at=f"2026-12-01T10:{n // 60:02}:"
                 f"{n % 60:02}.000Z") for n in range(200)]
    robots = [_robot(f"r{n}", n % 20, n % 12) for n in range(50)]
    pairs = plan(jobs, robots)
    assert len(pairs) == 50
    assert len({robot for _, robot in pairs}) == 50
    assert [task for task, _ in pairs] == list(range(50))  # oldest first
