"""The coach must not obey itself: its narration, played into the room at full volume, reaches the
microphone of the real session path (speaker + listener + echo monitor) and triggers nothing."""

from __future__ import annotations

import queue
import time

import pytest

from voice_coach import routines
from voice_coach.echo import CommandGate
from voice_coach.factory import TalkOver, make_voice_io
from voice_coach.hearing import Heard, Listener
from voice_coach.settings import Settings
from voice_coach.simulate import simulate
from voice_coach.speech import FINISHED, PlaybackEvent

pytestmark = pytest.mark.room


@pytest.mark.slow  # minutes: a whole routine in real time; `scripts/test -m 'not slow'` skips it
def test_a_whole_routines_narration_triggers_no_command(room):
    routine = routines.find("ice-rollerball")
    sentences = list(dict.fromkeys(e["text"] for e in simulate(routine) if e["type"] == "say"))
    settings = Settings()  # the coach at its default volume: the loudest echo a user would have
    io = make_voice_io(settings, input_device=room.input.index, output_device=room.output.index)
    bare: list[Heard] = []
    bare_listener = Listener(settings.hearing, bare.append, device=room.input.index)  # no echo monitor
    gate = CommandGate()
    acted, talkovers, heard = [], [], []
    played = 0.0
    try:
        bare_listener.start()
        time.sleep(1.0)
        t0 = time.monotonic()
        for i, text in enumerate(sentences):
            key = f"u{i}"
            io.speaker.say(text, key)
            started = None
            while True:
                item = io.inbox.get(timeout=120)
                if isinstance(item, TalkOver):
                    talkovers.append(text)
                elif isinstance(item, Heard):
                    heard.append(item)
                elif isinstance(item, PlaybackEvent) and item.key == key:
                    if item.kind == "started":
                        started = item.at
                    elif item.kind == FINISHED:
                        played += item.at - (started or item.at)
                        break
        time.sleep(1.5)  # the last words' echo and decoding
        while True:
            try:
                item = io.inbox.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, Heard):
                heard.append(item)
    finally:
        bare_listener.stop()
        io.close()
    for h in heard:
        duration = h.end - h.start
        verdict = gate.decide(h.command, duration=duration,
                              echo_overlap=io.echo.overlap(h.ended_at - duration, h.ended_at),
                              numbers_expected=False)
        if verdict.action == "act":
            acted.append(h.text)
            print(f"  acted on {h.text!r}: ended {h.ended_at - t0:.2f} s, {duration:.2f} s long, "
                  f"{io.echo.overlap(h.ended_at - duration, h.ended_at):.2f} s over the coach's voice, level {h.level_db:.1f}")
    bare_commands = [h.text for h in bare if h.command is not None]
    print(f"{played / 60:.1f} min of narration: session path acted on {acted}, talk-overs {talkovers}; "
          f"recognizer without the echo monitor heard commands {bare_commands}")
    assert played > 60, "the narration did not play"
    assert talkovers == [], "the coach's own voice was taken for someone talking over it"
    assert acted == [], "the coach obeyed its own narration"
