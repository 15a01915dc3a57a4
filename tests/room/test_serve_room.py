"""``voice-coach serve`` end to end in the virtual room: a session scheduled a few seconds ahead is
announced through the room's speaker, "start" spoken (espeak-ng) into the room is heard through the
room's microphone, a short routine runs, and the history records it.

Needs the virtual room (``scripts/virtual-room start``), espeak-ng and pulseaudio-utils (paplay).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from voice_coach import paths
from voice_coach.history import HistoryStore
from voice_coach.schedule.store import ScheduleBook

pytestmark = pytest.mark.room

ROOT = Path(__file__).resolve().parents[2]
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
    script = ROOT / "scripts" / "virtual-room"
    status = subprocess.run([str(script), "status"], capture_output=True, text=True)
    if status.returncode != 0:
        pytest.fail("the virtual room is not running: start it with 'scripts/virtual-room start'")
    for tool in ("espeak-ng", "paplay"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is missing: apt-get install espeak-ng pulseaudio-utils")
    env = os.environ.copy()
    for line in subprocess.run([str(script), "env"], capture_output=True, text=True, check=True).stdout.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export "):].partition("=")
            env[key] = value.strip("'\"")
    return env


def wait_for(log: Path, text: str, timeout: float, proc: subprocess.Popen) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = log.read_text(errors="replace") if log.exists() else ""
        if text in content:
            return content
        if proc.poll() is not None:
            pytest.fail(f"serve exited ({proc.returncode}) before '{text}':\n{content}")
        time.sleep(0.2)
    pytest.fail(f"no '{text}' within {timeout} s; serve log:\n{log.read_text(errors='replace')}")


def test_serve_announces_hears_start_runs_and_records(tmp_path):
    env = room_env()
    routines_dir = paths.user_routines_dir()
    routines_dir.mkdir(parents=True, exist_ok=True)
    (routines_dir / "serve-room-test.toml").write_text(ROUTINE)
    paths.settings_file().parent.mkdir(parents=True, exist_ok=True)
    paths.settings_file().write_text("[session]\nask_pain = false\n")

    with ScheduleBook() as book:  # the same store serve reads
        book.add_once("serve-room-test", datetime.now(timezone.utc) + timedelta(seconds=6), zone=ZoneInfo("UTC"))

    start_wav = tmp_path / "start.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", str(start_wav), "start"], check=True)
    log = tmp_path / "serve.log"
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "voice_coach", "serve", "--answer-timeout", "30",
                                 "--time-scale", "0.5"], env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        wait_for(log, "announcing serve-room-test", 40, proc)
        wait_for(log, "waiting up to", 30, proc)  # the announcement has been spoken
        time.sleep(0.5)
        subprocess.run(["paplay", str(start_wav)], env=env, check=True, timeout=20)
        content = wait_for(log, "session serve-room-test ended", 90, proc)
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
