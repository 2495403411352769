"""The restaurant's days: a date in `server.timezone` as the UTC range the records are stamped
in (every stored time is UTC, core/models.iso)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone, tzinfo

from .errors import Invalid
from .models import iso


def parse_day(text: str | None, zone: tzinfo, now: datetime | None = None) -> date:
    """A YYYY-MM-DD query value, or today in `zone` when there is none."""
    if not text:
        return (now or datetime.now(timezone.utc)).astimezone(zone).date()
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{text!r} is not a date: give YYYY-MM-DD") from None


def day_range(first: date, last: date, zone: tzinfo) -> tuple[str, str]:
    """From the start of `first` to the start of the day after `last`, in `zone`, as UTC
    stamps; a day of a daylight-saving change is 23 or 25 hours long."""
    if last < first:
        raise Invalid(f"the range ends ({last}) before it begins ({first})")
    start = datetime.combine(first, time(), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time(), tzinfo=zone)
    return iso(start.astimezone(timezone.utc)), iso(end.astimezone(timezone.utc))


def local(stamp: str | None, zone: tzinfo) -> str:
    """A stored UTC stamp as the restaurant's wall-clock time with its offset; "" for none."""
    if not stamp:
        return ""
    return datetime.fromisoformat(stamp).astimezone(zone).isoformat(timespec="seconds")
