"""Settings: defaults that work, validation with messages that name the key, atomic saves."""

from __future__ import annotations

import pytest

from voice_coach import paths, settings
from voice_coach.errors import UserError


def test_defaults_when_there_is_no_file():
    s = settings.load()
    assert s.speech.rate == 165 and s.hearing.engine == "auto" and s.session.default_routine == "evening-back-relief"
    assert not paths.settings_file().exists()


def test_save_and_load_round_trip_in_the_xdg_config_folder(isolated_user_dirs):
    s = settings.with_value(settings.Settings(), "speech.rate", "180")
    s = settings.with_value(s, "hearing.use_wake_word", "yes")
    path = settings.save(s)
    assert path.is_relative_to(isolated_user_dirs)
    loaded = settings.load()
    assert loaded.speech.rate == 180 and loaded.hearing.use_wake_word is True
    assert loaded == s


@pytest.mark.parametrize("key, value, message", [
    ("speech.rate", "fast", "whole number"),
    ("speech.rate", "20", "between 60 and 400"),
    ("speech.volume", "2", "between 0.0 and 1.0"),
    ("hearing.engine", "pocketsphinx", "auto, vosk, whisper"),
    ("hearing.use_wake_word", "maybe", "true or false"),
    ("speech.rte", "150", "unknown key speech.rte"),
    ("sound.rate", "150", "unknown section [sound]"),
    ("rate", "150", "section.key"),
])
def test_bad_values_are_refused_with_a_message(key, value, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace(".", r"\.")):
        settings.with_value(settings.Settings(), key, value)


def test_a_broken_settings_file_names_the_file_and_loses_nothing():
    path = paths.settings_file()
    path.parent.mkdir(parents=True)
    path.write_text("[speech]\nrate = 'fast'\n")
    with pytest.raises(UserError) as err:
        settings.load()
    assert str(path) in str(err.value) and "speech.rate" in str(err.value)
    assert path.read_text() == "[speech]\nrate = 'fast'\n"
    path.write_text("[speech\nrate = 1\n")
    with pytest.raises(UserError, match=str(path)):
        settings.load()


def test_the_re_prompt_timings_are_settings_with_checked_bounds():
    from voice_coach.app import reprompts
    from voice_coach.settings import Settings, with_value

    s = with_value(with_value(Settings(), "session.reprompt_after_s", "15"), "session.max_reprompts", "2")
    r = reprompts(s)
    assert (r.after_s, r.again_s, r.limit) == (15.0, 40.0, 2)
    for key, bad in (("session.reprompt_after_s", "1"), ("session.reprompt_again_s", "900"),
                     ("session.max_reprompts", "0")):
        with pytest.raises(ValueError, match=key):
            with_value(Settings(), key, bad)
