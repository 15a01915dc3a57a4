"""Issue 15 with ``serve`` in the virtual room: one coach per data folder (a ``run`` or a second
``serve`` is refused and names the serve that runs), and one SIGTERM ends serve together with the
session it is running.

Needs the virtual room (``scripts/virtual-room start``), espeak-ng and pulseaudio-utils (paplay).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from support import wait_for_log
from test_serve_room import room_env

from voice_coach import paths
from voice_coach.history import HistoryStore
from voice_coach.schedule.store import ScheduleBook

pytestmark = pytest.mark.room

LONG = """\
[routine]
id = "long-room-test"
title = "Long room check"
description = "One long step, so the session still runs when serve is told to stop."
minutes = 5
sources = ["test routine"]

[[steps]]
id = "rest"
title = "Rest"
say = "Rest now."
duration = "5m"

[[steps]]
id = "closing"
kind = "closing"
title = "Done"
say = "Done."
"""


def _serve(env, log, *args):
    with log.open("w") as err:
        return subprocess.Popen([sys.executable, "-m", "voice_coach", "serve", *args], env=env,
                                stdout=subprocess.DEVNULL, stderr=err)


def _vc(env, *args, input=""):
    return subprocess.run([sys.executable, "-m", "voice_coach", *args], env=env, input=input,
                          capture_output=True, text=True, timeout=60)


def test_a_run_and_a_second_serve_are_refused_while_serve_runs(tmp_path):
    env = room_env()
    proc = _serve(env, tmp_path / "serve.log")
    try:
        wait_for_log(tmp_path / "serve.log", "serving", proc, 60)
        run = _vc(env, "run", "--text", "--no-pain", input="no\n")
        second = _vc(env, "serve")
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=20)
    assert code == 0
    for other in (run, second):
        assert other.returncode == 8, other.stderr
        assert f"voice-coach serve (pid {proc.pid}" in other.stderr and "Traceback" not in other.stderr
    with HistoryStore.open() as store:
        assert store.sessions() == []  # the refused run wrote nothing


def test_one_sigterm_ends_serve_and_the_session_it_runs(tmp_path):
    env = room_env()
    paths.user_routines_dir().mkdir(parents=True, exist_ok=True)
    (paths.user_routines_dir() / "long-room-test.toml").write_text(LONG)
    paths.settings_file().parent.mkdir(parents=True, exist_ok=True)
    paths.settings_file().write_text("[session]\nask_pain = false\n")
    with ScheduleBook() as book:
        book.add_once("long-room-test", datetime.now(timezone.utc) + timedelta(seconds=6), zone=ZoneInfo("UTC"))
    start_wav = tmp_path / "start.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", str(start_wav), "start"], check=True)
    log = tmp_path / "serve.log"
    proc = _serve(env, log, "--answer-timeout", "30")
    try:
        wait_for_log(log, "announcing long-room-test", proc, 40)
        wait_for_log(log, "waiting up to", proc, 30)
        time.sleep(0.5)
        subprocess.run(["paplay", str(start_wav)], env=env, check=True, timeout=20)
        wait_for_log(log, "session long-room-test starting", proc, 60)
        time.sleep(2)
        proc.send_signal(signal.SIGTERM)  # once
        code = proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"serve kept running after one SIGTERM:\n{log.read_text()}")
    finally:
        if proc.poll() is None:
            proc.kill()
    content = log.read_text()
    assert code == 0, content
    assert "session long-room-test ended: stopped" in content and "Traceback" not in content
    with HistoryStore.open() as store:
        (row,) = store.sessions()
        assert row.end_reason == "stopped" and row.ended is not None
