"""Time encoding for the history file and the ``--since`` / ``--before`` options.

Times are stored as ISO 8601 UTC text (fixed width, so text order is time order) plus the local UTC
offset in seconds at the time of the event, so output can show the local time the person lived.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone

from voice_coach.errors import UserError

_UTC_FORMAT = "%Y-%m-%dT%H:%M:%S.%f+00:00"


def require_aware(dt: datetime, what: str = "time") -> datetime:
    """Reject naive datetimes: a naive time in the history is a bug in the caller."""
    if not isinstance(dt, datetime) or dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got {dt!r}")
    return dt


def encode(dt: datetime) -> tuple[str, int]:
    """``(utc_text, offset_seconds)`` for storage."""
    require_aware(dt)
    offset = dt.utcoffset()
    assert offset is not None
    return dt.astimezone(timezone.utc).strftime(_UTC_FORMAT), int(offset.total_seconds())


def utc_text(dt: datetime) -> str:
    return encode(dt)[0]


def decode(utc: str | None, offset: int | None) -> datetime | None:
    """The stored moment, shown in the local offset it was recorded with."""
    if utc is None:
        return None
    moment = datetime.fromisoformat(utc)
    if moment.tzinfo is None:  # tolerate hand-edited rows
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone(timedelta(seconds=offset or 0)))


def now_local() -> datetime:
    """Now, aware, in the machine's local offset."""
    return datetime.now().astimezone()


_SPAN = re.compile(r"^\s*(\d+)\s*([dwmy])\s*$", re.IGNORECASE)
_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}


def parse_date(text: str, now: datetime | None = None) -> datetime:
    """``YYYY-MM-DD`` (local midnight) or a full ISO 8601 time (naive = local time on that date,
    so a date across a daylight-saving change gets that date's offset, not today's)."""
    text = text.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0)).astimezone()
        moment = datetime.fromisoformat(text)
    except ValueError:
        example = (now or now_local()).date().isoformat()
        raise UserError(f"'{text}' is not a date; use YYYY-MM-DD, e.g. {example}") from None
    return moment if moment.tzinfo is not None else moment.astimezone()


def parse_since(text: str | None, now: datetime | None = None) -> datetime | None:
    """``30d``, ``12w``, ``6m``, ``1y``, ``all`` or a date. ``None``/``all`` means no limit."""
    now = now or now_local()
    if text is None or text.strip().lower() in ("all", ""):
        return None
    match = _SPAN.match(text)
    if match:
        days = int(match.group(1)) * _DAYS[match.group(2).lower()]
        try:
            return now - timedelta(days=days)
        except OverflowError:  # before the year 1: every session is that recent
            raise UserError(f"'{text}' reaches back before the year 1; use --since all for the whole history") from None
    try:
        return parse_date(text, now)
    except UserError:
        raise UserError(
            f"'{text}' is not a period; use e.g. 30d, 12w, 6m, 1y, all, or a date like {now.date().isoformat()}"
        ) from None
