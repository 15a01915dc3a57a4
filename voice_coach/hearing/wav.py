"""Recognize commands in audio files: how ``voice-coach listen --wav`` and the benchmark work.

A file is not a live stream: its speech may start at its first sample and end at its last. Live,
there is always room noise before and after a word, and the segmenter needs it (its noise floor
starts from the first frame; an utterance closes only after a hangover of silence). So a file's
edges are treated as silence: it is fed between stretches of noise at the file's own quietest
level, and a tightly trimmed clip is heard like the same clip padded with silence.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from voice_coach.hearing.factory import make_recognizer
from voice_coach.hearing.pcm import read_audio
from voice_coach.hearing.types import SAMPLE_RATE, CommandRecognizer, Heard
from voice_coach.settings import HearingSettings

CHUNK = SAMPLE_RATE // 10 * 2  # feed 100 ms at a time, as a microphone would
LEAD_S = 0.5  # silence before the file: the segmenter's floor and pre-roll
TAIL_S = 0.6  # after it: more than the hangover, so the last word closes as it would live
_FRAME = 480  # 30 ms


def edge_silence(pcm: bytes, seconds: float, seed: int) -> bytes:
    """``seconds`` of noise at the level of the file's quietest 10% of frames (at least -80 dBFS)."""
    x = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
    level = 10 ** (-80 / 20) * 32768
    if len(x) >= _FRAME:
        frames = x[: len(x) // _FRAME * _FRAME].reshape(-1, _FRAME)
        rms = np.sqrt(np.mean(frames ** 2, axis=1))
        level = max(level, float(np.percentile(rms, 10)))
    noise = np.random.default_rng(seed).standard_normal(int(seconds * SAMPLE_RATE)) * level
    return np.clip(noise, -32768, 32767).astype(np.int16).tobytes()


def recognize_pcm(rec: CommandRecognizer, pcm: bytes) -> list[Heard]:
    """Every utterance in ``pcm``; times are seconds of the file (the lead-in is not counted)."""
    rec.reset()
    out: list[Heard] = []
    padded = edge_silence(pcm, LEAD_S, 1) + pcm + edge_silence(pcm, TAIL_S, 2)
    for i in range(0, len(padded), CHUNK):
        out.extend(rec.accept(padded[i : i + CHUNK]))
    out.extend(rec.flush())
    return [replace(h, start=round(max(0.0, h.start - LEAD_S), 3), end=round(max(0.0, h.end - LEAD_S), 3)) for h in out]


def recognize_wav(path: str | Path, hearing: HearingSettings, words: list[str] | None = None,
                  recognizer: CommandRecognizer | None = None) -> list[Heard]:
    """Every utterance heard in the file (``command`` None = speech that was not a command)."""
    pcm = read_audio(path)
    rec = recognizer or make_recognizer(hearing, words)
    return recognize_pcm(rec, pcm)
