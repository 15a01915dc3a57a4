"""Recognize commands in audio files: how ``voice-coach listen --wav`` and the benchmark work."""

from __future__ import annotations

from pathlib import Path

from voice_coach.hearing.factory import make_recognizer
from voice_coach.hearing.pcm import read_audio
from voice_coach.hearing.types import SAMPLE_RATE, CommandRecognizer, Heard
from voice_coach.settings import HearingSettings

CHUNK = SAMPLE_RATE // 10 * 2  # feed 100 ms at a time, as a microphone would


def recognize_pcm(rec: CommandRecognizer, pcm: bytes) -> list[Heard]:
    rec.reset()
    out: list[Heard] = []
    for i in range(0, len(pcm), CHUNK):
        out.extend(rec.accept(pcm[i : i + CHUNK]))
    out.extend(rec.flush())
    return out


def recognize_wav(path: str | Path, hearing: HearingSettings, words: list[str] | None = None,
                  recognizer: CommandRecognizer | None = None) -> list[Heard]:
    """Every utterance heard in the file (``command`` None = speech that was not a command)."""
    pcm = read_audio(path)
    rec = recognizer or make_recognizer(hearing, words)
    return recognize_pcm(rec, pcm)
