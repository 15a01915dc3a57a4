"""A conversation that never stalls, end to end in the virtual room (synthesized speech through the
room's speaker and microphone, the Whisper recognizer): a session answered with "ready" and "okay"
instead of "next", a silence that gets a re-prompt, and requests to ``serve`` between sessions
("coach, start breathing", "coach, ice timer 1 minute") with a restart before the timer is due.

Needs the virtual room (``scripts/virtual-room start``), espeak-ng and pulseaudio-utils (paplay).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

import roomkit
import support
from coachkit import CoachProcess, Person
from support import wait_for_log

from voice_coach import paths
from voice_coach.history import HistoryStore

pytestmark = pytest.mark.room

TALK_ROUTINE = """\
[routine]
id = "talk-room-test"
title = "Talk check"
description = "Two steps that wait for the person, for the conversation room test."
minutes = 1
sources = ["test routine"]

[[steps]]
id = "lie-down"
title = "Lie down"
say = "Lie down on your back. Tell me when you are ready."

[[steps]]
id = "breathe"
title = "Breathe"
say = "Breathe in slowly, and out."
duration = "3s"

[[steps]]
id = "sit-up"
title = "Sit up"
say = "Sit up slowly. Tell me when you are ready."

[[steps]]
id = "closing"
kind = "closing"
title = "Done"
say = "That is all. Well done."
"""

SERVE_ROUTINE = """\
[routine]
id = "breathing"
title = "Breathing"
description = "A short routine for the serve conversation room test."
minutes = 1
sources = ["test routine"]

[[steps]]
id = "breathe"
title = "Breathe"
say = "Breathe in slowly, and out."
duration = "4s"

[[steps]]
id = "closing"
kind = "closing"
title = "Done"
say = "That is all. Well done."
"""


def _install(routine: str, name: str, settings: str) -> None:
    folder = paths.user_routines_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.toml").write_text(routine)
    paths.settings_file().parent.mkdir(parents=True, exist_ok=True)
    paths.settings_file().write_text(settings)


@pytest.fixture
def person(tmp_path, room):
    folder = tmp_path / "person"
    folder.mkdir()
    return Person(folder)


def _history() -> list[dict]:
    out = subprocess.run([sys.executable, "-m", "voice_coach", "history", "--json"], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


def _steps(coach: CoachProcess) -> list[str]:
    return [e["id"] for e in coach.of_type("step")]


def test_a_session_is_completed_with_ready_and_okay_instead_of_next(person, tmp_path):
    _install(TALK_ROUTINE, "talk-room-test", "[speech]\nvolume = 0.3\n")
    coach = CoachProcess("talk-room-test", "--no-pain", stderr_path=tmp_path / "coach.log")
    try:
        coach.wait_for(lambda e: e["type"] == "question" and e["question"] == "safety" or
                       e["type"] == "step" and e["id"] == "lie-down")
        coach.quiet()
        mark = coach.mark()
        person.say("ready")
        coach.wait_for(lambda e: e["type"] == "step" and e["id"] == "breathe", after=mark)
        coach.wait_for(lambda e: e["type"] == "step" and e["id"] == "sit-up", timeout=60)  # the timer ran out
        coach.quiet()
        mark = coach.mark()
        person.say("okay")
        coach.wait_for(lambda e: e["type"] == "end", after=mark)
        assert coach.close() == 0
    finally:
        if coach.proc.poll() is None:
            coach.proc.kill()
    assert coach.of_type("end")[-1]["reason"] == "finished"
    assert _steps(coach) == ["lie-down", "breathe", "sit-up", "closing"]
    assert not [e for e in coach.of_type("say") if "does not fit" in e["text"] or e["text"].startswith("Sorry")]
    (session,) = _history()
    assert session["end_reason"] == "finished" and session["steps_done"] == session["steps_total"] == 4


def test_silence_at_a_waiting_step_gets_a_re_prompt_and_the_answer_to_it_goes_on(person, tmp_path):
    _install(TALK_ROUTINE, "talk-room-test", "[speech]\nvolume = 0.3\n[session]\nreprompt_after_s = 4.0\n")
    coach = CoachProcess("talk-room-test", "--no-pain", stderr_path=tmp_path / "coach.log")
    try:
        step = coach.wait_for(lambda e: e["type"] == "step" and e["id"] == "lie-down")
        instruction = coach.wait_for(lambda e: e["type"] == "say" and e["text"].startswith("Lie down"))
        reprompt = coach.wait_for(lambda e: e["type"] == "reprompt", timeout=60)
        again = coach.wait_for(lambda e: e["type"] == "say" and e["_at"] >= reprompt["_at"])
        assert (reprompt["count"], reprompt["waiting_for"]) == (1, "waiting")
        assert again["text"] == "Say next or ready when you want to go on."
        # it came only after the instruction had been said in full, and nothing moved on by itself
        spoken = coach.wait_for(lambda e: e["type"] == "spoken" and e["key"] == instruction["key"])
        assert spoken["completed"] and spoken["_at"] <= reprompt["_at"]
        assert _steps(coach) == ["lie-down"] and step["index"] == 0
        coach.quiet()
        mark = coach.mark()
        person.say("ready")
        coach.wait_for(lambda e: e["type"] == "step" and e["id"] == "breathe", after=mark)
    finally:
        if coach.proc.poll() is None:
            coach.proc.kill()  # it has shown what this test is about; how a session ends is tested elsewhere
        coach.close()
    assert _steps(coach)[:2] == ["lie-down", "breathe"]


def _start_serve(env, log, *extra):
    err = log.open("a")
    proc = subprocess.Popen([sys.executable, "-m", "voice_coach", "-vv", "serve", "--time-scale", "0.5", *extra], env=env,
                            stdout=subprocess.DEVNULL, stderr=err)
    err.close()
    return proc


def _stop_serve(proc) -> int | str:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        return "killed"


def test_serve_starts_a_routine_by_name_and_an_ice_timer_survives_a_restart(person, tmp_path, room):
    env = support.room_env("serve talks through the room")
    _install(SERVE_ROUTINE, "breathing", "[speech]\nvolume = 0.3\n[session]\nask_pain = false\n")
    log = tmp_path / "serve.log"
    proc = _start_serve(env, log)
    try:
        wait_for_log(log, "serving 0 schedule entries", proc, 60)
        time.sleep(1.0)  # the listener is open
        person.say("coach start breathing")  # a comma pause splits it today (see the report)
        content = wait_for_log(log, "session breathing ended", proc, 90)
        assert "request: start breathing" in content and "session breathing starting" in content
        time.sleep(1.0)
        person.say("coach ice timer 1 minute")
        wait_for_log(log, "timer ice stored", proc, 30)
        wait_for_log(log, "saying: Ice timer set for one minute.", proc, 30)
    finally:
        code = _stop_serve(proc)
    assert code == 0, log.read_text()
    first_run = log.read_text()
    assert "timer ice due" not in first_run  # 1 minute at time scale 0.5: 30 s, not yet

    recorder = roomkit.RoomRecorder().start()
    proc = _start_serve(env, log)
    try:
        content = wait_for_log(log, "timer ice due: speaking", proc, 90)
        assert content.count("serving 1 schedule entry") == 1  # the timer was still in the store
        wait_for_log(log, "saying: Time is up. Take the ice off your skin now.", proc, 30)
        seen = time.monotonic()
        time.sleep(6.0)  # the alert chime and sentence (about 4 s), then the person answers
        recorder.wait_for_samples(time.monotonic())
        audio = recorder.audio[recorder.sample_at(seen - 0.5):]
        sounds = [(b - a) / 16000 for a, b in roomkit.segments(audio, 16000)]
        assert any(s >= 1.0 for s in sounds), f"nothing was said in the room after the timer was due: {sounds}"
        person.say("stop")  # the alert repeats until a word is heard
        wait_for_log(log, "saying: Thank you.", proc, 40)
    finally:
        recorder.stop()
        code = _stop_serve(proc)
    assert code == 0, log.read_text()
    store = HistoryStore.open()
    try:
        (session,) = [s for s in store.sessions() if s.routine == "breathing"]
        assert session.end_reason == "finished"
    finally:
        store.close()
