"""The token book without sockets: lookups, bound robot ids, what counts as revoked, and the
refusal log's once-a-minute rule."""

from __future__ import annotations

import logging

import pytest

from robodyne.core.roles import Role
from robodyne.core.tokens import Grant, Refusals, TokenBook

KITCHEN = "kitchen-token-0123456789"
ROBOT = "robot-token-0123456789ab"
BOUND = "bound-token-0123456789ab"


def book() -> tuple[TokenBook, list[frozenset[str]]]:
    heard: list[frozenset[str]] = []
    tokens = TokenBook({KITCHEN: Grant(Role.KITCHEN, None, "grill"), ROBOT: Grant(Role.ROBOT),
                        BOUND: Grant(Role.ROBOT, "bot-1")})
    tokens.on_revoke.append(heard.append)
    return tokens, heard


def test_no_lookup_matches_an_empty_or_unknown_token() -> None:
    tokens, _ = book()
    assert tokens.grant("") is None and tokens.grant(None) is None
    assert tokens.role("nope-0123456789abcdef") is None
    assert tokens.role(KITCHEN) is Role.KITCHEN


def test_a_bound_robot_id_is_spoken_for_by_its_token_only() -> None:
    tokens, _ = book()
    bound, plain = tokens.grant(BOUND), tokens.grant(ROBOT)
    assert bound is not None and plain is not None
    assert tokens.may_speak_as(bound, "bot-1") and not tokens.may_speak_as(bound, "bot-2")
    assert not tokens.may_speak_as(plain, "bot-1") and tokens.may_speak_as(plain, "bot-2")


def test_removed_and_changed_tokens_are_revoked_a_new_label_is_not() -> None:
    tokens, heard = book()
    revoked = tokens.replace({KITCHEN: Grant(Role.KITCHEN, None, "expo"),
                              ROBOT: Grant(Role.ROBOT, "bot-9")})
    assert revoked == {BOUND, ROBOT} and heard == [revoked]
    assert tokens.replace({KITCHEN: Grant(Role.ADMIN), ROBOT: Grant(Role.ROBOT, "bot-9")}) == {
        KITCHEN}
    assert tokens.replace(dict(tokens.items())) == frozenset() and len(heard) == 2


@pytest.mark.parametrize(("value", "grant"), [
    ("kitchen", Grant(Role.KITCHEN)), ("robot:a.b_c:d-1", Grant(Role.ROBOT, "a.b_c:d-1"))])
def test_a_grant_is_a_role_or_a_bound_robot(value: str, grant: Grant) -> None:
    assert Grant.parse(value) == grant and str(grant) == value


@pytest.mark.parametrize("value", ["superuser", "robot:", "robot:bad id", "robot:a\nb", ""])
def test_anything_else_is_not_a_grant(value: str) -> None:
    with pytest.raises(ValueError):
        Grant.parse(value)


def logged(refusals: list[tuple[float, str, str | None, str]]) -> tuple[list[str], int]:
    """What Refusals logs of these (time, address, token, where), and how many it counted."""
    now = [0.0]
    logger = logging.getLogger("test.refusals")
    lines: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        book = Refusals(logger, lambda: now[0])
        for now[0], peer, token, where in refusals:
            book.refused(peer, token, where)
    finally:
        logger.removeHandler(handler)
    return lines, book.count


def test_refusals_log_one_address_a_minute_and_count_the_rest_with_four_characters() -> None:
    guess = "guess-0123456789"
    lines, count = logged([*[(0.0, "10.0.0.9", guess, "GET /api/orders")] * 5,
                           (0.0, "10.0.0.10", None, "robot hello"),
                           (61.0, "10.0.0.9", guess, "GET /api/orders"),
                           (200.0, "10.0.0.11", None, "robot hello")])
    assert lines == ["refused GET /api/orders from 10.0.0.9: unknown token gues…",
                     "refused 5 more request(s) from 2 address(es) in the minute after the"
                     " last one logged",
                     "refused GET /api/orders from 10.0.0.9: unknown token gues…",
                     "refused robot hello from 10.0.0.11: no token"]
    assert count == 8


def test_refusals_from_a_thousand_addresses_are_two_lines_a_minute() -> None:
    lines, count = logged([(minute * 60.0 + n * 0.05, f"10.0.{n // 250}.{n % 250}", None,
                            "robot hello") for minute in range(3) for n in range(1000)])
    assert len(lines) == 5 and count == 3000, lines
    assert lines[1] == ("refused 999 more request(s) from 999 address(es) in the minute after"
                        " the last one logged")
