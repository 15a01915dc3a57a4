"""Run a whole session instantly on a virtual clock, to check a routine before using it.

Speech takes the time it would take to say it (words at the speaking rate); a step that waits for
"next" moves on as soon as it has been said, and a question takes its default answer, unless the
scripted commands say otherwise. Chimes take no time here. Besides the commands a script can hold
``silence`` (no answer at the next prompt: the coach's re-prompt shows) and ``mumble`` (speech that
is no command: "Sorry?").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from voice_coach.errors import UserError
from voice_coach.routines import Routine, parse_duration
from voice_coach.session import actions as act
from voice_coach.session import events as ev
from voice_coach.session.commands import Command
from voice_coach.session.engine import SessionEngine
from voice_coach.session.reprompt import Reprompts
from voice_coach.vocabulary import vocabulary

PAUSE_AFTER_SPEECH_S = 0.3  # the small gap a speaker leaves between sentences
MAX_STEPS = 100_000


def speech_seconds(text: str, rate_wpm: int) -> float:
    """How long saying ``text`` takes at ``rate_wpm`` words per minute, plus a short gap."""
    words = len(re.findall(r"\w+", text))
    return round(words * 60.0 / rate_wpm + PAUSE_AFTER_SPEECH_S, 3)


@dataclass(frozen=True)
class ScriptedCommand:
    """A command in a simulation script: at a session time, or (``at`` None) at the next prompt."""

    command: Command | None
    number: int | None = None
    at: float | None = None
    event: str = ""  # "silence" or "mumble" instead of a command


SCRIPT_EVENTS = ("silence", "mumble")


def _event(c: ScriptedCommand) -> ev.Event:
    return ev.NotUnderstood() if c.event == "mumble" else ev.Heard(c.command, c.number)


def parse_script(spec: str, language: str = "en") -> list[ScriptedCommand]:
    """Parse "90s pause, 120s resume, next, 6" into scripted commands; times are session seconds."""
    vocab = vocabulary(language)
    out: list[ScriptedCommand] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        at = None
        first, _, rest = part.partition(" ")
        if rest and re.fullmatch(r"[\d.]+(h|m|min|s)?([\d.]+(m|s))*", first.lower()):
            try:
                at = parse_duration(first)
            except ValueError:
                at = None
            else:
                part = rest.strip()
        if part.lower() in SCRIPT_EVENTS:
            out.append(ScriptedCommand(None, None, at, part.lower()))
            continue
        parsed = vocab.parse(part)
        if parsed is None:
            raise UserError(f"--commands: {part!r} is not a command; write e.g. \"90s pause, 120s resume, next, 6\" "
                            f"(or {' / '.join(SCRIPT_EVENTS)})")
        out.append(ScriptedCommand(parsed[0], parsed[1], at))
    return out


def simulate(routine: Routine, script: list[ScriptedCommand] | None = None, *, rate_wpm: int = 165,
             ask_pain: bool = True, speech_time: Callable[[str], float] | None = None,
             reprompts: Reprompts = Reprompts()) -> list[dict]:
    """The session's timeline: one dict per engine action, each with ``t`` (session seconds).

    ``speech_time`` replaces the words-per-minute estimate of how long a text takes to say.
    """
    speech_time = speech_time or (lambda text: speech_seconds(text, rate_wpm))
    engine = SessionEngine(routine, ask_pain=ask_pain, reprompts=reprompts)
    timed = sorted((c for c in script or [] if c.at is not None), key=lambda c: c.at)
    untimed = [c for c in script or [] if c.at is None]
    timeline: list[dict] = []
    speaking: list[tuple[float, str]] = []  # (end time, key) of queued utterances, in order
    busy_until = 0.0
    now = 0.0
    holding = False  # a scripted silence: let the engine's next deadline (its re-prompt) come

    def perform(actions: list[act.Action]) -> None:
        nonlocal busy_until
        for action in actions:
            timeline.append({"t": round(now, 3), **action.to_json()})
            if isinstance(action, act.StopSpeaking):
                for i, (_, key) in enumerate(speaking):
                    speaking[i] = (now, key)
                busy_until = now
            elif isinstance(action, act.Say):
                busy_until = max(now, busy_until) + speech_time(action.text)
                speaking.append((busy_until, action.key))

    perform(engine.handle(ev.Start(), now))
    for _ in range(MAX_STEPS):
        if engine.ended:
            return timeline
        if speaking and speaking[0][0] <= now:
            perform(engine.handle(ev.SpeechDone(speaking.pop(0)[1]), now))
            continue
        deadline = engine.next_deadline()
        if deadline is not None and deadline <= now:
            holding = False
            perform(engine.handle(ev.Tick(), now))
            continue
        if timed and timed[0].at <= now:
            c = timed.pop(0)
            if c.event != "silence":
                perform(engine.handle(_event(c), now))
            continue
        if not speaking and not holding and _waits_for_input(engine, bool(timed)):
            if untimed:
                c = untimed.pop(0)
                holding = c.event == "silence"
                if not holding:
                    perform(engine.handle(_event(c), now))
            else:
                default = Command.RESUME if engine.paused else engine.default_answer or Command.NEXT
                perform(engine.handle(ev.Heard(default), now))
            continue
        upcoming = [t for t in (speaking[0][0] if speaking else None, deadline,
                                timed[0].at if timed else None) if t is not None]
        if not upcoming:
            raise RuntimeError(f"the simulated session is stuck in phase {engine.phase!r}")
        now = min(upcoming)
    raise RuntimeError("the simulated session did not end")


def _waits_for_input(engine: SessionEngine, more_timed: bool) -> bool:
    if engine.paused:
        return not more_timed  # a paused session waits for its scripted resume, if there is one
    return engine.phase == "waiting" or engine.question is not None


def prompts(routine: Routine, *, ask_pain: bool = True) -> list[str]:
    """The distinct texts a session of ``routine`` says, in the order it first says them.

    From a simulated run with the default answers, plus each safety step's stop message: what the
    speaker prerenders at session start, so that the coach's words start at once.
    """
    seen: dict[str, None] = {}
    for action in simulate(routine, ask_pain=ask_pain):
        if action["type"] == act.Say.type:
            seen.setdefault(action["text"], None)
    for step in routine.steps:
        if step.stop_say:
            seen.setdefault(step.stop_say, None)
    return list(seen)
