"""ServeCore with a real APScheduler on a real SQLite job store, the real history store and the real
routine library. The voice is a scripted speaker/inbox pair and the session runner a recorder (the
runner has its own tests); what is tested here is serve's own logic: announce, start/later/skip,
one thing at a time, ice alerts, missed runs, and picking up changes made by other processes.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from apscheduler.triggers.date import DateTrigger

from voice_coach import routines
from voice_coach.hearing import Heard
from voice_coach.history import HistoryStore
from voice_coach.schedule.jobs import REMIND_REF
from voice_coach.schedule.serve import Due, ServeConfig, ServeCore
from voice_coach.schedule.store import ScheduleBook, make_scheduler
from voice_coach.session.commands import Command

FAST = ServeConfig(poll_s=0.2, answer_timeout_s=0.6, snooze_s=900, time_scale=1000,
                   alert_interval_s=0.2, alert_repeats=3, ice_min_gap_s=3000)


def heard(command: Command, ended_at: float | None = None) -> Heard:
    return Heard(command, None, command.value, 0.0, 0.5, 0.9, -20.0, ended_at)


class ScriptedSpeaker:
    """Records what is said; when a line containing a key is said, the next scripted answer arrives.

    An answer of None means silence; ``echo=True`` makes the answer look like it was heard while the
    coach was still talking (the microphone hearing the coach's own "start").
    """

    def __init__(self, inbox: queue.Queue, timeline: list):
        self.inbox = inbox
        self.timeline = timeline
        self.said: list[str] = []
        self.chimes: list[str] = []
        self.script: dict[str, list] = {}
        self.echo = False

    def say(self, text: str) -> None:
        self.said.append(text)
        self.timeline.append(("say", text, time.monotonic()))
        for key, answers in self.script.items():
            if key in text and answers:
                answer = answers.pop(0)
                if answer is not None:
                    self.inbox.put(heard(answer, time.monotonic() if self.echo else None))

    def chime(self, kind: str) -> None:
        self.chimes.append(kind)

    def wait_idle(self, timeout: float | None = None) -> bool:
        return True


@dataclass(frozen=True)
class FakeIO:
    speaker: ScriptedSpeaker
    listener: None
    inbox: queue.Queue


class Env:
    def __init__(self, tmp_path, config: ServeConfig = FAST, session_s: float = 0.0):
        self.db = tmp_path / "schedule.sqlite3"
        self.timeline: list = []
        inbox: queue.Queue = queue.Queue()
        self.speaker = ScriptedSpeaker(inbox, self.timeline)
        self.io = FakeIO(self.speaker, None, inbox)
        self.history = HistoryStore.open(tmp_path / "history.sqlite3")
        self.runs: list[str] = []
        self.session_s = session_s
        self.scheduler = make_scheduler(self.db)
        self.core = ServeCore(self.scheduler, self.io, settings=SimpleNamespace(), history=self.history,
                              find_routine=routines.find, run_session=self._run, config=config)

    def _run(self, routine, settings, io, history, *, time_scale):
        assert io is self.io and history is self.history and time_scale == FAST.time_scale
        self.timeline.append(("session-start", routine.id, time.monotonic()))
        self.runs.append(routine.id)
        time.sleep(self.session_s)
        self.timeline.append(("session-end", routine.id, time.monotonic()))
        return SimpleNamespace(reason="finished", session_id=1)

    def start(self):
        self.scheduler.start(paused=True)
        self.core.attach()
        self.scheduler.resume()
        return self

    def add_in(self, seconds: float, **payload):
        payload.setdefault("tz", "UTC")
        at = datetime.now(timezone.utc) + timedelta(seconds=seconds)
        return self.scheduler.add_job(REMIND_REF, DateTrigger(run_date=at), kwargs=payload, misfire_grace_time=600)

    def close(self):
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.history.close()


@pytest.fixture
def env(tmp_path):
    e = Env(tmp_path)
    yield e
    e.close()


def test_announces_and_runs_on_start(env):
    env.start()
    env.speaker.script["Say start"] = [Command.START]
    env.add_in(0.3, kind="session", routine="evening-back-relief")
    assert env.core.run_pending(timeout=30, limit=1) == 1
    assert env.speaker.said[0] == "It's time for your evening back relief. Say start, later, or skip."
    assert env.runs == ["evening-back-relief"]


def test_later_snoozes_fifteen_minutes_in_the_store(env):
    env.start()
    env.speaker.script["Say start"] = [Command.LATER]
    env.add_in(0.2, kind="session", routine="evening-back-relief")
    env.core.run_pending(timeout=30, limit=1)
    assert env.runs == []
    assert "fifteen minutes" in env.speaker.said[-1]
    with ScheduleBook(env.db) as other_process:
        (snooze,) = [e for e in other_process.entries() if e.id.startswith("snooze-")]
    assert snooze.routine == "evening-back-relief" and snooze.kind == "session"
    wait = (snooze.next_run - datetime.now(timezone.utc)).total_seconds()
    assert 890 < wait <= 900


def test_skip_is_recorded_as_missed(env):
    env.start()
    env.speaker.script["Say start"] = [Command.SKIP]
    job = env.add_in(0.2, kind="session", routine="evening-back-relief")
    due = job.next_run_time
    env.core.run_pending(timeout=30, limit=1)
    assert env.runs == []
    (missed,) = env.history.missed()
    assert missed.routine == "evening-back-relief"
    assert abs((missed.due - due).total_seconds()) < 1


def test_the_coach_hearing_its_own_start_is_not_an_answer(env):
    env.start()
    env.speaker.echo = True  # "start" arrives, but it ended while the coach was still speaking
    env.speaker.script["Say start"] = [Command.START]
    env.add_in(0.2, kind="session", routine="evening-back-relief")
    env.core.run_pending(timeout=30, limit=1)
    assert env.runs == []  # no answer -> asked again later instead
    assert any(e.id.startswith("snooze-") for e in env.core.book.entries())


def test_a_reminder_due_during_a_session_waits_for_its_end(tmp_path):
    e = Env(tmp_path, session_s=1.0).start()
    try:
        e.speaker.script["Say start"] = [Command.START]
        e.speaker.script["Time to ice"] = [Command.STOP]
        e.add_in(0.1, kind="session", routine="evening-back-relief")
        e.add_in(0.5, kind="ice", region="lower back", minutes=10)  # fires mid-session
        assert e.core.run_pending(timeout=30, limit=2) == 2
        kinds = [(k, v) for k, v, _ in e.timeline]
        end = kinds.index(("session-end", "evening-back-relief"))
        ice = next(i for i, (k, v) in enumerate(kinds) if k == "say" and v.startswith("Time to ice"))
        assert ice > end
    finally:
        e.close()


def test_ice_round_ends_with_a_repeated_alert_until_heard(env):
    env.start()
    env.speaker.script["Take the ice off"] = [None, Command.NEXT]  # heard on the second alert
    env.add_in(0.1, kind="ice", region="lower back", minutes=10)  # 10 min / 1000 = 0.6 s
    env.core.run_pending(timeout=30, limit=1)
    assert env.speaker.said[0].startswith("Time to ice your lower back for ten minutes.")
    assert env.speaker.chimes == ["alert", "alert"]
    assert env.speaker.said[1:] == ["Time is up. Take the ice off your lower back now."] * 2 + ["Thank you."]


def test_ice_round_stopped_early_has_no_alert(env):
    env.start()
    env.speaker.script["Time to ice"] = [Command.STOP]
    env.add_in(0.1, kind="ice", region="neck", minutes=15)
    env.core.run_pending(timeout=30, limit=1)
    assert env.speaker.chimes == []
    assert env.speaker.said[-1] == "Ice off. Well done."


def test_ice_rounds_too_close_at_run_time_are_skipped(env):
    env.speaker.script["Time to ice"] = [Command.STOP, Command.STOP]
    now = datetime.now(timezone.utc)
    for _ in range(2):  # e.g. one delayed behind a long session, the next on time
        env.core.handle(Due("ice-x", {"kind": "ice", "region": "lower back", "minutes": 10, "tz": "UTC"}, now))
    assert sum(s.startswith("Time to ice") for s in env.speaker.said) == 1


def test_unknown_routine_in_the_store_is_logged_and_recorded(env):
    env.start()
    env.add_in(0.1, kind="session", routine="deleted-routine")
    env.core.run_pending(timeout=30, limit=1)
    assert env.speaker.said == [] and env.runs == []
    assert [m.routine for m in env.history.missed()] == ["deleted-routine"]


def _missed_while_off(env, minutes_ago: int):
    """A daily session whose last due time was ``minutes_ago``, with the store untouched for 3 days."""
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    last_due = now - timedelta(minutes=minutes_ago)
    with ScheduleBook(env.db) as book:
        entry = book.add_session("evening-back-relief", last_due.time(), zone=timezone_utc())
        book.scheduler.modify_job(entry.id, next_run_time=last_due - timedelta(days=3))
    return entry.id, last_due


def timezone_utc():
    from zoneinfo import ZoneInfo

    return ZoneInfo("UTC")


def test_missed_while_off_is_offered_once_within_grace(env):
    job_id, last_due = _missed_while_off(env, minutes_ago=20)
    env.speaker.script["Would you like to do it now"] = [Command.START]
    env.start()
    assert env.core.run_pending(timeout=30, limit=1) == 1  # four due times (3 days + today), one offer ...
    assert env.core.run_pending(timeout=1.0) == 0  # ... and no second
    assert env.speaker.said == [f"Your evening back relief was due at {last_due:%H:%M}. Would you like to do it now? "
                                "Say start, later, or skip."]
    assert env.runs == ["evening-back-relief"]
    assert env.history.missed() == []
    next_run = env.core.book.get(job_id).next_run
    assert next_run == last_due + timedelta(days=1)
    # "restart" the service: nothing is offered again
    env.scheduler.shutdown(wait=False)
    again = Env(env.db.parent)
    try:
        again.start()
        assert again.core.run_pending(timeout=1.0) == 0
        assert again.speaker.said == []
    finally:
        again.close()


def test_missed_while_off_beyond_grace_is_not_run_but_recorded_once(env):
    _, last_due = _missed_while_off(env, minutes_ago=120)  # grace is 60 min
    env.speaker.script["Say start"] = [Command.START]
    env.start()
    assert env.core.run_pending(timeout=30, limit=1) == 1  # one Missed event ...
    assert env.core.run_pending(timeout=1.0) == 0  # ... not four
    assert env.speaker.said == [] and env.runs == []
    assert [(m.routine, m.due) for m in env.history.missed()] == [("evening-back-relief", last_due)]


def test_a_change_from_another_process_is_seen_on_reload(env):
    env.start()  # empty store: the scheduler sleeps until told otherwise
    time.sleep(0.5)  # let its first look at the (empty) store finish
    with ScheduleBook(env.db) as cli:
        cli.add_snooze({"kind": "session", "routine": "evening-back-relief", "tz": "UTC"},
                       datetime.now(timezone.utc) + timedelta(seconds=0.2), 0)
    env.speaker.script["Say start"] = [Command.START]
    assert env.core.run_pending(timeout=1.0) == 0  # not noticed by itself (APScheduler 3 does not watch the DB)
    env.core.reload()  # what SIGHUP from the CLI, or the periodic poll, does
    assert env.core.run_pending(timeout=30, limit=1) == 1
    assert env.runs == ["evening-back-relief"]


def test_stop_ends_the_loop_and_a_waiting_question(env):
    env.start()
    env.core._stop_heard = lambda: heard(Command.STOP)  # what the daemon injects
    env.add_in(0.1, kind="session", routine="evening-back-relief")
    slow = ServeConfig(**{**FAST.__dict__, "answer_timeout_s": 300})
    env.core.config = slow
    thread = threading.Thread(target=env.core.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30  # "it happened at all": the loop leaves as soon as it has
    while not env.speaker.said and time.monotonic() < deadline:
        time.sleep(0.05)
    assert env.speaker.said, "the due session was never announced"
    env.core.stop()
    thread.join(timeout=30)  # the question would wait 300 s for an answer: only stop() ends it this soon
    assert not thread.is_alive(), "stop() did not end the loop and the waiting question"
    assert env.runs == [] and env.history.missed() == []
