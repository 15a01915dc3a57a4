"""What a routine is, once loaded and checked: frozen data the session engine can trust."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

STEP_KINDS = ("instruction", "safety", "ice", "heat", "massage", "roll", "stretch", "rest", "closing")
AUDIENCES = ("self", "partner")

# A safety rule, not a style: one cold application never runs longer than this (care-content.md).
ICE_LIMIT_S = 20 * 60


@dataclass(frozen=True)
class Cue:
    """Something said during a timed block, at offsets (seconds) from the block's start."""

    offsets: tuple[float, ...]
    say: str


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    say: str
    kind: str = "instruction"
    who: str = "self"  # who does the work: "self" or "partner"
    duration: float | None = None  # seconds of one timed block; None = waits for "next"
    sides: tuple[str, ...] = ()  # e.g. ("left", "right"): the block runs once per side
    switch_say: str = "Now switch to the {side} side."
    sets: int = 1  # repetitions of the block, per side
    rest: float = 0.0  # seconds of rest between sets
    rest_say: str = "Rest."
    set_say: str = "Set {set} of {sets}. Begin."
    end_say: str = ""  # said when the step's time is up
    optional: bool = False  # asks first; "no" leaves it out
    ask: str = ""  # the question for an optional step
    stop_say: str = ""  # safety steps: said (and the session ends) when the answer is yes
    cues: tuple[Cue, ...] = ()
    ice_say: str = ""  # added to ``say`` only when ice was used in this session (advice about icing again)

    @property
    def timed(self) -> bool:
        return self.duration is not None

    @property
    def question(self) -> str:
        if self.kind == "safety":
            return self.say
        return self.ask or f"Would you like to do {self.title.lower()}? Say yes or no."

    @property
    def total_seconds(self) -> float:
        """Timer time of the whole step (every side, set and rest), not counting speech."""
        if self.duration is None:
            return 0.0
        per_side = self.sets * self.duration + (self.sets - 1) * self.rest
        return per_side * max(1, len(self.sides))

    @property
    def moments(self) -> int:
        """How many things the coach says or times in this step: its work for the engine.

        The loader bounds the sum over a routine so every accepted routine runs (and simulates)
        to its end in bounded time and memory.
        """
        if self.duration is None:
            return 2  # the instruction (or question) and its answer
        blocks = self.sets * max(1, len(self.sides))
        per_block = 2 + sum(len(c.offsets) for c in self.cues)  # start/end speech and the cues
        return 2 + blocks * per_block


@dataclass(frozen=True)
class Routine:
    id: str
    title: str
    description: str
    steps: tuple[Step, ...]
    audience: str = "self"
    tools: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    minutes: float = 0.0  # the author's estimate of the length
    sources: tuple[str, ...] = ()
    path: Path | None = field(default=None, compare=False)
    builtin: bool = False

    def step_index(self, step_id: str) -> int:
        for i, step in enumerate(self.steps):
            if step.id == step_id:
                return i
        raise KeyError(step_id)
