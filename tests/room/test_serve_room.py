"""``voice-coach serve`` end to end in the virtual room: a session scheduled a few seconds ahead is
announced through the room's speaker, "start" spoken (espeak-ng) into the room is heard through the
room's microphone, a short routine runs, and the history records it.

Needs the virtual room (``scripts/virtual-room start``), espeak-ng and pulseaudio-utils (paplay).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

import support
from support import wait_for_log

from voice_coach import paths
from voice_coach.history import HistoryStore
from voice_coach.schedule.store import ScheduleBook

pytestmark = pytest.mark.room

ROUTINE = """\
[routine]
id = "serve-room-test"
title = "Quick room check"
description = "A two-step routine for the serve room test."
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


def room_env() -> dict[str, str]:
    env = support.room_env("the virtual room is not running")
    for tool in ("espeak-ng", "paplay"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is missing: apt-get install espeak-ng pulseaudio-utils")
    return env


def schedule_soon(routine_toml: str, routine_id: str) -> None:
    """Install ``routine_toml`` as the user's routine (no pain questions) and schedule it 6 s ahead."""
    routines_dir = paths.user_routines_dir()
    routines_dir.mkdir(parents=True, exist_ok=True)
    (routines_dir / f"{routine_id}.toml").write_text(routine_toml)
    paths.settings_file().parent.mkdir(parents=True, exist_ok=True)
    paths.settings_file().write_text("[session]\nask_pain = false\n")
    with ScheduleBook() as book:  # the same store serve reads
        book.add_once(routine_id, datetime.now(timezone.utc) + timedelta(seconds=6), zone=ZoneInfo("UTC"))


def start_serve(env: dict[str, str], log, *args: str) -> subprocess.Popen:
    """``voice-coach serve`` in the room, its log (stderr) going to ``log``."""
    with log.open("w") as err:
        return subprocess.Popen([sys.executable, "-m", "voice_coach", "serve", *args], env=env,
                                stdout=subprocess.DEVNULL, stderr=err)


def say_start_when_announced(env: dict[str, str], log, proc, routine_id: str, tmp_path) -> None:
    """Wait until serve has spoken its announcement of ``routine_id``, then say "start" into the room."""
    start_wav = tmp_path / "start.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", str(start_wav), "start"], check=True)
    wait_for_log(log, f"announcing {routine_id}", proc, 40)
    wait_for_log(log, "waiting up to", proc, 30)  # the announcement has been spoken
    time.sleep(0.5)
    subprocess.run(["paplay", str(start_wav)], env=env, check=True, timeout=20)


def test_serve_announces_hears_start_runs_and_records(tmp_path):
    env = room_env()
    schedule_soon(ROUTINE, "serve-room-test")
    log = tmp_path / "serve.log"
    proc = start_serve(env, log, "--answer-timeout", "30", "--time-scale", "0.5")
    try:
        say_start_when_announced(env, log, proc, "serve-room-test", tmp_path)
        content = wait_for_log(log, "session serve-room-test ended", proc, 90)
        assert "session serve-room-test starting" in content
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = "killed"
    assert code == 0, log.read_text()
    assert "stopped" in log.read_text()
    store = HistoryStore.open()
    try:
        (session,) = [s for s in store.sessions() if s.routine == "serve-room-test"]
        assert session.ended is not None
        assert store.missed() == []
    finally:
        store.close()
