"""Pairing codes without sockets (SPEC §7): wrong codes bounded per address and per code's
life, never for everyone; a code claimed by a redeem is spent only when the redeem succeeds."""

from __future__ import annotations

import pytest

from robodyne.core import pairing
from robodyne.core.pairing import (CODE_LIFE_S, MAX_MISSES_PER_CODE, MAX_MISSES_PER_PEER,
                                   PairingCodes, TooManyGuesses, guesser)
from robodyne.core.roles import Role

from ..support.clock import Clock


def _wrong(codes: PairingCodes, right: str, peer: str, times: int) -> None:
    for n in range(times):
        assert codes.claim(f"{(int(right) + 1 + n) % 1_000_000:06d}", peer) is None


def test_ten_misses_lock_that_address_and_no_other() -> None:
    codes = PairingCodes(Clock())
    made = codes.make(Role.KITCHEN, "grill")
    for peer in (f"10.0.0.{n}" for n in range(1, 11)):
        _wrong(codes, made.code, peer, MAX_MISSES_PER_PEER)
        with pytest.raises(TooManyGuesses):
            codes.claim(made.code, peer)
    assert codes.claim(made.code, "10.0.0.11") == made


def test_an_address_may_guess_again_once_its_misses_are_a_code_s_life_old() -> None:
    clock = Clock()
    codes = PairingCodes(clock)
    made = codes.make(Role.FLOOR, "")
    _wrong(codes, made.code, "10.0.0.1", MAX_MISSES_PER_PEER)
    clock.now += CODE_LIFE_S - 1
    with pytest.raises(TooManyGuesses):
        codes.claim(made.code, "10.0.0.1")
    clock.now += 1
    fresh = codes.make(Role.FLOOR, "")
    assert codes.claim(fresh.code, "10.0.0.1") == fresh


def test_an_ipv6_host_is_its_slash_64_and_a_mapped_ipv4_its_address() -> None:
    assert guesser("2001:db8:1:2:aaaa::1") == guesser("2001:db8:1:2:bbbb::2") == \
        "2001:db8:1:2::/64"
    assert guesser("2001:db8:1:3::1") != guesser("2001:db8:1:2::1")
    assert guesser("::ffff:10.0.0.1") == "10.0.0.1" == guesser("10.0.0.1")
    assert guesser("?") == "?"


def test_a_code_dies_after_its_share_of_wrong_codes_from_everyone_and_a_new_one_works(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pairing, "MAX_MISSES_PER_CODE", 30)
    codes = PairingCodes(Clock())
    old = codes.make(Role.KITCHEN, "")
    for n in range(3):
        _wrong(codes, old.code, f"10.0.1.{n}", MAX_MISSES_PER_PEER - (n == 2))
    assert codes.live == 1
    _wrong(codes, old.code, "10.0.1.2", 1)
    assert codes.live == 0
    assert codes.claim(old.code, "10.0.0.99") is None
    new = codes.make(Role.KITCHEN, "")
    assert codes.claim(new.code, "10.0.0.98") == new


def test_a_code_survives_fewer_wrong_codes_than_its_share_from_many_addresses() -> None:
    codes = PairingCodes(Clock())
    made = codes.make(Role.KITCHEN, "")
    for n in range(MAX_MISSES_PER_CODE // MAX_MISSES_PER_PEER - 1):
        _wrong(codes, made.code, f"10.0.{n // 250}.{n % 250}", MAX_MISSES_PER_PEER)
    assert codes.claim(made.code, "10.9.9.9") == made


def test_a_failed_redeem_gives_the_code_back_and_a_spent_one_is_gone() -> None:
    codes = PairingCodes(Clock())
    made = codes.make(Role.KITCHEN, "")
    claimed = codes.claim(made.code, "10.0.0.1")
    assert claimed == made and codes.live == 0
    # Typed again while the first redeem writes the file: no code, and no wrong guess either.
    for _ in range(MAX_MISSES_PER_PEER):
        assert codes.claim(made.code, "10.0.0.2") is None
    codes.settle(made, spent=False)
    assert codes.claim(made.code, "10.0.0.2") == made
    codes.settle(made, spent=True)
    assert codes.live == 0 and codes.claim(made.code, "10.0.0.3") is None


def test_a_code_given_back_after_its_life_stays_gone() -> None:
    clock = Clock()
    codes = PairingCodes(clock)
    made = codes.make(Role.KITCHEN, "")
    codes.claim(made.code, "10.0.0.1")
    clock.now += CODE_LIFE_S
    codes.settle(made, spent=False)
    assert codes.live == 0


def test_the_addresses_remembered_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pairing, "MAX_PEERS", 5)
    codes = PairingCodes(Clock())
    made = codes.make(Role.KITCHEN, "")
    _wrong(codes, made.code, "10.0.0.1", MAX_MISSES_PER_PEER)
    for n in range(2, 7):
        _wrong(codes, made.code, f"10.0.0.{n}", 1)
    # The oldest address was forgotten to remember the sixth.
    assert codes.claim(made.code, "10.0.0.1") == made
