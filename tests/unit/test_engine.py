"""The session engine, driven with explicit clock values: exact timings, every command in every state."""

from __future__ import annotations

import itertools

import pytest

from voice_coach.routines import Cue, Routine, Step
from voice_coach.session import actions as act
from voice_coach.session import events as ev
from voice_coach.session.commands import Command
from voice_coach.session.engine import SessionEngine, blocks_of


def make_routine(*steps: Step) -> Routine:
    return Routine(id="t", title="Test", description="", steps=tuple(steps))


WAIT = Step(id="intro", title="Intro", say="Get ready.")
TIMED = Step(id="roll", title="Roll", say="Roll slowly.", duration=60.0,
             cues=(Cue((30.0,), "Halfway."), Cue((50.0,), "Ten seconds left.")))
SIDES = Step(id="mass", title="Massager", say="Massage.", duration=30.0, sides=("left", "right"), sets=2, rest=10.0)
ICE = Step(id="ice", title="Ice", kind="ice", say="Ice with a cloth.", duration=1200.0,
           cues=(Cue(tuple(240.0 * k for k in range(1, 5)), "Skin check."),))
SAFETY = Step(id="safety", title="Safety", kind="safety", say="Any red flags? Say yes or no.",
              stop_say="Please seek care now.")
OPTIONAL = Step(id="neck", title="Neck", say="Roll the neck gently.", duration=30.0, optional=True)
CLOSING = Step(id="closing", title="Closing", kind="closing", say="See a pain-management physician if needed.")


class Drive:
    """A session under test: feeds events at given times, finishes speech on request."""

    def __init__(self, *steps: Step, ask_pain: bool = False):
        self.engine = SessionEngine(make_routine(*steps), ask_pain=ask_pain)
        self.log: list[tuple[float, act.Action]] = []
        self.pending: list[str] = []

    def feed(self, event, now: float) -> list[act.Action]:
        out = self.engine.handle(event, now)
        for a in out:
            self.log.append((now, a))
            if isinstance(a, act.Say):
                self.pending.append(a.key)
            if isinstance(a, act.StopSpeaking):
                pass  # the cut utterances still report SpeechDone, via speak_all
        return out

    def start(self, now: float = 0.0):
        return self.feed(ev.Start(), now)

    def speak_all(self, now: float) -> list[act.Action]:
        out = []
        while self.pending:
            out += self.feed(ev.SpeechDone(self.pending.pop(0)), now)
        return out

    def cmd(self, command: Command, now: float, number: int | None = None) -> list[act.Action]:
        return self.feed(ev.Heard(command, number), now)

    def tick(self, now: float) -> list[act.Action]:
        return self.feed(ev.Tick(), now)

    def said(self, since: float = -1.0) -> list[str]:
        return [a.text for t, a in self.log if isinstance(a, act.Say) and t >= since]

    def of_type(self, kind) -> list[tuple[float, act.Action]]:
        return [(t, a) for t, a in self.log if isinstance(a, kind)]


def test_timer_starts_when_the_instruction_has_been_said():
    d = Drive(TIMED)
    d.start(0.0)
    assert d.engine.next_deadline() is None  # still speaking the instruction
    d.speak_all(4.0)
    assert d.engine.phase == "running"
    assert d.engine.next_deadline() == pytest.approx(34.0)  # the first cue
    d.tick(34.0)
    assert d.said(34.0) == ["Halfway."]
    d.tick(54.0)
    assert d.said(54.0) == ["Ten seconds left."]
    assert d.engine.next_deadline() == pytest.approx(64.0)
    d.tick(63.999)
    assert not d.of_type(act.StepFinished)
    d.tick(64.0)
    assert [a.status for _, a in d.of_type(act.StepFinished)] == ["done"]
    assert not d.engine.ended  # "Session complete" is still being said
    d.speak_all(66.0)
    assert d.of_type(act.Ended)[0][0] == 66.0


def test_pause_freezes_timer_and_cues_exactly():
    d = Drive(TIMED)
    d.start(0.0)
    d.speak_all(2.0)  # timer runs from 2.0 to 62.0, cues at 32.0, 52.0
    d.tick(20.0)
    d.cmd(Command.PAUSE, 20.5)
    paused = d.of_type(act.Paused)[0][1]
    assert paused.remaining == pytest.approx(41.5)
    assert d.engine.next_deadline() is None
    d.tick(500.0)  # nothing happens while paused
    assert not d.of_type(act.CueFired)
    d.cmd(Command.RESUME, 100.5)  # paused for exactly 80 s
    assert d.of_type(act.Resumed)[0][1].remaining == pytest.approx(41.5)
    assert "Resumed. 42 seconds left." in d.said(100.5)  # 41.5 s, said rounded
    assert d.engine.next_deadline() == pytest.approx(112.0)
    d.tick(112.0)
    d.tick(132.0)
    d.tick(142.0)
    assert [t for t, _ in d.of_type(act.CueFired)] == [112.0, 132.0]
    assert d.of_type(act.StepFinished)[0][0] == 142.0


def test_no_drift_across_a_twenty_minute_icing_step_with_irregular_ticks():
    d = Drive(ICE, CLOSING)
    d.start(0.0)
    d.speak_all(3.25)
    now = 3.25
    jitter = itertools.cycle([0.9, 1.37, 0.11, 2.5, 0.013])
    while not d.of_type(act.StepFinished):
        deadline = d.engine.next_deadline()
        now = min(now + next(jitter), deadline + 0.4)  # ticks arrive late and irregularly
        d.tick(now)
    cues = [t for t, _ in d.of_type(act.CueFired)]
    assert len(cues) == 4  # 4, 8, 12, 16 minutes; not at 20
    ends = [t for t, a in d.log if isinstance(a, act.Chime) and a.kind == "timer"]
    assert len(ends) == 1
    # The next step is scheduled from the exact end (3.25 + 1200), not from the late tick.
    assert d.engine.ice_used == pytest.approx(1200.0)


def test_ice_is_capped_at_twenty_minutes_per_session_even_after_back():
    short_ice = Step(id="ice", title="Ice", kind="ice", say="Ice with a cloth.", duration=900.0)
    d = Drive(short_ice, WAIT)
    d.start(0.0)
    d.speak_all(1.0)
    d.tick(901.0)  # 15 minutes of cold done
    d.speak_all(901.0)
    assert d.engine.step.id == "intro"
    d.cmd(Command.BACK, 910.0)
    d.speak_all(911.0)
    assert d.engine.step.id == "ice"
    assert d.engine.next_deadline() == pytest.approx(911.0 + 300.0)  # only 5 more minutes allowed
    d.tick(1211.0)
    assert d.engine.ice_used == pytest.approx(1200.0)
    d.speak_all(1211.0)
    d.cmd(Command.BACK, 1212.0)
    d.speak_all(1213.0)
    assert any("twenty minutes of cold" in s for s in d.said(1213.0))
    assert d.engine.step.id == "intro"


def test_sides_sets_and_rests_run_in_order():
    blocks = blocks_of(SIDES)
    assert [(b.kind, b.duration) for b in blocks] == [
        ("work", 30.0), ("rest", 10.0), ("work", 30.0), ("work", 30.0), ("rest", 10.0), ("work", 30.0)]
    assert blocks[0].intro == "Massage. Begin on the left side."
    assert blocks[3].intro == "Now switch to the right side."
    assert blocks[2].intro == "Set 2 of 2. Begin."
    d = Drive(SIDES)
    d.start(0.0)
    now = 0.0
    while not d.engine.ended:
        d.speak_all(now)
        deadline = d.engine.next_deadline()
        if deadline is None:
            break
        now = deadline
        d.tick(now)
    # 4 work blocks of 30 s and 2 rests of 10 s; speech takes no time here
    assert now == pytest.approx(140.0)
    assert len([a for _, a in d.log if isinstance(a, act.Chime) and a.kind == "timer"]) == 4
    assert d.engine.ended and d.engine.end_reason == "finished"


def test_next_moves_to_the_next_side_then_the_next_step():
    d = Drive(SIDES, WAIT)
    d.start(0.0)
    d.speak_all(1.0)
    d.cmd(Command.NEXT, 5.0)
    assert d.said(5.0) == ["Set 2 of 2. Begin."]  # the rest between sets is left out too
    d.speak_all(5.5)
    d.cmd(Command.NEXT, 6.0)
    assert d.said(6.0) == ["Now switch to the right side."]
    d.speak_all(6.5)
    d.cmd(Command.NEXT, 7.0)
    d.speak_all(7.5)
    assert d.engine.step.id == "mass"
    d.cmd(Command.NEXT, 8.0)
    assert d.engine.step.id == "intro"
    assert [a.status for _, a in d.of_type(act.StepFinished)] == ["done"]


def test_repeat_says_the_instruction_again_without_restarting_the_timer():
    d = Drive(TIMED)
    d.start(0.0)
    d.speak_all(2.0)
    d.cmd(Command.REPEAT, 10.0)
    assert d.said(10.0) == ["Roll slowly."]
    assert d.engine.timer.end == pytest.approx(62.0)


def test_back_restarts_the_previous_step_and_skip_marks_skipped():
    d = Drive(WAIT, TIMED, CLOSING)
    d.start(0.0)
    d.speak_all(1.0)
    d.cmd(Command.NEXT, 2.0)
    d.speak_all(3.0)
    d.cmd(Command.BACK, 10.0)
    assert d.engine.step.id == "intro"
    assert d.said(10.0) == ["Get ready."]
    d.speak_all(11.0)
    d.cmd(Command.NEXT, 12.0)
    d.cmd(Command.SKIP, 13.0)
    assert [(a.id, a.status) for _, a in d.of_type(act.StepFinished)] == [
        ("intro", "done"), ("intro", "done"), ("roll", "skipped")]


def test_stop_asks_to_confirm_and_no_restores_the_frozen_timer():
    d = Drive(TIMED)
    d.start(0.0)
    d.speak_all(2.0)
    d.cmd(Command.STOP, 12.0)
    assert d.of_type(act.Asked)[-1][1].question == "confirm_stop"
    assert d.engine.next_deadline() is None
    d.tick(100.0)
    assert not d.of_type(act.CueFired)
    d.cmd(Command.NO, 40.0)  # 28 s in the question: the timer ends 28 s later than planned
    assert not d.engine.ended
    assert d.engine.timer.end == pytest.approx(90.0)
    d.cmd(Command.STOP, 50.0)
    d.cmd(Command.YES, 51.0)
    d.speak_all(52.0)
    assert d.engine.ended and d.engine.end_reason == "stopped"
    assert [a.reason for _, a in d.of_type(act.Ended)] == ["stopped"]


def test_a_red_flag_answer_ends_the_session_with_the_advice():
    d = Drive(SAFETY, WAIT)
    d.start(0.0)
    d.speak_all(1.0)
    assert d.engine.question.kind == "safety"
    d.cmd(Command.NEXT, 2.0)  # "next" is no answer to a safety question
    assert not d.engine.ended
    d.cmd(Command.YES, 3.0)
    d.cmd(Command.NO, 3.5)  # ignored: the session is ending
    d.speak_all(4.0)
    assert d.engine.ended and d.engine.end_reason == "red_flag"
    assert "Please seek care now." in d.said(3.0)


def test_safety_no_goes_on_and_optional_no_skips():
    d = Drive(SAFETY, OPTIONAL, WAIT)
    d.start(0.0)
    d.speak_all(1.0)
    d.cmd(Command.NO, 2.0)
    assert d.engine.question.kind == "optional"
    d.cmd(Command.NO, 3.0)
    assert d.engine.step.id == "intro"
    assert [(a.id, a.status) for _, a in d.of_type(act.StepFinished)] == [("safety", "done"), ("neck", "skipped")]


def test_pain_rating_is_confirmed_before_it_is_recorded():
    d = Drive(WAIT, ask_pain=True)
    d.start(0.0)
    d.speak_all(1.0)
    d.cmd(Command.NUMBER, 2.0, number=6)
    assert d.said(2.0) == ["Six. Is that right?"]
    d.cmd(Command.NO, 3.0)
    d.cmd(Command.NUMBER, 4.0, number=5)
    d.cmd(Command.YES, 5.0)
    assert [(a.when, a.value) for _, a in d.of_type(act.PainRecorded)] == [("before", 5)]
    d.speak_all(5.0)
    d.cmd(Command.NEXT, 6.0)
    assert d.engine.question.kind == "pain_after"
    d.cmd(Command.SKIP, 7.0)
    assert [(a.when, a.value) for _, a in d.of_type(act.PainRecorded)][-1] == ("after", None)
    d.speak_all(8.0)
    assert d.engine.ended and d.engine.end_reason == "finished"


def test_sorry_is_said_at_most_once_until_something_is_understood():
    d = Drive(WAIT)
    d.start(0.0)
    d.feed(ev.NotUnderstood(), 1.0)
    d.feed(ev.NotUnderstood(), 2.0)
    assert d.said(1.0).count("Sorry?") == 1
    d.cmd(Command.HELP, 3.0)
    d.feed(ev.NotUnderstood(), 4.0)
    assert d.said(4.0) == ["Sorry?"]


def test_time_left_counts_the_rest_of_the_step():
    d = Drive(SIDES)
    d.start(0.0)
    d.speak_all(0.0)
    d.cmd(Command.TIME_LEFT, 10.0)
    assert d.said(10.0) == ["2 minutes 10 seconds left in this step."]  # 20 + 10 + 30 + 30 + 10 + 30


def test_speech_adjustments_and_progress_are_passed_to_the_edges():
    d = Drive(WAIT)
    d.start(0.0)
    out = d.cmd(Command.SLOWER, 1.0) + d.cmd(Command.LOUDER, 1.0) + d.cmd(Command.PROGRESS, 1.0)
    adjust = [a for a in out if isinstance(a, act.AdjustSpeech)]
    assert [(a.rate, a.volume) for a in adjust] == [(-1, 0), (0, 1)]
    assert any(isinstance(a, act.ReportProgress) for a in out)


def test_losing_the_microphone_pauses_and_says_so():
    d = Drive(TIMED)
    d.start(0.0)
    d.speak_all(1.0)
    d.feed(ev.MicrophoneLost("unplugged"), 5.0)
    assert d.engine.paused
    assert any("cannot hear the microphone" in s for s in d.said(5.0))
    d.feed(ev.MicrophoneBack(), 9.0)
    assert any("microphone is back" in s for s in d.said(9.0))
    assert d.engine.paused  # the person resumes when ready


def _states():
    """Each named state, reached by a short script, so every command can be tried in it."""
    def new():
        d = Drive(SAFETY, OPTIONAL, WAIT, TIMED, SIDES, CLOSING, ask_pain=True)
        d.start(0.0)
        return d

    def at(step_id):
        def go():
            d = new()
            d.speak_all(0.0)
            d.cmd(Command.SKIP, 0.0)
            d.speak_all(0.0)
            while d.engine.step.id != step_id:
                d.cmd(d.engine.default_answer or Command.NEXT, 1.0)
                d.speak_all(1.0)
            return d
        return go

    def intro():
        d = at("intro")()
        d.cmd(Command.NEXT, 1.0)  # "roll" starts; its instruction is being said
        return d

    def running():
        d = intro()
        d.speak_all(1.0)
        d.tick(5.0)
        return d

    def paused():
        d = running()
        d.cmd(Command.PAUSE, 6.0)
        return d

    def confirm_stop():
        d = running()
        d.cmd(Command.STOP, 6.0)
        return d

    def confirm_pain():
        d = new()
        d.speak_all(0.0)
        d.cmd(Command.NUMBER, 1.0, number=4)
        return d

    return {"pain question": lambda: (lambda d: (d.speak_all(0.0), d)[1])(new()), "confirm pain": confirm_pain,
            "safety": at("safety"), "optional": at("neck"), "waiting": at("intro"), "intro": intro,
            "running": running, "paused": paused, "confirm stop": confirm_stop}


@pytest.mark.parametrize("state", list(_states()))
@pytest.mark.parametrize("command", list(Command))
def test_every_command_in_every_state_gives_a_sane_response(state, command):
    d = _states()[state]()
    before = len(d.log)
    out = d.cmd(command, 7.0, number=3 if command is Command.NUMBER else None)
    assert d.engine.phase in ("intro", "running", "waiting", "question", "ending", "ended")
    if command not in (Command.START, Command.LATER, Command.NEW):
        assert out, f"{command} in {state} gave no response at all"
    out += d.speak_all(7.0)  # a session ends once its last words have been said
    ended = [a for a in out if isinstance(a, act.Ended)]
    assert len(ended) == (1 if d.engine.ended else 0)
    # keep going to the end with default answers: the session can always be finished
    for _ in range(200):
        if d.engine.ended:
            break
        d.speak_all(8.0)
        if d.engine.paused:
            d.cmd(Command.RESUME, 8.0)
        elif d.engine.question is not None:
            d.cmd(d.engine.default_answer or Command.NEXT, 8.0)
        else:
            d.cmd(Command.NEXT, 8.0)
    assert d.engine.ended
    assert len(d.of_type(act.Ended)) == 1
    assert len(d.log) > before
