"""What comes out of the session engine: things for the edges (speaker, history, screen) to do.

``to_json()`` gives the public event-stream form (``type`` plus fields); the runner adds ``t``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Action:
    type = "action"

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, **dataclasses.asdict(self)}


@dataclass(frozen=True)
class Say(Action):
    """Speak ``text``. ``key`` comes back in a SpeechDone event when it has really finished."""

    text: str
    key: str
    kind: str = "prompt"  # prompt | cue | question | feedback
    type = "say"


@dataclass(frozen=True)
class StopSpeaking(Action):
    """Silence now: cut the current utterance and drop the queued ones (each still gets SpeechDone)."""

    type = "stop_speaking"


@dataclass(frozen=True)
class Chime(Action):
    kind: str = "step"  # step | timer | command | alert
    type = "chime"


@dataclass(frozen=True)
class StepStarted(Action):
    index: int
    id: str
    title: str
    total: int
    type = "step"


@dataclass(frozen=True)
class StepFinished(Action):
    index: int
    id: str
    status: str  # done | skipped
    type = "step_done"


@dataclass(frozen=True)
class CueFired(Action):
    text: str
    step_id: str
    type = "cue"


@dataclass(frozen=True)
class Paused(Action):
    remaining: float | None = None  # seconds left on the running timer, if any
    type = "paused"


@dataclass(frozen=True)
class Resumed(Action):
    remaining: float | None = None
    type = "resumed"


@dataclass(frozen=True)
class Asked(Action):
    question: str  # safety | optional | pain_before | pain_after | confirm_pain | confirm_stop
    type = "question"


@dataclass(frozen=True)
class Reprompted(Action):
    """Nobody answered (or what was said was no answer): the coach reminds what can be said."""

    count: int  # 1 for the first reminder since the person last said something understood
    waiting_for: str  # the question kind, or "waiting" for a step that waits for "next"
    type = "reprompt"


@dataclass(frozen=True)
class PainRecorded(Action):
    when: str  # before | after
    value: int | None  # None = skipped
    type = "pain"


@dataclass(frozen=True)
class AdjustSpeech(Action):
    rate: int = 0  # -1 slower, +1 faster
    volume: int = 0  # -1 quieter, +1 louder
    type = "adjust_speech"


@dataclass(frozen=True)
class ReportProgress(Action):
    """The person asked "how am I doing?": the edge that holds the history answers."""

    type = "progress"


@dataclass(frozen=True)
class Spoken(Action):
    """Reported by a voice front end: the utterance ``key`` really finished playing (or was cut)."""

    key: str
    completed: bool = True
    type = "spoken"


@dataclass(frozen=True)
class Ended(Action):
    reason: str  # finished | stopped | red_flag
    type = "end"
