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

import pytest

from support import wait_for_log
from test_serve_room import room_env, say_start_when_announced, schedule_soon, start_serve

from voice_coach.history import HistoryStore

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


def _vc(env, *args, input=""):
    return subprocess.run([sys.executable, "-m", "voice_coach", *args], env=env, input=input,
                          capture_output=True, text=True, timeout=60)


def test_a_run_and_a_second_serve_are_refused_while_serve_runs(tmp_path):
    env = room_env()
    proc = start_serve(env, tmp_path / "serve.log")
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
    schedule_soon(LONG, "long-room-test")
    log = tmp_path / "serve.log"
    proc = start_serve(env, log, "--answer-timeout", "30")
    try:
        say_start_when_announced(env, log, proc, "long-room-test", tmp_path)
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
