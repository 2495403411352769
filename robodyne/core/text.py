"""What text staff and robots may write: names without control or bidi-override characters,
notes that may also hold tabs and line breaks, and ids in URLs."""

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import AfterValidator

# C0 and C1 controls (NUL among them) and DEL; and the bidi embedding, override and isolate
# controls (U+202A–U+202E, U+2066–U+2069), which make a name display as other text than it is.
# The direction marks (U+200E, U+200F, U+061C) stay: right-to-left text needs them, and they
# reorder nothing across a name's edges.
_BIDI: Final = "\u202a-\u202e\u2066-\u2069"
# A name is one line: not Unicode's line and paragraph separators either.
_NOT_IN_NAMES: Final = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\u2028\u2029]")
# A note may run over lines and hold a tab; nothing else of the above.
_NOT_IN_NOTES: Final = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")

# An id (or a seq) in a URL: ASCII digits only, as int() alone would also read "١" (an
# Arabic-Indic digit), " 7" or "1_0"; 19 digits is as long as a 64-bit id gets.
ASCII_DIGITS: Final = re.compile(r"[0-9]{1,19}")


def _refuse(found: re.Match[str]) -> ValueError:
    return ValueError(f"must not contain the control character U+{ord(found.group()):04X}")


def plain(value: str) -> str:
    """A name or label: one line of printable text."""
    found = _NOT_IN_NAMES.search(value)
    if found:
        raise _refuse(found)
    return value


def note(value: str) -> str:
    """Free text: may hold tabs and line breaks, but no other control character."""
    found = _NOT_IN_NOTES.search(value)
    if found:
        raise _refuse(found)
    return value


def ascii_int(raw: str) -> int | None:
    """The integer `raw` spells in ASCII digits, or None."""
    return int(raw) if ASCII_DIGITS.fullmatch(raw) else None


PlainText = Annotated[str, AfterValidator(plain)]
NoteText = Annotated[str, AfterValidator(note)]
