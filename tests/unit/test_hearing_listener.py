"""The Listener's recognizer thread with the echo monitor's block filter, fed real speech blocks
directly (no audio device): audio the filter replaced is hidden from the run-on rule."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from support import load_script

from voice_coach.hearing import Listener, make_recognizer
from voice_coach.session.commands import Command
from voice_coach.settings import HearingSettings

corpus = load_script("make_corpus")


@pytest.fixture(scope="module")
def recognizer():
    return make_recognizer(HearingSettings(engine="whisper"))


def run_blocks(listener: Listener, audio: np.ndarray) -> list:
    heard = []
    listener.on_heard = heard.append
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
    t = threading.Thread(target=listener._recognize_loop, daemon=True)
    t.start()
    for i in range(0, len(pcm), 480):  # 30 ms blocks, stamped as the capture callback does
        listener._q.put((i / 16000, pcm[i : i + 480].copy(), 16000))
    deadline = time.monotonic() + 20
    while not listener._q.empty() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # the last block is being decoded
    listener._stop.set()
    t.join(timeout=10)
    return [h.command for h in heard if h.command is not None]


def test_a_command_right_after_hidden_echo_is_heard(recognizer, tmp_path):
    """The end of the coach's sentence got through (the echo estimate was low), then its echo tail
    was hidden, then the person said "pause" 0.3 s after the leak: a barge-in, not a run-on."""
    rng = np.random.default_rng(1)
    coach = corpus.synth("Roll gently from the middle", "en-gb", 170, tmp_path)
    word = corpus.synth("pause", "en-us", 170, tmp_path)
    floor = lambda s: rng.standard_normal(int(16000 * s)) * 1e-3  # noqa: E731
    lvl = lambda x: x / np.sqrt(np.mean(x ** 2)) * 0.05  # noqa: E731
    audio = np.concatenate([floor(0.6), lvl(coach), floor(0.3), lvl(word), floor(1.0)])
    coach_end = 0.6 + len(coach) / 16000
    hidden = [(0.6, coach_end - 0.25), (coach_end, coach_end + 0.27)]  # the last 0.25 s leaked

    def echo_filter(t, block, level):
        if any(a <= t < b for a, b in hidden):
            return (rng.standard_normal(block.shape) * 32768 * 10 ** (-65 / 20)).astype(block.dtype)
        return block  # left alone: the very same array

    listener = Listener(HearingSettings(engine="whisper"), lambda h: None, recognizer=recognizer)
    listener.block_filter = echo_filter
    assert run_blocks(listener, audio) == [Command.PAUSE]

    # the same filtered audio fed as ordinary audio: "pause" is taken for the end of the sentence
    from voice_coach.hearing.wav import recognize_pcm

    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
    for i in range(0, len(pcm), 480):
        pcm[i : i + 480] = echo_filter(i / 16000, pcm[i : i + 480], 0.0)
    assert [h.command for h in recognize_pcm(recognizer, pcm.tobytes()) if h.command] == []
