"""Issue 15, findings 8 and 9 in the schedule: real APScheduler on a real SQLite job store.

- an ice plan on a daylight-saving day fires exactly the rounds it promised;
- a session that fell due while serve was busy (an ice alert nobody answered) and serve then
  stopped is offered after the restart, or recorded as missed when too late, never lost;
- ``time_scale`` makes rounds and sessions faster alike;
- a store row that cannot be read is kept and does not keep the scheduler awake.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from voice_coach.schedule.plans import IntervalPlan
from voice_coach.schedule.serve import Due
from voice_coach.schedule.store import ScheduleBook, make_scheduler
from voice_coach.session.commands import Command

from test_schedule_serve import FAST, Env, heard  # the scripted voice and recording runner of serve's tests


# --- finding 8: ice plans on a daylight-saving day ----------------------------------------------

DST_DAYS = [  # zone, local start on the day of a change; "every 60m for 4h" of 10-minute rounds
    ("Europe/Berlin", "2026-03-29T00:30"),  # 02:00 -> 03:00
    ("Europe/Berlin", "2026-10-25T00:30"),  # 03:00 -> 02:00
    ("America/New_York", "2026-03-08T00:30"),
    ("America/New_York", "2026-11-01T00:15"),
]


@pytest.mark.parametrize("zone, start", DST_DAYS, ids=[f"{z}-{s}" for z, s in DST_DAYS])
def test_an_ice_plan_on_a_dst_day_fires_the_rounds_it_promises(tmp_path, zone, start):
    tz = ZoneInfo(zone)
    plan = IntervalPlan(kind="ice", start=datetime.fromisoformat(start).replace(tzinfo=tz),
                        every=timedelta(minutes=60), span=timedelta(hours=4), minutes=10, region="lower back")
    promised = plan.rounds()
    assert len(promised) == 4  # 0, 1, 2 and 3 hours after the start; the 4th ends 10 min before the plan
    with ScheduleBook(tmp_path / "s.sqlite3") as book:
        entry = book.add_plan(plan)
    with ScheduleBook(tmp_path / "s.sqlite3") as book:  # what serve unpickles from SQLite
        job = book.scheduler.get_job(entry.id)
    fired, prev, now = [job.next_run_time], None, job.next_run_time
    while True:
        prev = now
        now = job.trigger.get_next_fire_time(prev, now + timedelta(seconds=1))
        if now is None:
            break
        fired.append(now)
    assert [f.astimezone(timezone.utc) for f in fired] == [p.astimezone(timezone.utc) for p in promised]
    gaps = {(b - a).total_seconds() for a, b in zip(fired, fired[1:])}
    assert gaps == {3600.0}


# --- finding 9: a session due during an unanswered ice alert, then a restart -----------------------

# 6 x 5 s, like 6 x 20 s (the test stops serve as soon as the session has fired during it); unscaled,
# with a 0.6-second round (minutes=0.01) instead
SLOW_ALERT = replace(FAST, alert_repeats=6, alert_interval_s=5.0, time_scale=1.0)


def _stop_during_the_alert(tmp_path) -> datetime:
    """Ice round, nobody answers, a session falls due during the alert, serve stops: the due time."""
    first = Env(tmp_path, config=SLOW_ALERT).start()
    try:
        first.add_in(0.1, kind="ice", region="lower back", minutes=0.01)  # 0.6 s, then the alert
        job = first.add_in(1.2, kind="session", routine="evening-back-relief")
        due = job.next_run_time
        first.core._stop_heard = lambda: heard(Command.STOP)  # what the daemon injects on SIGTERM
        loop = threading.Thread(target=first.core.run)
        loop.start()
        deadline = time.monotonic() + 30  # "it happened at all"

        def fired_during_the_alert() -> bool:  # a one-off job leaves the store once it has fired
            return (first.scheduler.get_job(job.id) is None
                    and any("Take the ice off" in s for s in first.speaker.said))

        while not fired_during_the_alert() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fired_during_the_alert(), "the session did not fire while the alert was going on"
        time.sleep(0.2)  # let the listener queue it
        first.core.stop()
        loop.join(30)
        assert not loop.is_alive()
        assert first.runs == [] and not any("evening back relief" in s for s in first.speaker.said)
    finally:
        first.close()
    return due


def test_a_session_due_during_an_ice_alert_is_offered_after_a_restart(tmp_path):
    due = _stop_during_the_alert(tmp_path)
    again = Env(tmp_path)
    again.speaker.script["Say start"] = [Command.START]
    try:
        again.start()
        assert again.core.run_pending(timeout=30, limit=1) == 1
        assert again.core.run_pending(timeout=1.0) == 0  # offered once
        assert again.speaker.said == ["It's time for your evening back relief. Say start, later, or skip."]
        assert again.runs == ["evening-back-relief"]
        assert again.core.book.pending() == [] and again.core.book.entries() == []
    finally:
        again.close()
    third = Env(tmp_path).start()  # dealt with: never offered a second time
    try:
        assert third.core.run_pending(timeout=0.8) == 0 and third.speaker.said == []
    finally:
        third.close()
    assert due is not None


def test_a_session_due_during_an_ice_alert_is_recorded_missed_when_the_restart_is_too_late(tmp_path):
    due = _stop_during_the_alert(tmp_path)
    again = Env(tmp_path, config=replace(FAST, session_grace_s=0.0))  # "an hour later"
    try:
        again.start()
        assert again.core.run_pending(timeout=30, limit=1) == 1
        assert again.speaker.said == [] and again.runs == []
        (missed,) = again.history.missed()
        assert missed.routine == "evening-back-relief" and missed.due == due
        assert again.core.book.pending() == []
    finally:
        again.close()


def test_a_session_stopped_before_its_answer_is_offered_again(tmp_path):
    first = Env(tmp_path, config=replace(FAST, answer_timeout_s=30)).start()
    try:
        first.add_in(0.1, kind="session", routine="evening-back-relief")
        first.core._stop_heard = lambda: heard(Command.STOP)  # what the daemon injects on SIGTERM
        loop = threading.Thread(target=first.core.run)
        loop.start()
        deadline = time.monotonic() + 30
        while not first.speaker.said and time.monotonic() < deadline:
            time.sleep(0.05)
        first.core.stop()
        loop.join(30)
        assert not loop.is_alive()
        assert first.speaker.said and first.runs == []
    finally:
        first.close()
    again = Env(tmp_path)
    again.speaker.script["Say start"] = [Command.SKIP]
    try:
        again.start()
        assert again.core.run_pending(timeout=30, limit=1) == 1
        assert [m.routine for m in again.history.missed()] == ["evening-back-relief"]  # skipped, on record
        assert again.core.book.pending() == []
    finally:
        again.close()


# --- finding 9: --time-scale means "X times faster" for rounds and sessions alike -----------------

def test_time_scale_makes_rounds_and_sessions_faster_alike(tmp_path, caplog):
    e = Env(tmp_path).start()  # FAST.time_scale = 1000
    try:
        e.speaker.script["Time to ice"] = [Command.STOP]
        e.speaker.script["Say start"] = [Command.START]
        e.add_in(0.1, kind="ice", region="lower back", minutes=10)
        with caplog.at_level(logging.INFO, logger="voice_coach.schedule.serve"):
            assert e.core.run_pending(timeout=30, limit=1) == 1
        waits = [r.getMessage() for r in caplog.records if r.getMessage().startswith("waiting up to")]
        assert waits == ["waiting up to 1 s for next/skip/stop/yes"]  # 600 s / 1000, not 600 s x 1000
        e.add_in(0.1, kind="session", routine="evening-back-relief")
        assert e.core.run_pending(timeout=30, limit=1) == 1
        assert e.runs == ["evening-back-relief"]  # Env's runner asserts it got time_scale == 1000
    finally:
        e.close()


def test_ice_spacing_is_scaled_the_same_way(tmp_path):
    e = Env(tmp_path, config=replace(FAST, time_scale=3600.0, ice_min_gap_s=3000))  # 50 min -> 0.83 s
    try:
        e.speaker.script["Time to ice"] = [Command.STOP, Command.STOP]
        payload = {"kind": "ice", "region": "lower back", "minutes": 10, "tz": "UTC"}
        e.core.handle(Due("ice-x", payload, datetime.now(timezone.utc)))
        time.sleep(1.0)  # more than the scaled 50 minutes
        e.core.handle(Due("ice-x", payload, datetime.now(timezone.utc)))
        assert sum(s.startswith("Time to ice") for s in e.speaker.said) == 2
    finally:
        e.close()


# --- finding 8: an unreadable row is kept and does not wake the scheduler ---------------------------

def test_an_unreadable_row_is_kept_and_not_taken_as_the_next_run(tmp_path):
    db = tmp_path / "s.sqlite3"
    utc = ZoneInfo("UTC")
    with ScheduleBook(db) as book:
        good = book.add_session("evening-back-relief", (datetime.now(utc) + timedelta(hours=2)).time(), zone=utc)
        bad = book.add_once("foam-roller", datetime.now(timezone.utc) - timedelta(minutes=1), zone=utc)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE apscheduler_jobs SET job_state = ? WHERE id = ?", (b"garbage", bad.id))
    scheduler = make_scheduler(db)
    scheduler.start(paused=True)
    try:
        store = scheduler._lookup_jobstore("default")
        assert [j.id for j in scheduler.get_jobs()] == [good.id]
        assert bad.id in store.unreadable
        assert store.get_next_run_time() == good.next_run.astimezone(timezone.utc)  # not the bad row's past time
    finally:
        scheduler.shutdown(wait=False)
    with sqlite3.connect(db) as conn:
        assert {r[0] for r in conn.execute("SELECT id FROM apscheduler_jobs")} == {good.id, bad.id}
