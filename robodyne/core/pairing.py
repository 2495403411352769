"""Pairing codes (docs/operations.md, "Pairing a tablet"): six digits an admin makes on the
dashboard and a tablet types at /login, once, within 10 minutes. No I/O; the clock is given."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from .roles import Role

CODE_DIGITS: Final = 6
CODE_LIFE_S: Final = 600.0
# A code is one in a million; these bound the guesses (Home Assistant's ban.py does the same
# for logins): per address, and for everyone, in one code's life.
MAX_LIVE_CODES: Final = 20
MAX_MISSES_PER_PEER: Final = 10
MAX_MISSES: Final = 100
PAIRABLE: Final = frozenset({Role.ADMIN, Role.KITCHEN, Role.FLOOR, Role.MAINTENANCE})


def looks_like_code(secret: str) -> bool:
    return len(secret) == CODE_DIGITS and secret.isascii() and secret.isdigit()


@dataclass(frozen=True)
class Pairing:
    code: str
    role: Role
    label: str
    expires_at: float  # on the given clock


class TooManyGuesses(Exception):
    """Wrong codes from this address, or from everyone, passed the bound: wait."""


class PairingCodes:
    """The live codes, and how many wrong ones were typed lately."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._live: dict[str, Pairing] = {}
        self._misses: list[tuple[float, str]] = []

    def _forget_old(self, now: float) -> None:
        self._live = {c: p for c, p in self._live.items() if p.expires_at > now}
        self._misses = [(t, peer) for t, peer in self._misses if now - t < CODE_LIFE_S]

    @property
    def live(self) -> int:
        """Codes made and not yet used nor expired."""
        self._forget_old(self._clock())
        return len(self._live)

    def make(self, role: Role, label: str) -> Pairing:
        now = self._clock()
        self._forget_old(now)
        if len(self._live) >= MAX_LIVE_CODES:
            # The oldest unused code goes: an admin making codes should not be refused.
            del self._live[min(self._live, key=lambda c: self._live[c].expires_at)]
        while True:
            code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
            if code not in self._live:
                break
        pairing = Pairing(code, role, label, now + CODE_LIFE_S)
        self._live[code] = pairing
        return pairing

    def redeem(self, code: str, peer: str) -> Pairing | None:
        """The pairing a code opens, used up; None for a wrong or spent one. TooManyGuesses
        before even looking, once this peer or everyone has missed too often."""
        now = self._clock()
        self._forget_old(now)
        if (len(self._misses) >= MAX_MISSES
                or sum(1 for _, p in self._misses if p == peer) >= MAX_MISSES_PER_PEER):
            raise TooManyGuesses(f"too many wrong codes; try again within {CODE_LIFE_S / 60:g}"
                                 " minutes")
        pairing = self._live.pop(code, None)
        if pairing is None:
            self._misses.append((now, peer))
        return pairing
