"""The ``room`` fixture: the virtual audio room's speaker and microphone as real PortAudio devices.

The room is started outside the tests (``scripts/virtual-room start``; .ci/run does it). If it is
not running, every room test FAILS and says how to start it; nothing is skipped.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "virtual-room"
sys.path.insert(0, str(Path(__file__).resolve().parent))  # so tests can `import roomkit`


@dataclass(frozen=True)
class Room:
    env: dict  # the variables a client process needs (already set in os.environ)
    pulse_server: str
    output: object  # voice_coach.audio.DeviceInfo: the room's speaker (PortAudio default output)
    input: object  # voice_coach.audio.DeviceInfo: the room's microphone (PortAudio default input)


def _room_env() -> dict:
    """PULSE_SERVER & co: the ones already exported win, else ``scripts/virtual-room env``."""
    if os.environ.get("PULSE_SERVER"):
        keep = ("PULSE_SERVER", "PULSE_CLIENTCONFIG", "VOICE_COACH_ROOM_DIR")
        return {k: os.environ[k] for k in keep if k in os.environ}
    out = subprocess.run([str(SCRIPT), "env"], capture_output=True, text=True, check=True).stdout
    return dict(re.findall(r"^export (\w+)=(.*)$", out, flags=re.M))


def _server_answers(env: dict) -> bool:
    try:
        r = subprocess.run(["pactl", "info"], env={**os.environ, **env}, capture_output=True, timeout=5)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


@pytest.fixture(scope="session")
def room():
    env = _room_env()
    if not _server_answers(env):
        pytest.fail(
            f"the virtual audio room is not running (PULSE_SERVER={env.get('PULSE_SERVER')}): "
            "start it with scripts/virtual-room start",
            pytrace=False,
        )
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    from voice_coach import audio

    audio.rescan()  # PortAudio scanned devices at import, maybe before PULSE_SERVER was set
    room = Room(env=env, pulse_server=env["PULSE_SERVER"], output=audio.resolve_output(""),
                input=audio.resolve_input(""))
    yield room
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
