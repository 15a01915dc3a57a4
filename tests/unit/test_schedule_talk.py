"""Talking to serve between sessions, with a real APScheduler on a real SQLite store: requests with
the wake word start routines, set timers and reminders that survive a restart and keep the ice
rules, answer "what's next" and "how long left", and make louder/quieter last (settings file)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from test_schedule_serve import FAST, Env

from voice_coach import settings as settings_file
from voice_coach.hearing import Heard
from voice_coach.schedule import timers
from voice_coach.schedule.serve import ServeConfig
from voice_coach.schedule.store import ScheduleBook
from voice_coach.session.commands import Command


def said_to(env: Env, text: str, ended_at: float | None = None) -> None:
    env.io.inbox.put(Heard(None, None, text, 0.0, 1.0, 0.8, -20.0, ended_at))


class VolumeSpeaker:
    def __init__(self, speaker, volume: float = 0.5):
        self.inner, self.volume = speaker, volume

    def adjust_volume(self, step: int) -> float:
        self.volume = round(min(1.0, max(0.1, self.volume + 0.1 * step)), 2)
        return self.volume

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture
def env(tmp_path):
    e = Env(tmp_path).start()
    yield e
    e.close()


def test_start_a_routine_by_name(env):
    said_to(env, "Coach, start foam roller.")
    assert env.core.run_pending(timeout=1.0, limit=1) == 1
    assert env.runs == ["foam-roller"]


def test_an_unknown_routine_is_said_with_the_ones_there_are(env):
    said_to(env, "coach, start yoga")
    env.core.run_pending(timeout=1.0, limit=1)
    assert env.runs == []
    assert env.speaker.said[-1].startswith("I do not know a routine called yoga. You have: ")
    assert "foam roller" in env.speaker.said[-1]


def test_the_wake_word_said_on_its_own_addresses_the_next_utterance(env):
    now = time.monotonic()
    said_to(env, "Coach.", ended_at=now)
    said_to(env, "start foam roller", ended_at=now + 1.5)
    said_to(env, "start breathing", ended_at=now + 3.0)  # only the first utterance after the wake word
    said_to(env, "Coach!", ended_at=now + 4.0)
    said_to(env, "start partner massage", ended_at=now + 4.0 + 7.0)  # too late: not addressed
    assert env.core.run_pending(timeout=0.5) == 1
    assert env.runs == ["foam-roller"]


def test_speech_without_the_wake_word_or_our_own_echo_does_nothing(env):
    said_to(env, "start foam roller")  # a TV
    said_to(env, "coach, start foam roller", ended_at=time.monotonic() - 100)  # heard while we spoke
    env.core._quiet_since = time.monotonic()
    assert env.core.run_pending(timeout=0.5) == 0
    assert env.runs == [] and env.speaker.said == []


def test_an_ice_timer_is_stored_fires_is_spoken_until_heard_and_survives_a_restart(tmp_path):
    config = ServeConfig(**{**FAST.__dict__, "time_scale": 0.02})  # one minute = 1.2 s
    first = Env(tmp_path, config=config).start()
    try:
        said_to(first, "Coach, ice timer 1 minute.")
        assert first.core.run_pending(timeout=0.5, limit=1) == 1
        assert first.speaker.said == ["Ice timer set for one minute. Keep a thin cloth between the ice and your skin."]
    finally:
        first.close()  # the service stops before the timer is due
    with ScheduleBook(tmp_path / "schedule.sqlite3") as other_process:
        (entry,) = [e for e in other_process.entries() if e.kind == "timer"]
    assert entry.payload["what"] == "ice"
    again = Env(tmp_path, config=config)
    again.speaker.script["Take the ice off"] = [None, Command.STOP]  # heard on the second alert
    again.start()
    try:
        assert again.core.run_pending(timeout=3.0, limit=1) == 1
        assert again.speaker.said == ["Time is up. Take the ice off your skin now."] * 2 + ["Thank you."]
        assert again.speaker.chimes == ["alert", "alert"]
        assert timers.pending(again.scheduler) == []  # done: gone from the store
    finally:
        again.close()


def test_a_reminder_is_spoken_when_due(env):
    env.core.config = ServeConfig(**{**FAST.__dict__, "time_scale": 0.01})
    said_to(env, "coach remind me to stretch in one minute")
    env.core.run_pending(timeout=0.3, limit=1)
    assert env.speaker.said == ["Okay. I will remind you to stretch in one minute."]
    assert env.core.run_pending(timeout=2.0, limit=1) == 1
    assert env.speaker.said[-1] == "This is your reminder to stretch."


def test_how_long_left_and_stop_the_timer(env):
    env.core.config = ServeConfig(**{**FAST.__dict__, "time_scale": 1.0})
    said_to(env, "coach, rolling timer 10 minutes")
    said_to(env, "coach, how long left?")
    env.core.run_pending(timeout=0.3, limit=2)
    assert env.speaker.said[-1] in ("10 minutes left on your rolling timer.", "9 minutes 60 seconds left on your rolling timer.")
    said_to(env, "coach, stop the timer")
    said_to(env, "coach, how long left")
    said_to(env, "coach, stop the timer")
    env.core.run_pending(timeout=0.3, limit=3)
    assert env.speaker.said[-3:] == ["Timer stopped.", "There is no timer running.", "There is no timer running."]
    assert timers.pending(env.scheduler) == []


def test_ice_timers_keep_the_ice_rules(env):
    env.core.config = ServeConfig(**{**FAST.__dict__, "time_scale": 1.0})
    said_to(env, "coach, ice timer 30 minutes")
    said_to(env, "coach, ice timer 15 minutes")
    said_to(env, "coach, ice timer 10 minutes")  # only just after the last one began
    said_to(env, "coach, remind me to ice in 20 minutes")
    said_to(env, "coach, remind me to ice in 2 hours")
    env.core.run_pending(timeout=0.3, limit=5)
    s = env.speaker.said
    assert s[0].startswith("Ice for at most twenty minutes at a time")
    assert s[1].startswith("Ice timer set for fifteen minutes.")
    assert s[2].startswith("That is only moments after another time with ice. Ice at most about once an hour")
    assert s[3].startswith("That is only twenty minutes after another time with ice.")
    assert s[4] == "Okay. I will remind you to ice in two hours."
    assert [(t.kind, t.what, t.seconds) for t in timers.pending(env.scheduler)] == [
        ("timer", "ice", 900.0), ("reminder", "ice", 7200.0)]


def test_an_ice_timer_too_close_to_a_planned_ice_round_is_refused(env):
    from voice_coach.schedule.plans import IntervalPlan

    env.core.config = ServeConfig(**{**FAST.__dict__, "time_scale": 1.0})
    start = datetime.now(timezone.utc) + timedelta(minutes=30)
    env.core.book.add_plan(IntervalPlan("ice", start, timedelta(hours=1), timedelta(hours=2), 10, "lower back"))
    said_to(env, "coach, ice timer 10 minutes")
    env.core.run_pending(timeout=0.3, limit=1)
    assert env.speaker.said[-1].startswith("That is only 30 minutes before another time with ice.")
    assert timers.pending(env.scheduler) == []


def test_whats_next_names_the_next_session(env):
    zone = ZoneInfo("UTC")
    at = (datetime.now(timezone.utc) + timedelta(hours=2)).replace(second=0, microsecond=0)
    env.core.book.add_session("evening-back-relief", at.time(), zone=zone)
    said_to(env, "coach, what's next?")
    env.core.run_pending(timeout=0.3, limit=1)
    day = "today" if at.date() == datetime.now(timezone.utc).date() else "tomorrow"
    assert env.speaker.said == [f"Next is your evening back relief, {day} at {at:%H:%M}."]


def test_nothing_scheduled(env):
    said_to(env, "coach when is my next session")
    env.core.run_pending(timeout=0.3, limit=1)
    assert env.speaker.said[-1].startswith("Nothing is scheduled.")


def test_louder_and_quieter_last_in_the_settings_file(tmp_path):
    e = Env(tmp_path)
    e.io = type(e.io)(VolumeSpeaker(e.speaker, 0.5), None, e.io.inbox)
    e.core.io = e.io
    e.core.settings = settings_file.Settings()
    path = tmp_path / "settings.toml"
    e.core.talk.save_settings = lambda s: settings_file.save(s, path)
    e.start()
    try:
        said_to(e, "coach, louder")
        said_to(e, "coach, louder please")
        e.core.run_pending(timeout=0.3, limit=2)
        assert settings_file.load(path).speech.volume == pytest.approx(0.7)
        said_to(e, "coach, quieter")
        e.core.run_pending(timeout=0.3, limit=1)
        assert settings_file.load(path).speech.volume == pytest.approx(0.6)
        assert e.speaker.said == ["Louder.", "Louder.", "Quieter."]
        assert e.core.settings.speech.volume == pytest.approx(0.6)  # the next session speaks at it too
    finally:
        e.close()

