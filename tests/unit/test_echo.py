"""EchoMonitor and CommandGate, the pure logic that keeps the coach from obeying its own voice.

Real-audio behaviour is tested in the room (tests/room/test_self_echo_room.py, test_session_room.py);
here the speaker's level history and the microphone blocks are given exactly.
"""

from __future__ import annotations

import collections

import numpy as np
import pytest

from voice_coach.echo import SILENT_DB, CommandGate, EchoMonitor, EchoSettings
from voice_coach.session.commands import Command

BLOCK = 0.03


def block(level_db: float, n: int = 480) -> np.ndarray:
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, n)
    x *= 32768 * 10 ** (level_db / 20) / np.sqrt(np.mean(x**2))
    return x.astype(np.int16)


class Room:
    """A speaker playing at ``speaker_db`` from ``start`` to ``end``; the echo arrives 60 ms later."""

    def __init__(self, speaker_db: float, start: float, end: float, coupling_db: float = 0.0):
        self.played = collections.deque()
        t = start
        while t < end:
            self.played.append((t, speaker_db))
            t += 0.01
        self.speaker_db, self.start, self.end, self.coupling = speaker_db, start, end, coupling_db

    def echo_at(self, t: float) -> float:
        return self.speaker_db + self.coupling if self.start + 0.06 <= t <= self.end + 0.06 else -90.0


def run(monitor: EchoMonitor, room: Room, until: float, voice: tuple[float, float, float] | None = None):
    """Feed blocks up to ``until``; ``voice`` = (start, end, level) of a person talking."""
    out = []
    t = 0.0
    while t < until:
        level = room.echo_at(t)
        if voice and voice[0] <= t <= voice[1]:
            level = 10 * np.log10(10 ** (level / 10) + 10 ** (voice[2] / 10))
        samples = block(level)
        result = monitor.block(t, samples, level)
        out.append((t, result is samples))
        t += BLOCK
    return out


def test_the_coachs_echo_is_hidden_and_silence_passes():
    room = Room(-25.0, 1.0, 4.0)
    talkovers = []
    monitor = EchoMonitor(room.played, on_talkover=lambda: talkovers.append(1))
    out = run(monitor, room, 5.0)
    passed_while_speaking = [t for t, kept in out if 1.1 <= t <= 4.0 and kept]
    assert passed_while_speaking == []
    assert all(kept for t, kept in out if t < 0.9 or t > 4.4)
    assert talkovers == []


def test_a_voice_louder_than_the_echo_is_a_talk_over_and_passes():
    room = Room(-25.0, 1.0, 4.0)
    talkovers = []
    monitor = EchoMonitor(room.played, on_talkover=lambda: talkovers.append(1))
    out = run(monitor, room, 5.0, voice=(2.0, 2.5, -12.0))
    assert talkovers == [1]
    assert all(kept for t, kept in out if 2.01 <= t <= 2.49)


def test_a_voice_no_louder_than_the_echo_is_not_a_talk_over():
    room = Room(-25.0, 1.0, 4.0)
    talkovers = []
    monitor = EchoMonitor(room.played, on_talkover=lambda: talkovers.append(1))
    run(monitor, room, 5.0, voice=(2.0, 2.5, -27.0))
    assert talkovers == []


def test_the_coupling_is_learned_so_a_quiet_echo_lowers_the_bar():
    room = Room(-20.0, 0.5, 6.0, coupling_db=-20.0)  # a speaker far from the microphone
    monitor = EchoMonitor(room.played, settings=EchoSettings())
    run(monitor, room, 5.0)
    assert monitor.coupling_db == pytest.approx(-20.0, abs=1.0)
    # now a voice at -30 dBFS, 10 dB above the (learned) echo at -40, is a talk-over
    talkovers = []
    monitor.on_talkover = lambda: talkovers.append(1)
    t = 5.0
    while t < 5.5:
        level = 10 * np.log10(10 ** (-40 / 10) + 10 ** (-30 / 10))
        monitor.block(t, block(level), level)
        t += BLOCK
    assert talkovers == [1]


def test_overlap_counts_the_time_the_coach_was_audible():
    room = Room(-25.0, 1.0, 2.0)
    monitor = EchoMonitor(room.played)
    run(monitor, room, 3.0)
    assert monitor.overlap(1.2, 1.8) == pytest.approx(0.6, abs=0.06)
    assert monitor.overlap(2.5, 2.9) == 0.0
    assert monitor.echo_limit(2.8) == SILENT_DB


@pytest.mark.parametrize("command, overlap, numbers, expected", [
    (Command.NEXT, 0.0, False, "act"),
    (Command.NEXT, 0.4, False, "drop"),  # said over the coach and not loud enough to be a talk-over
    (Command.PAUSE, 0.4, False, "drop"),
    (Command.NEXT, 0.05, False, "act"),  # the coach's last syllable still rang at the start
    (None, 0.0, False, "sorry"),
    (None, 0.5, False, "drop"),
    (Command.NUMBER, 0.0, False, "drop"),
    (Command.NUMBER, 0.0, True, "act"),
])
def test_command_gate(command, overlap, numbers, expected):
    verdict = CommandGate().decide(command, duration=0.5, echo_overlap=overlap, numbers_expected=numbers)
    assert verdict.action == expected
