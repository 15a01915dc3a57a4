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
from pathlib import Path

import pytest

from voice_coach.schedule.store import pid_file, serve_pid

ROOT = Path(__file__).resolve().parents[2]


def room_env() -> dict[str, str]:
    script = ROOT / "scripts" / "virtual-room"
    if subprocess.run([str(script), "status"], capture_output=True).returncode != 0:
        pytest.fail("serve opens audio devices: start the virtual room with 'scripts/virtual-room start'")
    env = os.environ.copy()
    for line in subprocess.run([str(script), "env"], capture_output=True, text=True, check=True).stdout.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export "):].partition("=")
            env[key] = value.strip("'\"")
    return env


def vc(*args: str, env=None) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "voice_coach", *args], capture_output=True, text=True,
                          timeout=60, env=env or os.environ.copy())
    assert proc.returncode == 0, proc.stderr
    return proc


def wait_for(log: Path, text: str, proc: subprocess.Popen, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = log.read_text(errors="replace")
        if text in content:
            return content
        if proc.poll() is not None:
            pytest.fail(f"serve exited ({proc.returncode}) before '{text}':\n{content}")
        time.sleep(0.1)
    pytest.fail(f"no '{text}' within {timeout} s:\n{log.read_text(errors='replace')}")


def test_serve_lifecycle(tmp_path):
    env = room_env()
    env["JOURNAL_STREAM"] = "8:12345"  # as under systemd: lines carry syslog priorities
    vc("schedule", "add", "evening-back-relief", "--daily", "20:00", "--tz", "Europe/Berlin")
    log = tmp_path / "serve.log"
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "voice_coach", "serve"], env=env,
                                stdout=subprocess.DEVNULL, stderr=err)
    try:
        content = wait_for(log, "serving 1 schedule entry", proc)
        assert "<6>INFO voice_coach.serve: serving 1 schedule entry" in content
        assert "evening-back-relief daily 20:00" in content
        deadline = time.monotonic() + 10
        while serve_pid() != proc.pid and time.monotonic() < deadline:
            time.sleep(0.1)
        assert serve_pid() == proc.pid
        out = vc("schedule", "ice", "--every", "60m", "--for", "2h", "--start", "23:59", env=env).stdout
        assert "not running" not in out  # the CLI found serve and signalled it
        wait_for(log, "re-reading the schedule", proc, timeout=10)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=20)
    assert code == 0
    assert "stopped" in log.read_text()
    assert not pid_file().exists()
    kinds = sorted(e["kind"] for e in json.loads(vc("schedule", "list", "--json").stdout))
    assert kinds == ["ice", "session"]  # nothing lost over a stop
