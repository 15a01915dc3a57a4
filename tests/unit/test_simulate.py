"""The simulator's timeline against an independent computation from the routine's data."""

from __future__ import annotations

import pytest

from voice_coach.routines import builtin_files, load_file
from voice_coach.session.commands import Command
from voice_coach.simulate import ScriptedCommand, parse_script, simulate, speech_seconds

BUILTINS = [load_file(p, builtin=True) for p in builtin_files()]
IDS = [r.id for r in BUILTINS]


def timer_seconds(routine) -> float:
    """Every timed block of every step (optional steps are included by default)."""
    return sum(step.total_seconds for step in routine.steps)


@pytest.mark.parametrize("routine", BUILTINS, ids=IDS)
def test_with_silent_speech_the_length_is_exactly_the_sum_of_the_timers(routine):
    timeline = simulate(routine, speech_time=lambda text: 0.0)
    assert timeline[-1]["type"] == "end" and timeline[-1]["reason"] == "finished"
    assert timeline[-1]["t"] == pytest.approx(timer_seconds(routine))


@pytest.mark.parametrize("routine", BUILTINS, ids=IDS)
def test_each_sentence_outside_a_timer_adds_its_speaking_time(routine):
    timeline = simulate(routine, speech_time=lambda text: 2.0)
    sentences = [e for e in timeline if e["type"] == "say" and e["kind"] != "cue"]
    assert timeline[-1]["t"] == pytest.approx(timer_seconds(routine) + 2.0 * len(sentences))


@pytest.mark.parametrize("routine", BUILTINS, ids=IDS)
def test_pause_and_resume_shift_the_rest_of_the_timeline_by_the_paused_time(routine):
    base = simulate(routine)
    first_timer = next(e for e in base if e["type"] in ("cue", "chime") and e.get("kind") != "step")
    pause_at = round(first_timer["t"] - 5.0, 3)
    script = [ScriptedCommand(Command.PAUSE, at=pause_at), ScriptedCommand(Command.RESUME, at=pause_at + 90.0)]
    shifted = simulate(routine, script)
    assert shifted[-1]["t"] == pytest.approx(base[-1]["t"] + 90.0)
    later_base = [(e["type"], e.get("text")) for e in base if e["t"] > pause_at]
    extra = {"paused", "resumed"}
    later_shifted = [(e["type"], e.get("text")) for e in shifted if e["t"] > pause_at and e["type"] not in extra
                     and not str(e.get("text", "")).startswith(("Paused", "Resumed"))]
    assert later_shifted == later_base
    base_times = [e["t"] for e in base if e["t"] > pause_at]
    shifted_times = [e["t"] for e in shifted if e["t"] > pause_at and e["type"] not in extra
                     and not str(e.get("text", "")).startswith(("Paused", "Resumed"))]
    assert shifted_times == pytest.approx([t + 90.0 for t in base_times])


def test_speech_time_follows_the_words_and_the_rate():
    assert speech_seconds("one two three", 180) == pytest.approx(1.0 + 0.3)
    assert speech_seconds("one two three", 90) == pytest.approx(2.0 + 0.3)


def test_parse_script_reads_times_commands_and_numbers():
    script = parse_script("90s pause, 2m resume, next, 6, 1m30s go on, hold on")
    assert [(c.command, c.number, c.at) for c in script] == [
        (Command.PAUSE, None, 90.0), (Command.RESUME, None, 120.0), (Command.NEXT, None, None),
        (Command.NUMBER, 6, None), (Command.NEXT, None, 90.0), (Command.PAUSE, None, None)]


def test_scripted_answers_replace_the_defaults():
    routine = next(r for r in BUILTINS if r.steps[0].kind == "safety")
    timeline = simulate(routine, parse_script("7, yes, no"))
    pains = [e for e in timeline if e["type"] == "pain"]
    assert pains[0]["value"] == 7
    assert timeline[-1]["type"] == "end"
    timeline = simulate(routine, parse_script("skip, yes"))  # a red flag in the safety check
    assert timeline[-1]["reason"] == "red_flag"


def test_the_natural_answers_silence_and_mumbling_show_in_the_timeline():
    """simulate --commands takes "ready", ratings in a phrase, yes/no forms, silence and mumbling."""
    routine = next(r for r in BUILTINS if r.id == "massager-back")
    script = parse_script("it's about a six, yep, nope, silence, silence, ready, mumble, I'm done")
    assert [(c.command, c.number, c.event) for c in script] == [
        (Command.NUMBER, 6, ""), (Command.YES, None, ""), (Command.NO, None, ""), (None, None, "silence"),
        (None, None, "silence"), (Command.READY, None, ""), (None, None, "mumble"), (Command.READY, None, "")]
    timeline = simulate(routine, script)
    assert [e["value"] for e in timeline if e["type"] == "pain"][0] == 6
    reprompts = [e for e in timeline if e["type"] == "reprompt"]
    assert [(e["count"], e["waiting_for"]) for e in reprompts] == [(1, "waiting"), (2, "waiting"), (1, "waiting")]
    said = [e["text"] for e in timeline if e["type"] == "say"]
    first = said.index("Say next or ready when you want to go on.")
    assert said[first + 1] == "Say next to go on."
    assert "Sorry? Say next or ready when you want to go on." in said
    t_reminders = [e["t"] for e in reprompts[:2]]
    assert t_reminders[1] - t_reminders[0] == pytest.approx(40.0 + speech_seconds(said[first], 165))
    steps = [e["id"] for e in timeline if e["type"] == "step_done"]
    assert steps[:3] == ["safety", "ground-rules", "prepare"]
    assert timeline[-1]["type"] == "end" and timeline[-1]["reason"] == "finished"
