"""Schedules: daily sessions and ice/rolling rounds in a persistent APScheduler 3 job store, and
the ``serve`` loop that announces them. See :mod:`voice_coach.schedule.store` for how the CLI and a
running ``serve`` share the store.
"""

from voice_coach.schedule.plans import IntervalPlan, check_no_clash, check_plan
from voice_coach.schedule.serve import Due, Missed, ServeConfig, ServeCore
from voice_coach.schedule.store import Entry, ScheduleBook, make_scheduler, notify_serve
from voice_coach.schedule.triggers import DailyTrigger

__all__ = [
    "DailyTrigger", "Due", "Entry", "IntervalPlan", "Missed", "ScheduleBook", "ServeConfig", "ServeCore",
    "check_no_clash", "check_plan", "make_scheduler", "notify_serve",
]
