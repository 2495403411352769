"""Pairing codes (docs/operations.md, "Pairing a tablet"): six digits an admin makes on the
dashboard and a tablet types at /login, once, within 10 minutes. No I/O; the clock is given."""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from .roles import Role

CODE_DIGITS: Final = 6
CODE_LIFE_S: Final = 600.0
MAX_LIVE_CODES: Final = 20
# A code is one in a million. Wrong codes are bounded per address (Home Assistant's ban.py
# does the same for logins), never for everyone: a stranger's guesses must not lock out a real
# tablet elsewhere. Guesses spread over many addresses meet the second bound instead: a code
# dies after this many wrong codes typed anywhere in its life, so none is found more often
# than 1 time in 1,000; the admin makes a new one, which works at once.
MAX_MISSES_PER_PEER: Final = 10
MAX_MISSES_PER_CODE: Final = 1000
# The addresses whose wrong codes are remembered at once (the oldest forgotten first): a
# flood from many addresses takes bounded memory.
MAX_PEERS: Final = 10_000
PAIRABLE: Final = frozenset({Role.ADMIN, Role.KITCHEN, Role.FLOOR, Role.MAINTENANCE})


def looks_like_code(secret: str) -> bool:
    return len(secret) == CODE_DIGITS and secret.isascii() and secret.isdigit()


def guesser(remote: str) -> str:
    """Whose guesses these are: the IPv4 address, or the IPv6 /64 (one host's share of a
    network, which it can fill with addresses of its own)."""
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return remote
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


@dataclass(frozen=True)
class Pairing:
    code: str
    role: Role
    label: str
    expires_at: float  # on the given clock
    misses_before: int  # wrong codes typed anywhere before this one was made


class TooManyGuesses(Exception):
    """Wrong codes from this address passed the bound: wait."""


class PairingCodes:
    """The live codes, the codes being redeemed, and the wrong codes typed lately."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._live: dict[str, Pairing] = {}
        self._claimed: set[str] = set()
        self._misses: dict[str, list[float]] = {}  # per guesser, the times in a code's life
        self._missed = 0  # every wrong code since the start

    def _usable(self, pairing: Pairing, now: float) -> bool:
        return (pairing.expires_at > now
                and self._missed - pairing.misses_before < MAX_MISSES_PER_CODE)

    def _forget_old(self, now: float) -> None:
        self._live = {c: p for c, p in self._live.items() if self._usable(p, now)}
        for peer in list(self._misses):
            recent = [t for t in self._misses[peer] if now - t < CODE_LIFE_S]
            if recent:
                self._misses[peer] = recent
            else:
                del self._misses[peer]

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
            if code not in self._live and code not in self._claimed:
                break
        pairing = Pairing(code, role, label, now + CODE_LIFE_S, self._missed)
        self._live[code] = pairing
        return pairing

    def claim(self, code: str, remote: str) -> Pairing | None:
        """The pairing a code opens, taken out of the live codes until `settle` says whether
        it was spent; None for a wrong or spent one. TooManyGuesses before even looking, once
        this address has missed too often."""
        now = self._clock()
        self._forget_old(now)
        peer = guesser(remote)
        if len(self._misses.get(peer, ())) >= MAX_MISSES_PER_PEER:
            raise TooManyGuesses(f"too many wrong codes from this address; try again within"
                                 f" {CODE_LIFE_S / 60:g} minutes")
        pairing = self._live.pop(code, None)
        if pairing is not None:
            self._claimed.add(code)
        elif code not in self._claimed:  # a code being redeemed this instant is no guess
            self._miss(peer, now)
        return pairing

    def settle(self, pairing: Pairing, spent: bool) -> None:
        """A claimed code is used up, or (its redeem failed) live again if still in time."""
        self._claimed.discard(pairing.code)
        if not spent and self._usable(pairing, self._clock()):
            self._live[pairing.code] = pairing

    def _miss(self, peer: str, now: float) -> None:
        self._missed += 1
        if peer not in self._misses and len(self._misses) >= MAX_PEERS:
            del self._misses[next(iter(self._misses))]
        self._misses.setdefault(peer, []).append(now)
