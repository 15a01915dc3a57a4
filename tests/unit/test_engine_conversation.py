"""A conversation that never stalls, on the fake clock: the natural answers at every question and
waiting step (accepted where they fit, refused elsewhere), re-prompts after silence or a "Sorry?"
with their timing and limit, the resumed session's safety check, and ice advice only after ice."""

from __future__ import annotations

import pytest
from test_engine import CLOSING, SAFETY, TIMED, WAIT, Drive, _states

from voice_coach.routines import Step
from voice_coach.session import actions as act
from voice_coach.session import events as ev
from voice_coach.session.commands import Command
from voice_coach.session.engine import SessionEngine
from voice_coach.session.reprompt import GIVE_UP, Reprompts
from voice_coach.vocabulary import vocabulary

EN = vocabulary("en")
GO_ON = ["ready", "okay", "ok", "done", "I'm ready", "I am ready", "yes", "yeah", "yep", "sure"]
YES = ["yes", "yeah", "yep", "yup", "sure", "okay", "ok"]
NO = ["no", "nope", "nah"]
REFUSALS = ("That does not fit here", "Please say a number from zero to ten, or skip.", "Please say yes or no.",
            "This is a safety question.", "We are not paused.", "The timer is running.",
            "Do you want to end the session? Please say yes or no.")


def say(d: Drive, text: str, now: float) -> list[act.Action]:
    parsed = EN.parse(text)
    assert parsed is not None, f"{text!r} should be a command"
    return d.cmd(parsed[0], now, number=parsed[1])


def texts(actions) -> list[str]:
    return [a.text for a in actions if isinstance(a, act.Say)]


def at_question(kind: str) -> Drive:
    states = {"pain": "pain question", "confirm_pain": "confirm pain", "safety": "safety",
              "optional": "optional", "confirm_stop": "confirm stop"}
    d = _states()[states[kind]]()
    d.speak_all(7.0)
    return d


# ----- natural answers ------------------------------------------------------------------------

@pytest.mark.parametrize("answer", GO_ON + ["go ahead"])
def test_a_waiting_step_goes_on_with_every_natural_answer(answer):
    d = Drive(WAIT, TIMED)
    d.start(0.0)
    d.speak_all(1.0)
    assert d.engine.phase == "waiting"
    say(d, answer, 2.0)
    assert [(a.id, a.status) for _, a in d.of_type(act.StepFinished)] == [("intro", "done")]
    assert d.engine.step.id == "roll"
    assert not any("does not fit" in s for s in d.said())


@pytest.mark.parametrize("answer", GO_ON)
def test_while_a_timer_runs_ready_and_yes_are_refused_with_the_way_forward(answer):
    d = Drive(TIMED, WAIT)
    d.start(0.0)
    d.speak_all(1.0)
    assert d.engine.phase == "running"
    out = say(d, answer, 5.0)
    assert not d.of_type(act.StepFinished)
    assert texts(out) == ["The timer is running. Say next if you want to move on now."]
    assert d.engine.timer.end == pytest.approx(61.0)  # untouched


@pytest.mark.parametrize("answer", GO_ON)
def test_a_paused_session_resumes_on_ready_or_okay(answer):
    d = Drive(TIMED)
    d.start(0.0)
    d.speak_all(1.0)
    d.cmd(Command.PAUSE, 5.0)
    out = say(d, answer, 30.0)
    assert not d.engine.paused and any(isinstance(a, act.Resumed) for a in out)
    assert d.engine.timer.end == pytest.approx(86.0)  # 25 s paused


@pytest.mark.parametrize("answer", YES)
def test_yes_forms_answer_the_safety_question_as_yes(answer):
    d = at_question("safety")
    say(d, answer, 8.0)
    d.speak_all(9.0)
    assert d.engine.ended and d.engine.end_reason == "red_flag"


@pytest.mark.parametrize("answer", NO)
def test_no_forms_answer_the_safety_question_as_no(answer):
    d = at_question("safety")
    say(d, answer, 8.0)
    assert d.engine.question.kind == "optional"  # the safety step is done; the optional one asks


@pytest.mark.parametrize("answer", ["ready", "done", "I'm ready", "go ahead", "six", "it's about a six"])
def test_the_safety_question_refuses_what_is_no_yes_or_no(answer):
    d = at_question("safety")
    out = say(d, answer, 8.0)
    assert d.engine.question.kind == "safety" and not d.engine.ended
    assert texts(out) == ["This is a safety question. Please say yes or no."]


@pytest.mark.parametrize("answer, done", [(a, True) for a in YES] + [(a, False) for a in NO])
def test_yes_and_no_forms_answer_an_optional_step(answer, done):
    d = at_question("optional")
    say(d, answer, 8.0)
    assert d.engine.question is None
    finished = [(a.id, a.status) for _, a in d.of_type(act.StepFinished)]
    assert (finished[-1] != ("neck", "skipped")) is done
    assert d.engine.step.id == ("neck" if done else "intro")


@pytest.mark.parametrize("answer", ["ready", "done", "I am ready", "it's about a six"])
def test_an_optional_step_refuses_ready_and_numbers(answer):
    d = at_question("optional")
    out = say(d, answer, 8.0)
    assert d.engine.question.kind == "optional" and texts(out) == ["Please say yes or no."]


@pytest.mark.parametrize("phrase, value", [("it's about a six", 6), ("pain is seven", 7), ("six out of ten", 6),
                                           ("about 6", 6), ("four", 4), ("maybe a 3", 3)])
def test_a_rating_inside_a_short_phrase_answers_the_pain_question(phrase, value):
    d = at_question("pain")
    assert d.engine.expects()[1] is True
    say(d, phrase, 8.0)
    assert d.engine.question.kind == "confirm_pain" and d.engine.question.value == value
    say(d, "yep", 9.0)
    assert [(a.when, a.value) for _, a in d.of_type(act.PainRecorded)] == [("before", value)]


@pytest.mark.parametrize("answer", ["ready", "done", "okay", "yes"])
def test_the_pain_question_refuses_ready_and_yes(answer):
    d = at_question("pain")
    out = say(d, answer, 8.0)
    assert d.engine.question.kind == "pain_before" and not d.of_type(act.PainRecorded)
    assert texts(out) == ["Please say a number from zero to ten, or skip."]


@pytest.mark.parametrize("answer, recorded", [(a, True) for a in YES] + [(a, False) for a in NO])
def test_the_rating_is_confirmed_with_yes_forms_and_asked_again_on_no_forms(answer, recorded):
    d = at_question("confirm_pain")  # "four" was heard
    say(d, answer, 8.0)
    assert bool(d.of_type(act.PainRecorded)) is recorded
    assert (d.engine.question is not None and d.engine.question.kind == "pain_before") is not recorded


def test_confirm_pain_refuses_ready():
    d = at_question("confirm_pain")
    assert texts(say(d, "ready", 8.0)) == ["Please say yes or no."]
    assert d.engine.question.kind == "confirm_pain"


@pytest.mark.parametrize("answer, ends", [(a, True) for a in YES] + [(a, False) for a in NO])
def test_the_stop_question_takes_yes_and_no_forms(answer, ends):
    d = at_question("confirm_stop")
    say(d, answer, 8.0)
    d.speak_all(9.0)
    assert d.engine.ended is ends


def test_the_stop_question_asks_again_on_ready():
    d = at_question("confirm_stop")
    assert texts(say(d, "ready", 8.0)) == ["Do you want to end the session? Please say yes or no."]
    assert not d.engine.ended


@pytest.mark.parametrize("state", list(_states()))
def test_everything_expects_lists_is_acted_on_in_that_state(state):
    """expects() is what a recognizer ranks: each command in it must do something, never be refused."""
    commands, numbers = _states()[state]().engine.expects()
    assert commands is not None and Command.NUMBER not in commands
    for command in list(commands) + ([Command.NUMBER] if numbers else []):
        d = _states()[state]()
        out = d.cmd(command, 7.0, number=3 if command is Command.NUMBER else None)
        refused = [t for t in texts(out) if t.startswith(REFUSALS)]
        assert out and not refused, f"{command} in {state}: {texts(out)}"


def test_expects_offers_ready_only_where_a_step_waits():
    d = Drive(WAIT, TIMED)
    d.start(0.0)
    assert Command.READY in d.engine.expects()[0]  # still saying the instruction: "ready" may come early
    d.speak_all(1.0)
    assert Command.READY in d.engine.expects()[0] and Command.YES in d.engine.expects()[0]
    d.cmd(Command.NEXT, 2.0)
    d.speak_all(3.0)
    assert d.engine.phase == "running"
    commands, numbers = d.engine.expects()
    assert Command.READY not in commands and Command.YES not in commands and not numbers
    assert {Command.NEXT, Command.PAUSE, Command.STOP} <= commands


# ----- re-prompts ---------------------------------------------------------------------------

def test_silence_at_a_waiting_step_gets_shorter_reminders_then_a_pause():
    d = Drive(WAIT, TIMED)
    d.start(0.0)
    d.speak_all(1.0)  # quiet from 1.0
    assert d.engine.next_deadline() == pytest.approx(21.0)
    d.tick(20.9)
    assert d.said(20.9) == []
    d.tick(21.0)
    assert d.said(21.0) == ["Say next or ready when you want to go on."]
    assert [a.count for _, a in d.of_type(act.Reprompted)] == [1]
    assert d.engine.next_deadline() is None  # speaking the reminder
    d.speak_all(23.0)
    assert d.engine.next_deadline() == pytest.approx(63.0)
    d.tick(63.0)
    d.speak_all(64.0)
    d.tick(104.0)
    d.speak_all(105.0)
    assert d.said(22.0) == ["Say next to go on.", "Say next to go on."]
    d.tick(145.0)
    assert d.said(145.0) == [GIVE_UP]
    assert d.engine.paused and len(d.of_type(act.Paused)) == 1
    d.speak_all(146.0)
    assert d.engine.next_deadline() is None
    d.tick(10_000.0)
    assert d.said(146.0) == []  # never loops
    say(d, "ready", 10_001.0)
    assert d.said(10_001.0) == ["Resumed. Say next or ready when you want to go on."]
    d.speak_all(10_002.0)
    assert d.engine.next_deadline() == pytest.approx(10_022.0)  # a fresh round of reminders
    say(d, "ready", 10_003.0)
    assert d.engine.step.id == "roll"


def test_an_answer_starts_the_reminders_over_and_the_settings_set_the_times():
    d = Drive(WAIT, TIMED)
    d.engine.reprompts = Reprompts(after_s=5.0, again_s=7.0, limit=1)
    d.start(0.0)
    d.speak_all(0.0)
    d.tick(5.0)
    d.speak_all(5.0)
    assert d.engine.next_deadline() == pytest.approx(12.0)
    d.cmd(Command.HELP, 6.0)  # understood: the count starts over
    d.speak_all(6.0)
    assert d.engine.next_deadline() == pytest.approx(11.0)
    d.tick(11.0)
    d.speak_all(11.0)
    d.tick(18.0)
    assert d.said(18.0) == [GIVE_UP] and d.engine.paused


def test_no_reminder_while_a_timer_runs_or_the_instruction_is_said():
    d = Drive(TIMED, WAIT)
    d.start(0.0)
    assert d.engine.next_deadline() is None
    d.speak_all(1.0)
    assert d.engine.next_deadline() == pytest.approx(31.0)  # the cue, not a reminder
    for t in (31.0, 51.0, 61.0):
        d.tick(t)
    assert not d.of_type(act.Reprompted)


def test_sorry_comes_with_what_can_be_said_and_the_silence_after_it_is_reminded():
    d = at_question("pain")
    out = d.feed(ev.NotUnderstood(), 8.0)  # "Sambin." for seven
    assert texts(out) == ["Sorry? Say a number from zero to ten for your pain, or skip."]
    assert d.feed(ev.NotUnderstood(), 8.5) == []  # once, until something is understood
    d.speak_all(10.0)
    assert d.engine.next_deadline() == pytest.approx(50.0)
    d.tick(50.0)
    assert d.said(50.0) == ["Zero to ten, or skip?"]
    d.speak_all(51.0)
    assert texts(d.feed(ev.NotUnderstood(), 52.0)) == ["Sorry? Zero to ten, or skip?"]
    d.speak_all(53.0)
    d.tick(93.0)  # that was the third reminder: now it waits
    assert d.said(93.0) == [GIVE_UP] and d.engine.paused
    say(d, "resume", 100.0)
    assert d.engine.question.kind == "pain_before"
    say(d, "it's about a six", 101.0)
    assert d.engine.question.kind == "confirm_pain"


@pytest.mark.parametrize("kind, first", [
    ("safety", "Please answer yes or no. Say repeat to hear the question again."),
    ("optional", "Say yes to do this step, or no to leave it out."),
    ("confirm_pain", "I heard four. Is that right? Say yes or no."),
    ("confirm_stop", "Do you want to end the session? Say yes or no."),
])
def test_every_question_is_reminded_briefly_then_more_briefly(kind, first):
    d = at_question(kind)
    d.cmd(Command.HELP, 7.0)  # the coach falls quiet at 7.0 (whenever the question was asked)
    d.speak_all(7.0)
    deadline = d.engine.next_deadline()
    if kind == "confirm_stop":  # asked over a running timer, which is frozen
        assert d.engine.timer.left is not None
    assert deadline == pytest.approx(27.0)
    d.tick(deadline)
    d.speak_all(deadline)
    d.tick(deadline + 40.0)
    assert d.said(deadline) == [first, "Yes or no?"]


def test_an_unanswered_stop_question_pauses_with_the_timer_frozen_and_resume_goes_on():
    d = at_question("confirm_stop")  # timer of "roll" frozen at stop (6.0): 60 - (6 - 1) = 55 s left
    left = d.engine.timer.left
    for _ in range(4):
        d.tick(d.engine.next_deadline())
        d.speak_all(d.log[-1][0])
    assert d.said()[-1] == GIVE_UP and d.engine.paused and d.engine.question is None
    assert d.of_type(act.Paused)[-1][1].remaining == pytest.approx(left)
    say(d, "resume", 500.0)
    assert d.engine.timer.end == pytest.approx(500.0 + left)


# ----- resume after a crash, and ice advice ------------------------------------------------

def _resumed(start_index: int) -> Drive:
    d = Drive(SAFETY, WAIT, TIMED, CLOSING)
    d.engine = SessionEngine(d.engine.routine, ask_pain=False, start_index=start_index, resuming=True)
    d.start(0.0)
    return d


def test_a_resumed_session_asks_the_safety_question_again_then_goes_on_where_it_was():
    d = _resumed(2)
    assert d.said()[0].startswith("Welcome back to Test. We continue at step 3 of 4, Roll.")
    assert d.engine.question.kind == "safety"
    d.speak_all(1.0)
    say(d, "nope", 2.0)
    assert d.engine.step.id == "roll"  # not the waiting step before it
    assert [(a.id, a.status) for _, a in d.of_type(act.StepFinished)] == [("safety", "done")]


def test_a_resumed_session_ends_on_a_red_flag():
    d = _resumed(1)
    d.speak_all(1.0)
    say(d, "yes", 2.0)
    d.speak_all(3.0)
    assert d.engine.ended and d.engine.end_reason == "red_flag"


def test_a_session_resumed_at_its_closing_words_needs_no_safety_check():
    d = _resumed(3)
    assert d.engine.question is None and d.engine.step.id == "closing"


ICE_ADVICE = "Wait at least an hour before icing again."
CLOSE = Step(id="closing", title="Closing", kind="closing", say="Well done.", ice_say=ICE_ADVICE)
OPTIONAL_ICE = Step(id="ice", title="Ice", kind="ice", say="Ice with a cloth.", duration=600.0, optional=True)


def _close_after(script) -> str:
    d = Drive(OPTIONAL_ICE, CLOSE)
    d.start(0.0)
    d.speak_all(0.0)
    script(d)
    d.speak_all(900.0)
    return [s for s in d.said() if s.startswith("Well done")][0]


def test_ice_advice_is_said_only_when_ice_was_used():
    def used(d):
        d.cmd(Command.YES, 1.0)
        d.speak_all(1.0)
        d.tick(601.0)

    def declined(d):
        d.cmd(Command.NO, 1.0)

    def skipped_at_once(d):
        d.cmd(Command.YES, 1.0)
        d.cmd(Command.SKIP, 1.5)  # while its instruction was still being said: no cold at all

    assert _close_after(used) == f"Well done. {ICE_ADVICE}"
    assert _close_after(declined) == "Well done."
    assert _close_after(skipped_at_once) == "Well done."


def test_the_builtin_closings_keep_their_ice_advice_for_sessions_with_ice():
    from voice_coach.routines import find

    for rid, step_id in (("evening-back-relief", "closing"), ("ice-rollerball", "after")):
        step = next(s for s in find(rid).steps if s.id == step_id)
        assert "icing again" in step.ice_say and "icing again" not in step.say

