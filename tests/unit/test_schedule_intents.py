"""Requests to the always-on speaker: parsed only with the wake word, exactly, and never from the
coach's own narration or other speech."""

from __future__ import annotations

import pytest
from test_vocabulary import NARRATION, OTHER_WORDS

from voice_coach.schedule import talk
from voice_coach.schedule.intents import Intent, match_routine, parse_duration, parse_intent, request_phrases

ROUTINES = [("evening-back-relief", "Evening back relief"),
            ("foam-roller", "Foam roller for the upper back, with optional blocks"),
            ("ice-rollerball", "Cold therapy with a freezable rollerball"),
            ("massager-back", "Hand-held massager for the upper and lower back"),
            ("partner-massage", "Partner back massage")]


@pytest.mark.parametrize("text, intent", [
    ("Coach, start foam roller.", Intent("start", "foam roller")),
    ("coach start the evening back relief routine", Intent("start", "evening back relief")),
    ("Hey coach, begin partner massage please", Intent("start", "partner massage")),
    ("Coach, what's next?", Intent("next_session")),
    ("coach when is my next session", Intent("next_session")),
    ("Coach, remind me to ice in 30 minutes.", Intent("reminder", "ice", 1800.0)),
    ("coach remind me in an hour to stretch", Intent("reminder", "stretch", 3600.0)),
    ("Coach, ice timer 15 minutes.", Intent("timer", "ice", 900.0)),
    ("coach, ice timer one minute", Intent("timer", "ice", 60.0)),
    ("coach set an ice timer for fifteen minutes", Intent("timer", "ice", 900.0)),
    ("coach timer for 90 seconds", Intent("timer", "", 90.0)),
    ("coach, a 10 minute rolling timer", Intent("timer", "rolling", 600.0)),
    ("Coach, stop the timer.", Intent("stop_timer")),
    ("coach cancel the ice timer", Intent("stop_timer", "ice")),
    ("Coach, how long left?", Intent("time_left")),
    ("coach how much time is left on the timer", Intent("time_left")),
    ("Coach, louder.", Intent("louder")),
    ("coach speak up please", Intent("louder")),
    ("Coach, quieter.", Intent("quieter")),
    ("Coach, start breathing coach start breathing.", Intent("start", "breathing")),  # Whisper repeating itself
    ("coach, what can I say?", Intent("help")),
])
def test_requests_with_the_wake_word_are_understood(text, intent):
    assert parse_intent(text) == intent


@pytest.mark.parametrize("text", [
    "start foam roller", "ice timer 15 minutes", "louder", "what's next",  # no wake word: a TV, a chat
    "coach", "coach, the weather is nice", "coach, ice timer", "coach ice timer for a while",
    "coach, remind me to ice", "the coach said start foam roller", "coaching ice timer 15 minutes",
])
def test_anything_else_is_no_request(text):
    assert parse_intent(text) is None


def test_another_wake_word_from_the_settings():
    assert parse_intent("computer, louder", wake_word="computer") == Intent("louder")
    assert parse_intent("coach, louder", wake_word="computer") is None


@pytest.mark.parametrize("text, seconds", [
    ("30 minutes", 1800), ("thirty minutes", 1800), ("twenty five minutes", 1500), ("twenty-five minutes", 1500),
    ("1 minute", 60), ("a minute", 60), ("an hour", 3600), ("half an hour", 1800), ("an hour and a half", 5400),
    ("1 hour 30 minutes", 5400), ("one hour and ten minutes", 4200), ("90 seconds", 90), ("15 min", 900),
])
def test_spoken_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "minutes", "soon", "a while", "ten", "thirty two three minutes", "0 minutes"])
def test_no_duration(text):
    assert parse_duration(text) is None


@pytest.mark.parametrize("said, rid", [
    ("foam roller", "foam-roller"), ("the foam roller", "foam-roller"), ("evening back relief", "evening-back-relief"),
    ("massager back", "massager-back"), ("partner massage", "partner-massage"), ("ice rollerball", "ice-rollerball"),
    ("cold therapy", "ice-rollerball"), ("evening", "evening-back-relief"),
])
def test_a_routine_is_found_by_its_name_said_loosely(said, rid):
    assert match_routine(said, ROUTINES) == rid


@pytest.mark.parametrize("said", ["back", "yoga", "", "the routine", "relief massage"])  # several fit, or none
def test_no_routine_when_none_or_several_fit(said):
    assert match_routine(said, ROUTINES) is None


def test_the_narration_and_serves_own_words_are_never_a_request():
    """Even said with the wake word in front (the coach's voice after someone says "coach")."""
    own = [talk.HELP, "It's time for your evening back relief. Say start, later, or skip.",
           "Time is up. Take the ice off your skin now.", "Okay. I will remind you to ice in thirty minutes."]
    for sentence in NARRATION + own:
        assert parse_intent(sentence) is None, sentence
    for word in OTHER_WORDS:
        assert parse_intent(word) is None and parse_intent(f"coach {word}") is None, word


def test_the_phrases_a_recognizer_is_given_between_sessions_are_all_requests():
    phrases = request_phrases([rid for rid, _ in ROUTINES], "coach")
    kinds = set()
    for p in phrases:
        intent = parse_intent(p)
        assert intent is not None, p
        kinds.add(intent.kind)
        if intent.kind == "start":
            assert match_routine(intent.name, ROUTINES) is not None, p
    assert kinds == {"start", "timer", "reminder", "next_session", "time_left", "stop_timer", "louder", "quieter",
                     "help"}
