"""The ranking and rejection rule of the phrase scorer.

Part one checks the rule's arithmetic over a table of token scores (what a decoder would say);
part two runs the real Whisper tiny.en on a few real people's recordings (tests/data/real, from the
development set ../shared/speech-dev: examples of the rule at work, not an accuracy claim).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from voice_coach.hearing.phrase_scorer import ScorerOptions, rank

# ----------------------------------------------------------------------------- the rule itself


class TableDecoder:
    """A decoder whose scores come from a table: phrase -> log P(phrase, then the end)."""

    def __init__(self, free_text: str, scores: dict[str, float], first: dict[str, float] | None = None):
        self.vocab = sorted(set(scores) | {free_text})
        self.ids = {w: i for i, w in enumerate(self.vocab)}
        self.text = free_text
        self.scores = scores
        lp = np.full(len(self.vocab), -30.0)
        for w, v in (first or scores).items():
            lp[self.ids[w]] = v
        self.first = lp
        self.scored: list[list[int]] = []

    def free(self):
        word = self.text.rstrip(".")
        return self.text, self.first, [self.ids[word]], self.scores.get(word)

    def forms(self, phrase):
        return [[self.ids[phrase]]] if phrase in self.ids else []

    def sequence_scores(self, sequences):
        self.scored.extend(sequences)
        return [self.scores[self.vocab[s[0]]] for s in sequences]


def test_the_free_transcript_wins_when_it_is_allowed():
    d = TableDecoder("five.", {"five": -0.2, "nine": -5.0})
    v = rank(d, ["five", "nine"])
    assert v.phrase == "five"
    assert [r.phrase for r in v.ranked] == ["five", "nine"]
    assert [d.vocab[s[0]] for s in d.scored] == ["nine"]  # the free transcript's own form costs no pass


def test_a_near_miss_becomes_the_allowed_phrase_within_the_margin():
    # a real "five" written "Bye.": the model gave "five" almost as much
    d = TableDecoder("bye.", {"bye": -0.9, "five": -1.6, "nine": -6.0})
    v = rank(d, ["five", "nine"], ScorerOptions(margin=2.0, floor=-4.0))
    assert (v.phrase, v.reason) == ("five", "")


def test_a_clear_other_word_is_rejected_by_the_margin():
    d = TableDecoder("bird.", {"bird": -0.1, "third": -3.0, "three": -3.5})
    v = rank(d, ["three"], ScorerOptions(margin=2.0, floor=-4.0))
    assert (v.phrase, v.reason) == (None, "margin")


def test_an_unlikely_best_phrase_is_rejected_by_the_floor():
    d = TableDecoder("mm.", {"mm": -9.0, "no": -8.0})
    v = rank(d, ["no"], ScorerOptions(margin=2.0, floor=-4.0))
    assert (v.phrase, v.reason) == (None, "below floor")


def test_a_phrase_the_transcript_spelled_needs_less_than_a_near_miss():
    opts = ScorerOptions(margin=0.5, floor=-1.5, transcript_floor=-2.5)
    said = rank(TableDecoder("next.", {"next": -2.0}), ["next"], opts)  # written out, but unsure
    assert (said.phrase, said.reason) == ("next", "")
    guessed = rank(TableDecoder("neck.", {"neck": -1.9, "next": -2.0}), ["next"], opts)  # never written
    assert (guessed.phrase, guessed.reason) == (None, "below floor")


def test_a_transcript_saying_an_allowed_phrase_after_a_filler_is_taken_when_likely_enough():
    # "Or back,": the phrase "back" scored alone is unlikely (below the floor), but the
    # transcript itself is an allowed utterance to the caller's parser
    opts = ScorerOptions(margin=0.5, floor=-1.5, transcript_floor=-2.5)
    parses = {"or back", "uh next"}.__contains__
    sure = rank(TableDecoder("or back,", {"or back,": -0.8, "back": -3.5}), ["back"], opts, says_allowed=parses)
    assert (sure.phrase, sure.reason) == ("or back", "")
    unsure = rank(TableDecoder("or back,", {"or back,": -2.9, "back": -3.5}), ["back"], opts, says_allowed=parses)
    assert (unsure.phrase, unsure.reason) == (None, "below floor")
    other = rank(TableDecoder("or bag,", {"or bag,": -0.5, "back": -3.5}), ["back"], opts, says_allowed=parses)
    assert other.phrase is None
    assert rank(TableDecoder("or back,", {"or back,": -0.8, "back": -3.5}), ["back"], opts).phrase is None


def test_phrases_whose_first_token_is_implausible_are_not_scored():
    d = TableDecoder("yes.", {"yes": -0.1, "no": -20.0}, first={"yes": -0.1, "no": -20.0})
    v = rank(d, ["yes", "no"], ScorerOptions(first_token_floor=-10.0))
    assert [r.phrase for r in v.ranked] == ["yes"]
    assert d.scored == []


def test_only_the_likeliest_forms_are_scored():
    scores = {w: -1.0 - i for i, w in enumerate(["zero", "one", "two", "three", "four", "five"])}
    d = TableDecoder("zero.", scores)
    rank(d, list(scores), ScorerOptions(max_candidates=3))
    assert sorted(d.vocab[s[0]] for s in d.scored) == ["one", "two"]


def test_spellings_of_one_phrase_add_up():
    class TwoForms(TableDecoder):
        def forms(self, phrase):
            return [[self.ids["five"]], [self.ids["5"]]] if phrase == "five" else super().forms(phrase)

    d = TwoForms("bye.", {"bye": -1.0, "five": -2.0, "5": -2.0})
    v = rank(d, ["five"], ScorerOptions(margin=0.5, floor=-4.0))
    assert v.ranked[0].score == pytest.approx(-2.0 + math.log(2), abs=1e-3)
    assert v.phrase == "five"


# ----------------------------------------------------------------------------- real people, real model

REAL = Path(__file__).resolve().parents[1] / "data" / "real"


@pytest.fixture(scope="module")
def whisper():
    from voice_coach.hearing import make_recognizer
    from voice_coach.settings import HearingSettings

    return make_recognizer(HearingSettings(engine="whisper"))


def _heard(rec, name: str, commands, numbers: bool):
    """What the recognizer makes of a real clip in a moment that allows ``commands`` (+ numbers)."""
    from voice_coach.hearing.pcm import read_audio
    from voice_coach.hearing.wav import recognize_pcm

    rec.set_allowed(commands, numbers)
    heard = recognize_pcm(rec, read_audio(REAL / name))
    return [(h.command, h.number) for h in heard if h.command is not None], rec.last


def _moments():
    from voice_coach.session.commands import Command
    from voice_coach.session.engine import ANSWERS

    always = frozenset({Command.PAUSE, Command.STOP, Command.REPEAT, Command.HELP, Command.SKIP})
    return {"step": (None, False), "rating": (always, True), "question": (ANSWERS | always, False)}


def test_a_real_nine_is_a_rating_only_where_a_rating_is_asked(whisper):
    from voice_coach.session.commands import Command

    moments = _moments()
    got, verdict = _heard(whisper, "nine-sc1_3.wav", *moments["rating"])
    assert got == [(Command.NUMBER, 9)], verdict
    assert verdict.best.phrase == "nine" and verdict.best.score >= whisper.options.scorer.floor
    got, verdict = _heard(whisper, "nine-sc1_3.wav", *moments["step"])  # numbers are not allowed here
    assert got == [], verdict
    assert "nine" not in [r.phrase for r in verdict.ranked]


def test_a_real_nope_answers_a_question(whisper):
    from voice_coach.session.commands import Command

    got, verdict = _heard(whisper, "no-cathy_6.wav", *_moments()["question"])
    assert got == [(Command.NO, None)], verdict


@pytest.mark.parametrize("name", ["other-sc1_bird_1.wav", "speech-cathy_3.wav"])
def test_another_word_or_a_sentence_is_no_command_in_any_moment(whisper, name):
    for moment, allowed in _moments().items():
        got, verdict = _heard(whisper, name, *allowed)
        assert got == [], (moment, verdict)
