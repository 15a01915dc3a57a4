"""A daily trigger that keeps to the wall clock across daylight-saving changes.

APScheduler 3.11's :class:`CronTrigger` (measured here with zoneinfo zones):
- on the fall-back day a time inside the repeated hour (02:30 in Berlin, 01:30 in New York) fires
  twice, once per UTC offset (fold=0, then fold=1);
- on the spring-forward day a time inside the skipped hour comes back as a non-existent local time
  (``02:30+01:00``), which is the right instant (03:30 summer time) but prints confusingly;
- from a fold=1 start it can return the same time again, so the scheduler's catch-up loop never
  ends (agronholm/apscheduler #1021, open on 3.11).
This subclass keeps CronTrigger's field logic and only fixes the result: it normalises the time,
drops the second (fold=1) pass of a repeated hour, and always moves strictly forward.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from apscheduler.triggers.cron import CronTrigger


def _is_repeat(dt: datetime) -> bool:
    """True for the second occurrence of an ambiguous local time (the hour that is repeated)."""
    return dt.fold == 1 and dt.replace(fold=0).utcoffset() != dt.utcoffset()


class DailyTrigger(CronTrigger):
    """``CronTrigger(hour=.., minute=.., day_of_week=..)`` that fires once per day at most.

    Semantics on DST days: a time in the skipped hour runs one hour later (02:30 -> 03:30 summer
    time); a time in the repeated hour runs once, at its first occurrence.
    """

    def get_next_fire_time(self, previous_fire_time, now):
        after = now
        prev = previous_fire_time
        for _ in range(8):  # a few corrections at most; never spin (#1021)
            candidate = super().get_next_fire_time(prev, after)
            if candidate is None:
                return None
            candidate = candidate.astimezone(timezone.utc).astimezone(self.timezone)  # gap times -> real times
            repeat = _is_repeat(candidate)
            stuck = previous_fire_time is not None and candidate <= previous_fire_time
            if not repeat and not stuck:
                return candidate
            # Ask again from a point past this candidate: one hour later is past the repeated
            # hour and, for a daily time, still before the next day's run.
            after = candidate.astimezone(timezone.utc) + timedelta(hours=1)
            prev = None
        return None

    def __str__(self) -> str:
        return "daily" + super().__str__().removeprefix("cron")
