"""The session engine: a pure state machine. Events in, actions out.

It owns no thread, plays no audio and never reads a clock: every event comes with ``now`` (seconds
on any monotonic scale), and :meth:`SessionEngine.next_deadline` tells the caller when to come back
with a :class:`~voice_coach.session.events.Tick`. That is what lets one engine serve the typed
front end, the instant simulator and the voice loop, and lets tests drive it with exact times.

A step is played as a list of *blocks*: a timed step becomes one work block per side and set, with
rest blocks between sets; an untimed step is one block that waits for "next". Each block opens with
an utterance, and its timer starts only when that utterance has really finished (SpeechDone), so
the person gets the full time after hearing the instruction, and pausing freezes it exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from voice_coach.routines.model import ICE_LIMIT_S, Routine, Step
from voice_coach.session import actions as act
from voice_coach.session import events as ev
from voice_coach.session.commands import Command
from voice_coach.session.reprompt import GIVE_UP, NUMBER_WORDS as _NUMBER_WORDS, Reprompts, hint
from voice_coach.session.speakable import seconds_in_words

ANSWERS = frozenset({Command.YES, Command.NO})
# What a recognizer listens for in each state (expects()); the engine answers anything else too.
ALWAYS = frozenset({Command.PAUSE, Command.STOP, Command.HELP, Command.REPEAT, Command.TIME_LEFT,
                    Command.SLOWER, Command.FASTER, Command.LOUDER, Command.QUIETER, Command.PROGRESS})
MOVES = frozenset({Command.NEXT, Command.BACK, Command.SKIP})
GO_ON = frozenset({Command.READY, Command.YES})  # "ready", "done", "okay"... where a step waits
IN_QUESTION = frozenset({Command.PAUSE, Command.STOP, Command.REPEAT, Command.HELP})
QUESTION_ANSWERS = {
    "pain_before": frozenset({Command.SKIP}), "pain_after": frozenset({Command.SKIP}),
    "confirm_pain": ANSWERS | {Command.SKIP}, "safety": ANSWERS, "optional": ANSWERS | {Command.SKIP, Command.NEXT},
    "confirm_stop": ANSWERS | {Command.STOP},  # anything else asks again
}
NUMBER_QUESTIONS = frozenset({"pain_before", "pain_after", "confirm_pain"})


@dataclass(frozen=True)
class Block:
    kind: str  # work | rest | wait
    intro: str
    duration: float | None = None
    cued: bool = False  # the step's cues apply to this block


@dataclass
class _Question:
    kind: str  # safety | optional | pain_before | pain_after | confirm_pain | confirm_stop
    text: str
    value: int | None = None  # the heard rating, for confirm_pain
    then: str = ""  # where a confirmed rating leads: "before" or "after"


@dataclass
class _Timer:
    """The running block's timer. ``end`` is absolute; while paused ``left`` holds the rest."""

    end: float
    duration: float
    cues: list[tuple[float, str]] = field(default_factory=list)  # (absolute time, text), sorted
    left: float | None = None  # set while frozen (paused, or asking whether to stop)

    def freeze(self, now: float) -> float:
        if self.left is None:
            self.left = max(0.0, self.end - now)
            self.cues = [(t - now, text) for t, text in self.cues]
        return self.left

    def thaw(self, now: float) -> None:
        if self.left is not None:
            self.end = now + self.left
            self.cues = [(now + rel, text) for rel, text in self.cues]
            self.left = None

    def remaining(self, now: float) -> float:
        return self.left if self.left is not None else max(0.0, self.end - now)


def blocks_of(step: Step) -> list[Block]:
    """The blocks a step is played as, in order."""
    if step.duration is None:
        return [Block("wait", step.say)]
    blocks: list[Block] = []
    sides = step.sides or (None,)
    for s, side in enumerate(sides):
        for n in range(1, step.sets + 1):
            if s == 0 and n == 1:
                named = side and side.lower() in step.say.lower()
                intro = step.say + (f" Begin on the {side} side." if side and not named else "")
            elif n == 1:
                intro = step.switch_say.format(side=side)
            else:
                intro = step.set_say.format(set=n, sets=step.sets)
            blocks.append(Block("work", intro, step.duration, cued=True))
            if n < step.sets and step.rest:
                blocks.append(Block("rest", step.rest_say, step.rest))
    return blocks


class SessionEngine:
    """One session of one routine. Feed it with :meth:`handle`; it returns actions to perform."""

    def __init__(self, routine: Routine, *, ask_pain: bool = True, start_index: int = 0,
                 resuming: bool = False, reprompts: Reprompts = Reprompts()):
        self.routine = routine
        self.ask_pain = ask_pain
        self.index = start_index
        self.resuming = resuming
        self.reprompts = reprompts
        self._quiet_at: float | None = None  # since when the coach waits, silent, for an answer
        self._nudges = 0  # reminders said since the person last said something understood
        self._resume_to: int | None = None  # after a resumed session's safety check: the step to go on with
        self.blocks: list[Block] = []
        self.block = 0
        self.phase = "new"  # new | intro | running | waiting | question | ending | ended
        self.paused = False
        self.timer: _Timer | None = None
        self.question: _Question | None = None
        self.before_stop: tuple[bool, _Question | None] | None = None  # (paused, question) for "no"
        self.gate = ""  # the utterance whose end starts the block's timer or opens a question
        self.ice_used = 0.0  # seconds of cold in this session, never more than ICE_LIMIT_S
        self.mic_lost = False
        self._said = 0
        self._unfinished: set[str] = set()  # keys said and not yet reported done
        self._sorry = False
        self._out: list[act.Action] = []
        self.end_reason = ""

    # ----- the public surface -------------------------------------------------------------------

    def handle(self, event: ev.Event, now: float) -> list[act.Action]:
        """Apply one event at time ``now`` and return what to do, in order."""
        self._out = []
        if self.phase == "ended":
            return []
        if self.phase == "ending" and not isinstance(event, (ev.SpeechDone, ev.Shutdown, ev.Tick)):
            return []
        if isinstance(event, ev.Start):
            self._start(now)
        elif isinstance(event, ev.Tick):
            self._tick(now)
        elif isinstance(event, ev.SpeechDone):
            self._speech_done(event.key, now)
        elif isinstance(event, ev.Heard):
            self._sorry = False
            self._nudges = 0
            self._command(event.command, event.number, now)
        elif isinstance(event, ev.NotUnderstood):
            self._not_understood(now)
        elif isinstance(event, ev.MicrophoneLost):
            self._mic_lost(now)
        elif isinstance(event, ev.Shutdown):
            self._silence()
            self._end(self.end_reason or event.reason, now_silent=True)
        elif isinstance(event, ev.MicrophoneBack):
            self.mic_lost = False
            self._say("The microphone is back. I am listening again." +
                      (" Say resume when you are ready." if self.paused else ""), "feedback")
        self._quiet_at = (self._quiet_at if self._quiet_at is not None else now) \
            if self._awaiting() and not self._unfinished else None
        return self._out

    def next_deadline(self) -> float | None:
        """When the engine next needs a Tick, or None if it only waits for other events."""
        nudge = self._nudge_due()
        if self.phase != "running" or self.timer is None or self.timer.left is not None:
            return nudge
        due = min(self.timer.cues[0][0], self.timer.end) if self.timer.cues else self.timer.end
        return due if nudge is None else min(due, nudge)

    @property
    def ended(self) -> bool:
        return self.phase == "ended"

    @property
    def step(self) -> Step | None:
        return self.routine.steps[self.index] if 0 <= self.index < len(self.routine.steps) else None

    def expects(self) -> tuple[frozenset[Command] | None, bool]:
        """What a recognizer should listen for now: (commands, numbers?). Exactly what moves the
        session on or is answered in this state: a recognizer that ranks these phrases needs it."""
        q = self.question
        if q and not self.paused:
            asked = QUESTION_ANSWERS[q.kind]
            return (asked if q.kind == "confirm_stop" else IN_QUESTION | asked), q.kind in NUMBER_QUESTIONS
        if self.paused:
            answers = QUESTION_ANSWERS[q.kind] if q else GO_ON
            return ALWAYS | MOVES | answers | {Command.RESUME, Command.READY}, bool(q and q.kind in NUMBER_QUESTIONS)
        return ALWAYS | MOVES | (GO_ON if self._step_waits() else frozenset()), False

    def time_left(self, now: float) -> float | None:
        """Seconds left in the current step's timers, or None for a step without a timer."""
        if self.timer is None:
            if self.blocks and self.blocks[self.block].duration is not None:
                return sum(b.duration or 0 for b in self.blocks[self.block:])
            return None
        return self.timer.remaining(now) + sum(b.duration or 0 for b in self.blocks[self.block + 1:])

    # ----- building blocks ----------------------------------------------------------------------

    def _say(self, text: str, kind: str = "prompt", gate: bool = False) -> str:
        self._said += 1
        key = f"u{self._said}"
        self._out.append(act.Say(text=text, key=key, kind=kind))
        self._unfinished.add(key)
        if gate:
            self.gate = key
        return key

    def _emit(self, action: act.Action) -> None:
        self._out.append(action)

    def _silence(self) -> None:
        """Cut the coach's speech, if it is speaking (barge-in, or moving on)."""
        if self._unfinished:
            self._emit(act.StopSpeaking())

    def _end(self, reason: str, now_silent: bool = False) -> None:
        """End once the last words have been said (at once for a shutdown)."""
        self.timer = None
        self.question = None
        self.end_reason = reason
        last = self._out[-1] if self._out else None
        if not now_silent and isinstance(last, act.Say):
            self.phase = "ending"
            self.gate = last.key
            return
        self.phase = "ended"
        self._emit(act.Ended(reason))

    # ----- the session's course -----------------------------------------------------------------

    def _start(self, now: float) -> None:
        r = self.routine
        if self.resuming and self.step:
            self._say(f"Welcome back to {r.title}. We continue at step {self.index + 1} of {len(r.steps)}, "
                      f"{self.step.title}.")
            safety = next((i for i, s in enumerate(r.steps[:self.index]) if s.kind == "safety"), None)
            if safety is not None and self.step.kind != "closing":  # the answer may have changed since
                self._resume_to, self.index = self.index, safety
            self._enter_step(now)
            return
        minutes = round(r.minutes) if r.minutes else round(sum(s.total_seconds for s in r.steps) / 60)
        self._say(f"{r.title}. {len(r.steps)} steps, about {minutes} minutes. You can say next, pause, "
                  "repeat or stop at any time, and help to hear everything you can say.")
        if self.ask_pain:
            self._ask("pain_before", "Before we begin, how is your back pain right now, from zero to ten? "
                                     "Or say skip.")
        else:
            self._enter_step(now)

    def _ask(self, kind: str, text: str, **extra) -> None:
        self.question = _Question(kind, text, **extra)
        self.phase = "question"
        self.timer = None
        self._emit(act.Asked(kind))
        self._say(text, "question", gate=True)

    def _enter_step(self, now: float, ask_optional: bool = True) -> None:
        self.timer = None
        self.question = None
        if self.index >= len(self.routine.steps):
            self._finish()
            return
        step = self.routine.steps[self.index]
        if ask_optional:  # (a "yes" to an optional step goes on with the step already started)
            self._emit(act.StepStarted(self.index, step.id, step.title, len(self.routine.steps)))
        if step.kind == "safety":
            self._ask("safety", step.question)
        elif step.optional and ask_optional:
            self._ask("optional", step.question)
        else:
            self.blocks = blocks_of(step)
            if step.ice_say and self.ice_used > 0:  # advice about icing again only after ice
                self.blocks[0] = replace(self.blocks[0], intro=f"{self.blocks[0].intro} {step.ice_say}")
            self._start_block(0, now)

    def _start_block(self, number: int, now: float) -> None:
        self.block = number
        self.timer = None
        self.phase = "intro"
        block = self.blocks[number]
        self._say(block.intro, "prompt", gate=True)

    def _run_block(self, now: float) -> None:
        """The block's instruction has been said: start its timer, or wait for "next"."""
        step, block = self.step, self.blocks[self.block]
        if block.duration is None:
            self.phase = "waiting"
            if step.kind == "closing":  # closing words need no answer
                self._finish_step("done", now)
            return
        duration = block.duration
        if step.kind == "ice" and block.kind == "work":
            duration = min(duration, ICE_LIMIT_S - self.ice_used)
            if duration <= 0:
                self._say("You have had twenty minutes of cold in this session, the safe limit. "
                          "No more ice today for now.", "feedback")
                self._finish_step("skipped", now)
                return
        cues = sorted((now + offset, cue.say) for cue in step.cues if block.cued
                      for offset in cue.offsets if offset < duration)
        self.timer = _Timer(end=now + duration, duration=duration, cues=cues)
        self.phase = "running"

    def _leave_block(self, now: float) -> None:
        """Account for cold time before a block ends or is cut short."""
        if self.timer and self.step.kind == "ice" and self.blocks[self.block].kind == "work":
            self.ice_used += self.timer.duration - self.timer.remaining(now)
        self.timer = None

    def _tick(self, now: float) -> None:
        nudge = self._nudge_due()
        if nudge is not None and now >= nudge:
            self._nudge(now)
            return
        if self.phase != "running" or self.timer is None or self.timer.left is not None:
            return
        while self.timer.cues and self.timer.cues[0][0] <= now:
            _, text = self.timer.cues.pop(0)
            self._emit(act.CueFired(text, self.step.id))
            self._say(text, "cue")
        if now >= self.timer.end:
            self._block_done(self.timer.end)

    def _block_done(self, at: float) -> None:
        step = self.step
        block = self.blocks[self.block]
        self._leave_block(at)
        if block.kind == "work":
            self._emit(act.Chime("timer"))
        if self.block + 1 < len(self.blocks):
            self._start_block(self.block + 1, at)
            return
        if step.end_say:
            self._say(step.end_say, "prompt")
        self._finish_step("done", at)

    def _finish_step(self, status: str, now: float) -> None:
        step = self.step
        self._emit(act.StepFinished(self.index, step.id, status))
        self.index += 1
        if self._resume_to is not None:  # the resumed session's safety check is done: back to where it was
            self.index, self._resume_to = max(self.index, self._resume_to), None
        if self.index < len(self.routine.steps):
            self._emit(act.Chime("step"))
        self._enter_step(now)

    def _finish(self) -> None:
        self.blocks = []
        if self.ask_pain:
            self._ask("pain_after", "The routine is complete. How is your back pain now, from zero to ten? "
                                    "Or say skip.")
        else:
            self._close()

    def _close(self) -> None:
        self._say("Session complete. Well done.", "feedback")
        self._end("finished")

    def _speech_done(self, key: str, now: float) -> None:
        self._unfinished.discard(key)
        if key != self.gate or self.paused or (self.question and self.question.kind == "confirm_stop"):
            return
        self.gate = ""
        if self.phase == "ending":
            self.phase = "ended"
            self._emit(act.Ended(self.end_reason))
        elif self.phase == "intro":
            self._run_block(now)

    # ----- commands -----------------------------------------------------------------------------

    def _command(self, command: Command, number: int | None, now: float) -> None:
        if self.phase == "new":
            return
        if self.question and self.question.kind == "confirm_stop":
            self._answer_stop(command, now)
            return
        if command is Command.STOP:
            self._ask_stop(now)
            return
        if command is Command.PAUSE:
            self._pause(now)
            return
        if command is Command.HELP:
            self._help()
            return
        if command in (Command.SLOWER, Command.FASTER):
            self._emit(act.AdjustSpeech(rate=-1 if command is Command.SLOWER else 1))
            self._say("Slower." if command is Command.SLOWER else "Faster.", "feedback")
            return
        if command in (Command.LOUDER, Command.QUIETER):
            self._emit(act.AdjustSpeech(volume=1 if command is Command.LOUDER else -1))
            self._say("Louder." if command is Command.LOUDER else "Quieter.", "feedback")
            return
        if command is Command.TIME_LEFT:
            self._say_time_left(now)
            return
        if command is Command.PROGRESS:
            self._emit(act.ReportProgress())
            return
        if self.paused:  # any command that moves the session on also ends the pause
            wakes = command in (Command.RESUME, Command.READY) or (command is Command.YES and not self.question)
            self._resume(now, announce=wakes)
            if wakes:
                return
        if self.question:
            self._answer(command, number, now)
            return
        if command is Command.RESUME:
            self._say("We are not paused.", "feedback")
        elif command is Command.NEXT or (command in GO_ON and self._step_waits()):
            self._next(now)
        elif command in GO_ON:
            self._say("The timer is running. Say next if you want to move on now.", "feedback")
        elif command is Command.SKIP:
            self._leave_block(now)
            self._finish_step("skipped", now)
        elif command is Command.BACK:
            self._back(now)
        elif command is Command.REPEAT:
            self._repeat(now)
        else:
            self._say("That does not fit here. Say help to hear what you can say.", "feedback")

    def _next(self, now: float) -> None:
        """Move on: to the next side or set of this step if there is one, else to the next step."""
        later = [i for i in range(self.block + 1, len(self.blocks)) if self.blocks[i].kind == "work"]
        self._silence()
        self._leave_block(now)
        if later:
            self._start_block(later[0], now)
        else:
            self._finish_step("done", now)

    def _back(self, now: float) -> None:
        self._silence()
        self._leave_block(now)
        self.index = max(0, self.index - 1)
        self._enter_step(now)

    def _repeat(self, now: float) -> None:
        """Say the instruction again. A running timer keeps running: repeating never adds cold time."""
        if self.phase == "intro":
            self._silence()
            self._start_block(self.block, now)
        elif self.blocks:
            self._say(self.blocks[self.block].intro, "prompt")

    def _pause(self, now: float) -> None:
        self._silence()
        if self.paused:
            self._say("Already paused. Say resume when you are ready.", "feedback")
            return
        self.paused = True
        left = self.timer.freeze(now) if self.phase == "running" and self.timer else None
        self._emit(act.Paused(remaining=left))
        self._say("Paused. Say resume when you are ready.", "feedback")

    def _resume(self, now: float, announce: bool = True) -> None:
        self.paused = False
        left = None
        if self.phase == "running" and self.timer:
            left = self.timer.left
            self.timer.thaw(now)
        self._emit(act.Resumed(remaining=left))
        if not announce:
            return
        if self.phase == "intro":
            self._say("Resuming.", "feedback")
            self._start_block(self.block, now)
        elif self.phase == "question":
            self._say(self.question.text, "question", gate=True)
        elif left is not None:
            self._say(f"Resumed. {seconds_in_words(self.time_left(now))} left.", "feedback")
        elif self._step_waits():
            self._say("Resumed. " + hint("waiting", 1), "feedback")
        else:
            self._say("Resumed.", "feedback")

    def _say_time_left(self, now: float) -> None:
        left = self.time_left(now) if self.phase in ("intro", "running") else None
        if left is None:
            self._say("This step has no timer. Say next when you are ready.", "feedback")
        else:
            self._say(f"{seconds_in_words(left)} left in this step.", "feedback")

    def _help(self) -> None:
        if self.question and self.question.kind in ("pain_before", "pain_after"):
            text = "Say a number from zero to ten for your pain, or skip. You can also say pause or stop."
        elif self.question:
            text = "Please answer yes or no. You can also say pause, repeat or stop."
        elif self.paused:
            text = "We are paused. Say resume to go on, or stop to end the session."
        else:
            text = ("You can say: next, back, pause, resume, repeat, skip, stop, time left, "
                    "slower, faster, louder, quieter, and how am I doing.")
            if self._step_waits():
                text = "Say next or ready when you want to go on. " + text
        self._say(text, "feedback")

    def _ask_stop(self, now: float) -> None:
        self._silence()
        self.before_stop = (self.paused, self.question)
        if self.phase == "running" and self.timer:
            self.timer.freeze(now)
        self.paused = False
        self.question = _Question("confirm_stop", "Do you want to end the session? Say yes or no.")
        self._emit(act.Asked("confirm_stop"))
        self._say(self.question.text, "question")

    def _answer_stop(self, command: Command, now: float) -> None:
        if command is Command.YES or command is Command.STOP:
            self._say("Ending the session. Take care.", "feedback")
            self._end("stopped")
            return
        if command is not Command.NO:
            self._say("Do you want to end the session? Please say yes or no.", "question")
            return
        paused, question = self.before_stop
        self.question = question
        if paused:
            self.paused = True
            self._say("All right, we stay paused. Say resume when you are ready.", "feedback")
            return
        self._say("All right, let's carry on.", "feedback")
        if self.timer:
            self.timer.thaw(now)
        if self.phase == "intro":
            self._start_block(self.block, now)
        elif question:
            self._say(question.text, "question", gate=True)

    def _answer(self, command: Command, number: int | None, now: float) -> None:
        q = self.question
        if command is Command.REPEAT:
            self._silence()
            self._say(q.text, "question", gate=True)
            return
        if command is Command.BACK:
            self._back(now)
            return
        if q.kind in ("pain_before", "pain_after"):
            when = q.kind.split("_")[1]
            if command is Command.NUMBER and number is not None:
                self._ask("confirm_pain", f"{_NUMBER_WORDS[number].capitalize()}. Is that right?",
                          value=number, then=when)
            elif command in (Command.SKIP, Command.NEXT, Command.NO):
                self._emit(act.PainRecorded(when, None))
                self._after_pain(when, now)
            else:
                self._say("Please say a number from zero to ten, or skip.", "question")
            return
        if q.kind == "confirm_pain":
            if command is Command.YES or command is Command.NEXT:
                self._emit(act.PainRecorded(q.then, q.value))
                self._after_pain(q.then, now)
            elif command is Command.NUMBER and number is not None:
                self._ask("confirm_pain", f"{_NUMBER_WORDS[number].capitalize()}. Is that right?",
                          value=number, then=q.then)
            elif command is Command.NO:
                self._ask(f"pain_{q.then}", "Sorry. Please say your pain again, from zero to ten, or skip.")
            elif command is Command.SKIP:
                self._emit(act.PainRecorded(q.then, None))
                self._after_pain(q.then, now)
            else:
                self._say("Please say yes or no.", "question")
            return
        if q.kind == "safety":
            if command is Command.YES:
                self._silence()
                self._say(self.step.stop_say, "prompt")
                self._emit(act.StepFinished(self.index, self.step.id, "done"))
                self._end("red_flag")
            elif command is Command.NO:
                self._say("Good. Let's begin.", "feedback")
                self._finish_step("done", now)
            else:
                self._say("This is a safety question. Please say yes or no.", "question")
            return
        if q.kind == "optional":
            if command in (Command.YES, Command.NEXT):
                self._silence()
                self._enter_step(now, ask_optional=False)
            elif command in (Command.NO, Command.SKIP):
                self._silence()
                self._finish_step("skipped", now)
            else:
                self._say("Please say yes or no.", "question")

    def _after_pain(self, when: str, now: float) -> None:
        self.question = None
        if when == "before":
            self._say("Thank you.", "feedback")
            self._enter_step(now)
        else:
            self._close()

    # ----- a conversation that never stalls --------------------------------------------------------

    def _step_waits(self) -> bool:
        """The current block waits for the person ("Tell me when you are ready")."""
        if self.question or self.phase not in ("waiting", "intro") or not self.blocks:
            return False
        return self.blocks[self.block].kind == "wait"

    def _awaiting(self) -> bool:
        """An answer is due: a question has been asked, or a step waits for "next"."""
        if self.paused or self.phase in ("new", "ending", "ended"):
            return False
        if self.question:
            return self.question.kind == "confirm_stop" or not self.gate
        return self.phase == "waiting" and self.step is not None and self.step.kind != "closing"

    def _nudge_due(self) -> float | None:
        if self._quiet_at is None or not self._awaiting():
            return None
        return self._quiet_at + (self.reprompts.after_s if self._nudges == 0 else self.reprompts.again_s)

    def _hint(self, level: int) -> str:
        q = self.question
        return hint(q.kind if q else "waiting", level, q.value if q else None)

    def _nudge(self, now: float) -> None:
        """Silence after a question or at a waiting step: say what can be said, more briefly each
        time; after the limit, pause (nothing nags a session nobody attends)."""
        self._quiet_at = None
        if self._nudges >= self.reprompts.limit:
            self._give_up(now)
            return
        self._nudges += 1
        self._sorry = False  # the person may answer the reminder with something we do not know
        self._emit(act.Reprompted(self._nudges, self.question.kind if self.question else "waiting"))
        self._say(self._hint(self._nudges), "question" if self.question else "feedback")

    def _not_understood(self, now: float) -> None:
        """Speech that is no command here: "Sorry?" once, with what can be said if an answer is due."""
        if self._sorry:
            return
        self._sorry = True
        if not self._awaiting():
            self._say("Sorry?", "feedback")
            return
        if self._nudges >= self.reprompts.limit:
            self._give_up(now)
            return
        self._nudges += 1
        self._emit(act.Reprompted(self._nudges, self.question.kind if self.question else "waiting"))
        self._say("Sorry? " + self._hint(self._nudges), "question" if self.question else "feedback")

    def _give_up(self, now: float) -> None:
        self._nudges = 0
        if self.question and self.question.kind == "confirm_stop":
            self.question = self.before_stop[1] if self.before_stop else None
        self.paused = True
        left = self.timer.freeze(now) if self.timer else None
        self._emit(act.Paused(remaining=left))
        self._say(GIVE_UP, "feedback")

    def _mic_lost(self, now: float) -> None:
        if self.mic_lost:
            return
        self.mic_lost = True
        if not self.paused and self.phase != "question":
            self._pause(now)
        self._say("I cannot hear the microphone. You can type commands; I will listen again when it is back.",
                  "feedback")

    # The default answer of each question, used by the simulator and for "next" where it is safe.
    @property
    def default_answer(self) -> Command | None:
        if not self.question:
            return None
        return {"safety": Command.NO, "optional": Command.YES, "pain_before": Command.SKIP,
                "pain_after": Command.SKIP, "confirm_pain": Command.YES, "confirm_stop": Command.NO}[self.question.kind]

