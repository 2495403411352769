"""What text staff and robots may write (core/text.py), and close reasons (wire/frames.py)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from robodyne.core.text import NoteText, PlainText, ascii_int
from robodyne.wire.frames import MAX_CLOSE_REASON_BYTES, close_reason


class Sample(BaseModel):
    name: PlainText = ""
    note: NoteText = ""


REFUSED_EVERYWHERE = ["\x00", "\x1b", "\x7f", "\x85", "\x9f", "\u202a", "\u202e", "\u2066",
                      "\u2069"]


@pytest.mark.parametrize("char", REFUSED_EVERYWHERE + ["\t", "\n", "\r", "\u2028", "\u2029"])
def test_a_name_refuses_control_and_bidi_override_characters(char: str) -> None:
    with pytest.raises(ValidationError, match=f"U\\+{ord(char):04X}"):
        Sample(name=f"Pizza{char}Margherita")


@pytest.mark.parametrize("char", REFUSED_EVERYWHERE + ["\r"])
def test_a_note_refuses_them_too(char: str) -> None:
    with pytest.raises(ValidationError):
        Sample(note=f"no{char}ice")


@pytest.mark.parametrize("text", ["Bibimbap 비빔밥", "شاورما", "Crème brûlée", "🍕 × 2",
                                  "a\u200fb"])  # an RLM mark is not an override
def test_names_in_any_script_are_fine(text: str) -> None:
    assert Sample(name=text, note=text).name == text


def test_a_note_may_hold_tabs_and_line_breaks() -> None:
    assert Sample(note="no ice\n\textra lemon").note == "no ice\n\textra lemon"


@pytest.mark.parametrize("raw,value", [("0", 0), ("42", 42), ("9" * 19, int("9" * 19)),
                                       ("١", None), ("١٢", None), ("４２", None), (" 1", None),
                                       ("1 ", None), ("+1", None), ("-1", None), ("1_0", None),
                                       ("", None), ("1" * 20, None)])
def test_ids_in_urls_are_ascii_digits_only(raw: str, value: int | None) -> None:
    assert ascii_int(raw) == value


def test_a_close_reason_is_cut_to_123_bytes_on_a_character_boundary() -> None:
    assert close_reason("unknown topic 'x'") == b"unknown topic 'x'"
    assert len(close_reason("x" * 300)) == MAX_CLOSE_REASON_BYTES == 123
    cut = close_reason("주" * 100)  # three bytes each: 41 fit in 123
    assert cut.decode() == "주" * 41
    cut = close_reason("a" + "주" * 100)  # 1 + 40 × 3 = 121: the 41st would not fit
    assert cut.decode() == "a" + "주" * 40
