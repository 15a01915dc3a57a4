"""Every built-in routine keeps the care rules of ../shared/notes/care-content.md.

These are content checks, not schema checks: they read what the coach will say and time, and
fail when a built-in drifts from the safety rules (ice limit and cloth, never rolling on the lower
spine, massage off the spine, the safety check first and the clinician advice last).
"""

from __future__ import annotations

import re
import string

import pytest

from voice_coach.routines import ICE_LIMIT_S, Routine, Step, builtin_files, check_file
from voice_coach.routines.loader import RISKY_WORDS

DEFAULT_ROUTINE = "evening-back-relief"
WORDS_PER_MINUTE = 150
FILES = builtin_files()


def _load(path) -> Routine:
    routine, problems = check_file(path, builtin=True)
    assert routine is not None, "\n".join(str(p) for p in problems)
    return routine


ROUTINES = {path.name: _load(path) for path in FILES}
ALL = list(ROUTINES.values())
IDS = [r.id for r in ALL]


def spoken(step: Step) -> list[str]:
    """Every text the coach can say during ``step`` (each once)."""
    texts = [step.say, step.end_say, step.ice_say, *(c.say for c in step.cues)]
    if step.optional:
        texts.append(step.question)
    if step.kind == "safety":
        texts.append(step.stop_say)
    if step.sides:
        texts.append(step.switch_say)
    if step.sets > 1:
        texts += [step.set_say, step.rest_say]
    return [t for t in texts if t]


def sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.?!:;])\s+", text) if s.strip()]


def speech_seconds(step: Step) -> float:
    """How long the coach talks during ``step``, at about 150 words a minute."""
    blocks = max(1, len(step.sides)) * step.sets
    words = len(step.say.split()) + len(step.end_say.split())
    if step.optional:
        words += len(step.question.split())
    words += sum(len(c.say.split()) * len(c.offsets) for c in step.cues) * blocks
    if step.sides:
        words += len(step.switch_say.split()) * (len(step.sides) - 1)
    if step.sets > 1:
        words += (len(step.set_say.split()) * step.sets + len(step.rest_say.split()) * (step.sets - 1)) \
            * max(1, len(step.sides))
    return words / WORDS_PER_MINUTE * 60


def computed_minutes(routine: Routine) -> float:
    """Timer time plus speech, with every optional block taken (the routine's full length)."""
    return sum(s.total_seconds + speech_seconds(s) for s in routine.steps) / 60


def test_there_are_the_five_builtins():
    assert {"ice-rollerball", "massager-back", "foam-roller", DEFAULT_ROUTINE, "partner-massage"} <= set(IDS)


def test_ids_are_unique_and_match_the_file_names():
    assert len(IDS) == len(set(IDS)), IDS
    for name, routine in ROUTINES.items():
        assert routine.id == name.removesuffix(".toml")
        assert routine.builtin


def test_default_routine_exists():
    assert DEFAULT_ROUTINE in IDS


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_loads_with_zero_problems(path):
    routine, problems = check_file(path, builtin=True)
    assert routine is not None
    assert problems == [], "\n".join(str(p) for p in problems)


@pytest.mark.parametrize("routine", ALL, ids=IDS)
def test_metadata_is_complete(routine):
    assert routine.title and routine.description
    assert routine.tools and routine.regions and routine.sources
    assert routine.minutes > 0


@pytest.mark.parametrize("routine", ALL, ids=IDS)
def test_opens_with_a_safety_check(routine):
    first = routine.steps[0]
    assert first.kind == "safety" and not first.timed and not first.optional
    assert "yes or no" in first.say.lower()
    for red_flag in ("bladder", "bowel", "groin", "weakness", "fever"):
        assert red_flag in first.say.lower(), f"the safety check does not ask about {red_flag}"
    assert "emergency services" in first.stop_say
    assert sum(s.kind == "safety" for s in routine.steps) >= 1


@pytest.mark.parametrize("routine", ALL, ids=IDS)
def test_closes_with_the_clinician_advice(routine):
    last = routine.steps[-1]
    assert last.kind == "closing" and not last.optional
    assert "pain-management" in last.say
    assert re.search(r"\b(physician|clinician)\b", last.say)
    assert [s.kind for s in routine.steps].count("closing") == 1


@pytest.mark.parametrize("routine", ALL, ids=IDS)
def test_ice_steps_keep_the_limits(routine):
    ice = [s for s in routine.steps if s.kind == "ice"]
    for step in ice:
        assert step.duration is not None
        assert step.total_seconds <= ICE_LIMIT_S, f"{step.id} ices for {step.total_seconds / 60:g} minutes"
        assert 10 * 60 <= step.sets * step.duration, f"{step.id}: less than 10 minutes is below the advised dose"
        assert "cloth" in step.say.lower()
        assert any("skin" in c.say.lower() for c in step.cues), f"{step.id} has no skin-check cue"
        before = " ".join(s.say for s in routine.steps[: routine.steps.index(step)])
        assert "Raynaud" in before, f"{routine.id}: nobody is told who should not ice before {step.id}"


LOWER_SPINE = re.compile(r"lower back|lower spine|lumbar", re.I)
NEGATION = re.compile(r"\b(not|never|avoid|off|away)\b", re.I)


@pytest.mark.parametrize("routine", ALL, ids=IDS)
def test_rolling_never_on_the_lower_spine(routine):
    for step in (s for s in routine.steps if s.kind == "roll"):
        for text in spoken(step):
            for sentence in sentences(text):
                if LOWER_SPINE.search(sentence):
                    assert NEGATION.search(sentence), f"{step.id}: {sentence!r} reads as rolling on the lower spine"


@pytest.mark.parametrize("routine", ALL, ids=IDS)
def test_rolling_and_massage_doses(routine):
    """30-120 s per area, 1-3 sets, about 30 s rest (care-content.md)."""
    for step in (s for s in routine.steps if s.kind in ("roll", "massage")):
        assert step.duration is not None and 30 <= step.duration <= 120, step.id
        assert 1 <= step.sets <= 3, step.id
        if step.sets > 1:
            assert 20 <= step.rest <= 60, step.id


KEEPS_OFF = re.compile(r"\b(not|never|avoid|off|away|beside|both sides)\b", re.I)


@pytest.mark.parametrize("routine", ALL, ids=IDS)
def test_massage_avoids_the_spine_and_the_front_of_the_neck(routine):
    for step in (s for s in routine.steps if s.kind == "massage"):
        assert "spine" in step.say.lower(), f"{step.id} never says where the spine is (to keep off it)"
        for text in spoken(step):
            for sentence in sentences(text):
                if "spine" in sentence.lower() or re.search(r"\b(front|sides) of (the|your|their) neck", sentence):
                    assert KEEPS_OFF.search(sentence), f"{step.id}: {sentence!r} reads as working on it"


@pytest.mark.parametrize("routine", ALL, ids=IDS)
def test_spoken_text_has_no_command_words(routine):
    """Cues included: the coach must not say a word it would take as a command."""
    for step in routine.steps:
        for text in spoken(step):
            found = set(re.findall(r"[a-z']+", text.lower())) & set(RISKY_WORDS)
            assert not found, f"{routine.id} step {step.id} says {sorted(found)}: {text!r}"


@pytest.mark.parametrize("routine", ALL, ids=IDS)
def test_placeholders_are_the_ones_the_engine_fills(routine):
    allowed = {"switch_say": {"side"}, "set_say": {"set", "sets"}}
    for step in routine.steps:
        for key in ("say", "end_say", "switch_say", "set_say", "rest_say", "ask", "stop_say", "ice_say"):
            names = {f for _, f, _, _ in string.Formatter().parse(getattr(step, key)) if f is not None}
            assert names <= allowed.get(key, set()), f"{step.id}.{key} uses {names}"


@pytest.mark.parametrize("routine", ALL, ids=IDS)
def test_sentences_are_short_enough_to_follow_by_ear(routine):
    for step in routine.steps:
        for text in spoken(step):
            for sentence in sentences(text):
                assert len(sentence.split()) <= 40, f"{step.id}: {sentence!r}"


@pytest.mark.parametrize("routine", ALL, ids=IDS)
def test_optional_steps_ask_a_yes_no_question(routine):
    for step in (s for s in routine.steps if s.optional):
        assert step.ask, f"{step.id} is optional but has no ask"
        assert step.ask.rstrip().endswith("Say yes or no."), step.id


@pytest.mark.parametrize("routine", ALL, ids=IDS)
def test_minutes_estimate_matches_the_steps(routine):
    computed = computed_minutes(routine)
    assert abs(routine.minutes - computed) <= 0.4 * computed, (
        f"{routine.id}: minutes = {routine.minutes:g} but the steps take about {computed:.1f} minutes")


def test_default_routine_is_the_evening_session():
    evening = ROUTINES[f"{DEFAULT_ROUTINE}.toml"]
    kinds = [s.kind for s in evening.steps]
    assert kinds.index("massage") < kinds.index("roll") < kinds.index("ice")
    assert 25 <= computed_minutes(evening) <= 35
    ice = [s for s in evening.steps if s.kind == "ice"]
    assert all(10 * 60 <= s.duration <= 12 * 60 for s in ice)


def test_massager_routine_works_both_sides_of_upper_and_lower_back():
    massager = ROUTINES["massager-back.toml"]
    blocks = [s for s in massager.steps if s.kind == "massage"]
    assert all(s.sides == ("left", "right") for s in blocks)
    said = " ".join(s.say.lower() for s in blocks)
    assert "upper back" in said and "lower back" in said and "keep it moving" in said


def test_foam_roller_has_the_optional_blocks():
    roller = ROUTINES["foam-roller.toml"]
    required = [s for s in roller.steps if s.kind == "roll" and not s.optional]
    assert [s.id for s in required] == ["upper-back"] and required[0].sets >= 2
    optional = {s.id for s in roller.steps if s.optional}
    assert {"neck", "thighs", "hips", "calves"} <= optional
    neck = roller.step_index("neck")
    assert "do not press" in roller.steps[neck].say.lower()


def test_partner_massage_speaks_to_the_partner():
    partner = ROUTINES["partner-massage.toml"]
    assert partner.audience == "partner"
    assert all(s.who == "partner" for s in partner.steps)
    for step in partner.steps:
        if step.kind == "massage":
            assert not re.search(r"\byour (back|spine|skin|legs)\b", step.say), step.id
            assert re.search(r"\b(their|them)\b", step.say), step.id
    checks = [c.say for s in partner.steps for c in s.cues if "ask them" in c.say.lower()]
    assert len(checks) >= 2, "the partner is not reminded to check in about pressure"
