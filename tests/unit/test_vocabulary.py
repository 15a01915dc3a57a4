"""What people say: the natural forms are understood, exactly, and nothing else is.

The false-command checks: no sentence the coach itself says (every built-in routine's narration,
serve's announcements) and none of the development set's other words parses as a command, so
neither the coach's own voice nor a TV in the room can steer a session.
"""

from __future__ import annotations

import re

import pytest

from voice_coach.hearing.interpret import interpret
from voice_coach.routines import builtin_files, load_file
from voice_coach.session.commands import Command
from voice_coach.session.engine import blocks_of
from voice_coach.vocabulary import vocabulary

EN = vocabulary("en")


@pytest.mark.parametrize("text, command", [
    ("ready", Command.READY), ("Ready.", Command.READY), ("I'm ready", Command.READY),
    ("I am ready!", Command.READY), ("done", Command.READY), ("I'm done.", Command.READY),
    ("okay", Command.YES), ("OK.", Command.YES), ("yeah", Command.YES), ("yep", Command.YES),
    ("yup", Command.YES), ("sure", Command.YES), ("nope", Command.NO), ("nah", Command.NO),
    ("go ahead", Command.NEXT), ("next one", Command.NEXT),
])
def test_the_natural_forms_are_commands(text, command):
    assert EN.parse(text) == (command, None)


@pytest.mark.parametrize("text, command", [
    ("uh, next", Command.NEXT), ("Um... pause.", Command.PAUSE), ("and stop", Command.STOP), ("Oh no!", Command.NO),
    ("okay, next", Command.NEXT), ("so, uh, go on", Command.NEXT), ("Or back,", Command.BACK),
])
def test_fillers_in_front_of_a_command_leave_it_that_command(text, command):
    assert EN.parse(text) == (command, None)


@pytest.mark.parametrize("text", ["uh", "and", "next uh", "um uh so next", "well done", "Well done.",
                                  "and then next", "the back"])
def test_a_filler_alone_behind_a_command_or_too_many_of_them_is_no_command(text):
    assert EN.parse(text) is None


def test_a_rating_after_a_filler_is_still_a_rating():
    assert EN.parse("and I'm one") == (Command.NUMBER, 1)
    assert EN.parse("uh, about a six") == (Command.NUMBER, 6)


@pytest.mark.parametrize("text, value", [
    ("six", 6), ("6", 6), ("it's about a six", 6), ("It's about a six.", 6), ("pain is seven", 7),
    ("six out of ten", 6), ("about 6", 6), ("maybe a four", 4), ("I'd say three", 3), ("ten out of ten", 10),
    ("zero", 0), ("my pain is about 2", 2),
])
def test_a_rating_inside_a_short_phrase_is_a_number(text, value):
    assert EN.parse(text) == (Command.NUMBER, value)


@pytest.mark.parametrize("text", [
    "next week", "ready to go", "roll for one minute", "one or two", "six or seven", "eleven", "it's about",
    "out of ten", "set 2 of 2", "no one", "eleven out of ten", "a", "it is one of those days",
    "ready steady", "i am not ready", "done with this one",
])
def test_anything_else_is_no_command(text):
    assert EN.parse(text) is None


def test_a_rating_counts_only_where_a_number_is_asked_and_a_phrase_only_where_allowed():
    assert interpret("it's about a six", EN, None, numbers=True) == (Command.NUMBER, 6)
    assert interpret("it's about a six", EN, None, numbers=False) is None
    waiting = frozenset({Command.NEXT, Command.READY})
    assert interpret("I'm ready.", EN, waiting, numbers=False) == (Command.READY, None)
    assert interpret("I'm ready.", EN, frozenset({Command.NEXT}), numbers=False) is None
    assert interpret("coach, I'm ready", EN, waiting, numbers=False, wake_word="coach") == (Command.READY, None)


def test_rating_phrases_for_a_ranker_all_parse_to_their_number():
    phrases = EN.rating_phrases()
    assert len(phrases) == len(set(phrases)) >= 11 * 3
    for p in phrases:
        assert EN.parse(p)[0] is Command.NUMBER, p


def _narration() -> list[str]:
    """Every sentence the built-in routines make the coach say."""
    texts: list[str] = []
    for path in builtin_files():
        routine = load_file(path, builtin=True)
        texts.append(routine.title)
        for step in routine.steps:
            texts += [step.say, step.end_say, step.ice_say, step.stop_say, step.question, step.rest_say,
                      *(b.intro for b in blocks_of(step)), *(c.say for c in step.cues)]
    sentences = [s for t in texts if t for s in re.split(r"(?<=[.?!,])\s+", t)]
    return sorted({s for s in sentences if s.strip()})


NARRATION = _narration()


def test_the_narration_is_long_enough_to_mean_something():
    assert len(NARRATION) > 150


@pytest.mark.parametrize("sentence", NARRATION)
def test_no_sentence_of_the_narration_is_a_command(sentence):
    assert EN.parse(sentence) is None
    assert interpret(sentence, EN, None, numbers=True) is None


# The other words of the Speech Commands set (the `_other_` clips of the shared speech-dev set; kept
# here so the test needs nothing outside the repository): none of them may be a command
OTHER_WORDS = ("bed", "bird", "cat", "dog", "down", "happy", "house", "left", "marvin", "off", "on", "right",
               "sheila", "tree", "up", "wow")


def test_none_of_the_other_words_is_a_command():
    for word in OTHER_WORDS:
        assert EN.parse(word) is None, word
        assert interpret(word, EN, None, numbers=True) is None, word
