"""ALSA's own messages (issue 16: "underrun occurred" in the middle of a session) go to the log.

Real libasound in a fresh process: the ``null`` PCM needs no sound card, and ``snd_pcm_recover``
with -EPIPE prints exactly the message a real underrun prints.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from voice_coach.native_logs import format_alsa

ROOT = Path(__file__).resolve().parents[2]

UNDERRUN = textwrap.dedent("""
    import ctypes, ctypes.util, logging, sys
    logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, format="LOG %(message)s")
    if sys.argv[1] == "install":
        from voice_coach import native_logs
        assert native_logs.install()
    asound = ctypes.CDLL(ctypes.util.find_library("asound"))
    pcm = ctypes.c_void_p()
    assert asound.snd_pcm_open(ctypes.byref(pcm), b"null", 0, 0) == 0
    asound.snd_pcm_recover(pcm, -32, 0)  # -EPIPE: "underrun occurred"
    asound.snd_pcm_open(ctypes.byref(pcm), b"no_such_pcm", 0, 0)
    import sounddevice  # PortAudio's init must not take the handler back
    asound.snd_pcm_open(ctypes.byref(pcm), b"no_such_pcm_after_portaudio", 0, 0)
""")


def run(mode: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", UNDERRUN, mode], capture_output=True, text=True, timeout=60,
                          cwd=ROOT)


def test_alsa_messages_reach_the_log_not_stderr():
    plain = run("plain")
    assert "underrun occurred" in plain.stderr  # what the user saw before
    quiet = run("install")
    assert quiet.returncode == 0, quiet.stderr
    assert "ALSA lib" not in quiet.stderr and "underrun" not in quiet.stderr, quiet.stderr
    log = quiet.stdout
    assert "(snd_pcm_recover) underrun occurred" in log, log
    assert "Unknown PCM no_such_pcm" in log and "Unknown PCM no_such_pcm_after_portaudio" in log, log


def test_the_first_string_argument_is_filled_in():
    assert format_alsa("%s occurred", b"underrun") == "underrun occurred"
    assert format_alsa("function %s returned error: %s", b"snd_func_card_inum") == \
        "function snd_func_card_inum returned error: %s"
    assert format_alsa("100%% of %d", b"x") == "100%% of %d"  # a number is never read as text
    assert format_alsa("Unknown PCM %s", None) == "Unknown PCM %s"
