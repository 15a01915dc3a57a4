"""The VAD segmenter and the phrase interpreter, on real synthesized speech and real noise."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from voice_coach.hearing.interpret import capitalised_prompt, interpret
from voice_coach.hearing.segmenter import End, Segmenter, SegmenterConfig
from voice_coach.session.commands import Command
from voice_coach.vocabulary import vocabulary

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("make_corpus", ROOT / "scripts" / "make_corpus.py")
corpus = importlib.util.module_from_spec(spec)
sys.modules["make_corpus"] = corpus
spec.loader.exec_module(corpus)


def _pcm(x: np.ndarray) -> bytes:
    return (np.clip(x, -1, 1) * 32767).astype(np.int16).tobytes()


def _ends(seg: Segmenter, pcm: bytes) -> list[End]:
    out = []
    for i in range(0, len(pcm), 3200):
        out += [e for e in seg.feed(pcm[i : i + 3200]) if isinstance(e, End)]
    return out + [e for e in seg.flush() if isinstance(e, End)]


@pytest.fixture(scope="module")
def word(tmp_path_factory):
    return corpus.synth("pause", "en-us", 170, tmp_path_factory.mktemp("s"))


def test_one_word_in_a_noise_floor_is_one_utterance_at_the_right_time(word):
    rng = np.random.default_rng(3)
    audio, start, end = corpus.place(word, "clean", None, rng)
    ends = _ends(Segmenter(), _pcm(audio))
    assert [e.rejected for e in ends] == [""]
    assert abs(ends[0].start - start) < 0.15 and abs(ends[0].end - end) < 0.2


@pytest.mark.parametrize("kind", ["pink", "hum"])
def test_word_in_steady_noise_at_10_db_closes_promptly(word, kind):
    rng = np.random.default_rng(4)
    audio, start, end = corpus.place(word, kind, 10, rng, lead=3.0, tail=3.0)
    ends = _ends(Segmenter(), _pcm(audio))
    good = [e for e in ends if not e.rejected]
    assert len(good) == 1, ends
    assert good[0].end - end < 0.3  # the endpoint closed although the noise goes on


def test_a_motor_switched_on_is_absorbed_and_a_later_word_is_still_heard(word):
    """Loud noise starting suddenly opens an 'utterance' that must end: the floor adapts."""
    rng = np.random.default_rng(5)
    quiet = rng.standard_normal(16000) * 1e-3
    motor = corpus.noise("hum", 16000 * 8, rng) * 0.05
    speech, _, _ = corpus.place(word, "clean", None, rng)
    after = speech * 1.0 + corpus.noise("hum", len(speech), rng) * 0.05 * 0.3
    ends = _ends(Segmenter(SegmenterConfig(max_utterance_s=3.0)), _pcm(np.concatenate([quiet, motor, after])))
    assert all(e.rejected for e in ends if e.end < 9.0)  # the motor alone never counts as speech
    assert any(not e.rejected and e.start > 9.0 for e in ends), ends


def test_long_speech_is_rejected_as_too_long(tmp_path):
    long = corpus.synth("Lie on your back and place the roller under your upper back, then breathe slowly.",
                        "en-gb", 150, tmp_path)
    audio, _, _ = corpus.place(long, "clean", None, np.random.default_rng(6))
    ends = _ends(Segmenter(SegmenterConfig(max_utterance_s=2.0)), _pcm(audio))
    assert ends and any(e.rejected == "too long" for e in ends)
    assert not [e for e in ends if not e.rejected and e.end - e.start > 2.0]


def test_interpret_takes_exact_allowed_phrases_only():
    en = vocabulary("en")
    assert interpret("Next.", en, None, True) == (Command.NEXT, None)
    assert interpret("Go on!", en, None, True) == (Command.NEXT, None)
    assert interpret("next week", en, None, True) is None
    assert interpret("Five.", en, None, True) == (Command.NUMBER, 5)
    assert interpret("Five.", en, None, False) is None  # no number unless one was asked for
    assert interpret("Next", en, frozenset({Command.YES, Command.NO}), False) is None
    assert interpret("Yes.", en, frozenset({Command.YES, Command.NO}), False) == (Command.YES, None)
    assert interpret("Coach, pause.", en, None, True, "coach") == (Command.PAUSE, None)
    assert interpret("Pause.", en, None, True, "coach") is None


def test_whisper_prompt_has_the_measured_capitalised_comma_form():
    p = capitalised_prompt(["next", "go on", "pause", "zero", "one"])
    assert p == "Next, Go on, Pause, Zero, One."


@pytest.mark.parametrize("gap, second", [(0.25, "run-on"), (1.0, "")])
def test_speech_right_after_other_speech_is_part_of_a_sentence(word, gap, second):
    rng = np.random.default_rng(8)
    floor = lambda s: rng.standard_normal(int(16000 * s)) * 1e-3  # noqa: E731
    scaled = word / np.sqrt(np.mean(word ** 2)) * 0.05
    audio = np.concatenate([floor(0.7), scaled, floor(gap), scaled, floor(0.8)])
    ends = _ends(Segmenter(), _pcm(audio))
    assert [e.rejected for e in ends] == ["", second]


def _feed_parts(seg: Segmenter, parts: list[tuple[np.ndarray, bool]]) -> list[End]:
    out = []
    for x, hidden in parts:
        pcm = _pcm(x)
        for i in range(0, len(pcm), 960):  # 30 ms blocks, as the live listener feeds them
            out += [e for e in seg.feed(pcm[i : i + 960], hidden) if isinstance(e, End)]
    return out + [e for e in seg.flush() if isinstance(e, End)]


def test_a_command_right_after_the_coachs_hidden_voice_is_no_run_on(word):
    """The echo monitor replaces the coach's voice with comfort noise; a barge-in command may
    follow it closely and must not be taken for the tail of a sentence."""
    rng = np.random.default_rng(9)
    floor = lambda s, db=-60: rng.standard_normal(int(16000 * s)) * 10 ** (db / 20)  # noqa: E731
    scaled = word / np.sqrt(np.mean(word ** 2)) * 0.05
    coach_leak = scaled * 0.5  # the first syllable of the coach's echo got through before hiding began
    parts = [(floor(0.7), False), (coach_leak, False), (floor(0.3, -65), True), (scaled, False), (floor(0.8), False)]
    ends = _feed_parts(Segmenter(), parts)
    assert [e.rejected for e in ends] == ["", ""], ends  # the leak itself, then the command
    # the same audio without the hidden mark: the second word is a run-on, as before
    ends = _feed_parts(Segmenter(), [(x, False) for x, _ in parts])
    assert [e.rejected for e in ends] == ["", "run-on"], ends


def test_hidden_comfort_noise_does_not_drag_the_floor_under_a_fan(word):
    """Quiet comfort noise between the coach's sentences must not make the fan sound like speech."""
    rng = np.random.default_rng(10)
    fan = lambda s: corpus.noise("hum", int(16000 * s), rng) * 10 ** (-30 / 20)  # noqa: E731
    hidden = rng.standard_normal(16000 * 2) * 10 ** (-65 / 20)
    seg = Segmenter()
    ends = _feed_parts(seg, [(fan(3.0), False), (hidden, True), (fan(3.0), False)])
    assert [e for e in ends if e.end > 2.5] == [], ends
    assert seg.floor_db > -40
    # fed as ordinary audio, the quiet stretch pulls the floor down and the motor opens "speech"
    rng = np.random.default_rng(10)
    hidden = rng.standard_normal(16000 * 2) * 10 ** (-65 / 20)
    ends = _feed_parts(Segmenter(), [(fan(3.0), False), (hidden, False), (fan(3.0), False)])
    assert [e for e in ends if e.end > 2.5], "the test no longer shows what hiding protects against"


def test_a_lone_blip_before_a_command_does_not_make_it_a_run_on(word):
    rng = np.random.default_rng(11)
    floor = lambda s: rng.standard_normal(int(16000 * s)) * 1e-3  # noqa: E731
    scaled = word / np.sqrt(np.mean(word ** 2)) * 0.05
    blip = scaled[2000:2000 + 16000 * 6 // 100]  # 60 ms of a vowel: a knock or a cough onset
    audio = np.concatenate([floor(0.7), blip, floor(0.3), scaled, floor(0.8)])
    ends = _ends(Segmenter(), _pcm(audio))
    assert [e.rejected for e in ends if e.rejected != "too short"] == [""], ends
