"""Times and numbers as a person says them ("4 minutes 10 seconds"), for spoken feedback."""

from __future__ import annotations


def seconds_in_words(seconds: float) -> str:
    """Round to what is worth saying: whole seconds under two minutes, else 10-second steps."""
    total = max(0, round(seconds))
    if total >= 120:
        total = int(round(total / 10.0) * 10)
    minutes, secs = divmod(total, 60)
    parts = []
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    if secs or not minutes:
        parts.append(f"{secs} second{'s' if secs != 1 else ''}")
    return " ".join(parts)
