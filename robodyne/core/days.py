"""The restaurant's days: a date in `server.timezone` as the UTC range the records are stamped
in (every stored time is UTC, core/models.iso)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Final

from .errors import Invalid
from .models import iso


DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_day(text: str | None, zone: tzinfo, now: datetime | None = None) -> date:
    """A YYYY-MM-DD query value, or today in `zone` when there is none."""
    if not text:
        return (now or datetime.now(timezone.utc)).astimezone(zone).date()
    try:
        if not DATE.fullmatch(text):  # fromisoformat also takes 20261130 and 2026-W48-1
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{text!r} is not a date: give YYYY-MM-DD") from None


def day_range(first: date, last: date, zone: tzinfo) -> tuple[str, str]:
    """From the start of `first` to the start of the day after `last`, in `zone`, as UTC
    stamps; a day of a daylight-saving change is 23 or 25 hours long."""
    if last < first:
        raise Invalid(f"the range ends ({last}) before it begins ({first})")
    try:
        start = datetime.combine(first, time(), tzinfo=zone)
        end = datetime.combine(last + timedelta(days=1), time(), tzinfo=zone)
        return iso(start.astimezone(timezone.utc)), iso(end.astimezone(timezone.utc))
    except OverflowError:  # 9999-12-31 has no next day; 0001-01-01 east of UTC, no start
        raise Invalid(f"{first} to {last} is past the calendar's ends") from None


class WallClock:
    """Stored UTC stamps as the restaurant's wall-clock time with its offset ("" for none).

    An export converts four stamps a row, so each UTC hour's conversion is worked out once:
    with an offset of whole hours, only the date and hour of a stamp change, and the rest is
    copied. An hour in which the offset changes (the clocks go forward or back inside it), or
    an offset with minutes (India, Nepal), is converted stamp by stamp.
    """

    # Rows come in time order, so a few hours are all that is ever looked up again.
    HOURS_KEPT: Final = 1024

    def __init__(self, zone: tzinfo) -> None:
        self._zone = zone
        self._hours: dict[str, tuple[str, str] | None] = {}

    def __call__(self, stamp: str | None) -> str:
        if not stamp:
            return ""
        hour = stamp[:13]
        if hour not in self._hours:
            if len(self._hours) >= self.HOURS_KEPT:
                self._hours.clear()
            self._hours[hour] = self._whole_hour(hour)
        shifted = self._hours[hour]
        if shifted is None:
            return datetime.fromisoformat(stamp).astimezone(self._zone).isoformat(
                timespec="seconds")
        local_hour, suffix = shifted
        return local_hour + stamp[13:19] + suffix

    def _whole_hour(self, hour: str) -> tuple[str, str] | None:
        """The hour's local "YYYY-MM-DDTHH" and offset "+09:00", if one shift of whole hours
        holds all through it."""
        start = datetime.fromisoformat(hour + ":00:00").replace(tzinfo=timezone.utc)
        first = start.astimezone(self._zone)
        last = (start + timedelta(hours=1, microseconds=-1)).astimezone(self._zone)
        offset = first.utcoffset()
        if offset is None or offset != last.utcoffset() or offset % timedelta(hours=1):
            return None
        text = first.isoformat(timespec="seconds")
        return text[:13], text[19:]
