"""Reading what a person types for a schedule: clock times, durations, weekdays and time zones.

Every function raises :class:`~voice_coach.errors.UserError` with the accepted forms, so the CLI
can refuse bad input before anything is written to the job store.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from voice_coach.errors import UserError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_GROUPS = {
    "daily": DAY_NAMES, "everyday": DAY_NAMES, "all": DAY_NAMES,
    "weekdays": DAY_NAMES[:5], "weekends": DAY_NAMES[5:],
}


def parse_clock(text: str) -> time:
    """``20:00`` or ``7:05`` (24-hour clock) -> :class:`datetime.time`."""
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", text or "")
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise UserError(f"'{text}' is not a time of day; write it on the 24-hour clock as HH:MM, e.g. 20:00 or 07:30")
    return time(int(match[1]), int(match[2]))


def parse_span(text: str, what: str = "a duration") -> timedelta:
    """``60m``, ``4h``, ``1h30m``, ``90s`` -> timedelta. A bare number is refused: minutes or seconds?"""
    from voice_coach.routines import parse_duration  # one duration grammar for the whole program

    cleaned = (text or "").strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", cleaned):
        raise UserError(f"{what} '{text}' needs a unit: e.g. {cleaned}m (minutes) or {cleaned}h (hours)")
    try:
        seconds = parse_duration(cleaned)
    except ValueError:
        raise UserError(f"{what} '{text}' is not a duration; write e.g. 45m, 2h or 1h30m") from None
    if seconds <= 0:
        raise UserError(f"{what} must be longer than zero")
    return timedelta(seconds=seconds)


def parse_days(text: str | None) -> tuple[str, ...]:
    """``mon,wed,fri`` / ``weekdays`` / ``weekends`` -> ordered cron day names; empty = every day."""
    if not text or not text.strip():
        return DAY_NAMES
    days: set[str] = set()
    for part in re.split(r"[,\s]+", text.strip().lower()):
        if not part:
            continue
        if part in _DAY_GROUPS:
            days.update(_DAY_GROUPS[part])
            continue
        name = next((d[:3] for d in _FULL_DAYS if len(part) >= 3 and d.startswith(part)), None)
        if name is None:
            raise UserError(f"'{part}' is not a day; use mon,tue,wed,thu,fri,sat,sun (or weekdays, weekends)")
        days.add(name)
    return tuple(d for d in DAY_NAMES if d in days)


def local_zone_name() -> str:
    """The machine's zone as an IANA name (what systemd/timedatectl set); UTC if it can't be told."""
    try:
        import tzlocal

        name = tzlocal.get_localzone_name()
    except Exception:  # noqa: BLE001 - an odd /etc/localtime must not stop scheduling
        name = None
    return name or "UTC"


def parse_zone(name: str | None) -> ZoneInfo:
    """An IANA zone (``Europe/Berlin``); None/empty = the machine's local zone."""
    key = (name or "").strip() or local_zone_name()
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, IsADirectoryError):
        close = [z for z in available_timezones() if key.lower() in z.lower()][:3]
        hint = f" Did you mean {', '.join(sorted(close))}?" if close else ""
        raise UserError(f"unknown time zone '{key}'; use an IANA name like Europe/Berlin or America/New_York.{hint}") from None


def format_span(delta: timedelta) -> str:
    """``1h30m`` style, for messages and listings."""
    total = int(delta.total_seconds())
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    out = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{seconds}s" if seconds else "")
    return out or "0m"


_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
          "sixteen seventeen eighteen nineteen twenty").split()


def minutes_words(minutes: float) -> str:
    """``10`` -> ``ten minutes`` (spoken text reads better with words than digits)."""
    whole = int(round(minutes))
    word = _WORDS[whole] if 0 <= whole < len(_WORDS) else str(whole)
    return f"{word} minute" if whole == 1 else f"{word} minutes"
