"""The ``voice-coach serve`` process: starts, lists its schedule in journald-friendly lines, re-reads
the store when the CLI changes it (SIGHUP), stops cleanly on SIGTERM, and keeps every job.

It opens the real speaker and microphone, so it runs in the virtual room (``scripts/virtual-room start``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time


import support
from support import wait_for_log

from voice_coach.schedule.store import pid_file, serve_pid



def room_env() -> dict[str, str]:
    return support.room_env("serve opens audio devices")


def vc(*args: str, env=None) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "voice_coach", *args], capture_output=True, text=True,
                          timeout=60, env=env or os.environ.copy())
    assert proc.returncode == 0, proc.stderr
    return proc


def test_serve_lifecycle(tmp_path):
    env = room_env()
    env["JOURNAL_STREAM"] = "8:12345"  # as under systemd: lines carry syslog priorities
    vc("schedule", "add", "evening-back-relief", "--daily", "20:00", "--tz", "Europe/Berlin")
    log = tmp_path / "serve.log"
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "voice_coach", "serve"], env=env,
                                stdout=subprocess.DEVNULL, stderr=err)
    try:
        content = wait_for_log(log, "serving 1 schedule entry", proc)
        assert "<6>INFO voice_coach.serve: serving 1 schedule entry" in content
        assert "evening-back-relief daily 20:00" in content
        deadline = time.monotonic() + 10
        while serve_pid() != proc.pid and time.monotonic() < deadline:
            time.sleep(0.1)
        assert serve_pid() == proc.pid
        out = vc("schedule", "ice", "--every", "60m", "--for", "2h", "--start", "23:59", env=env).stdout
        assert "not running" not in out  # the CLI found serve and signalled it
        wait_for_log(log, "re-reading the schedule", proc, timeout=10)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=20)
    assert code == 0
    assert "stopped" in log.read_text()
    assert not pid_file().exists()
    kinds = sorted(e["kind"] for e in json.loads(vc("schedule", "list", "--json").stdout))
    assert kinds == ["ice", "session"]  # nothing lost over a stop
