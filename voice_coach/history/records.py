"""What the history hands out: frozen, plain records that the pure progress code and reports read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class SessionRecord:
    """One session as recorded so far (``ended`` is ``None`` while running or after a crash).

    ``current_index``/``current_step_id`` are the last step that was started (0-based), which is where
    an interrupted session resumes. ``minutes`` counts active time only: pauses are left out, and for a
    session that never ended the time after its last record is left out too.
    """

    id: int
    routine: str
    title: str
    started: datetime
    ended: datetime | None
    end_reason: str | None
    steps_done: int
    steps_skipped: int
    steps_total: int
    current_index: int | None
    current_step_id: str | None
    pain_before: int | None
    pain_after: int | None
    minutes: float
    pauses: int = 0
    last_activity: datetime | None = None
    step_ids: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())
    resume_index: int | None = None  # where to pick up: the current step, or the next if it was finished

    @property
    def completed(self) -> bool:
        return self.end_reason == "finished"


@dataclass(frozen=True)
class MissedSession:
    """A scheduled session that did not happen (recorded by the scheduler)."""

    routine: str
    due: datetime


@dataclass(frozen=True)
class Note:
    """A free-text note, e.g. "left hip sore after rolling"; ``session_id`` may be ``None``."""

    session_id: int | None
    at: datetime
    text: str
