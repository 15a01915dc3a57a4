"""History as JSON or CSV: the ``history --json`` contract and the full ``history export``.

JSON times are ISO 8601 with the local offset they were recorded in; skipped ratings are ``null``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from voice_coach.history import schema
from voice_coach.history.records import MissedSession, Note, SessionRecord

FIELDS = (
    "id", "routine", "title", "started", "ended", "end_reason", "steps_done", "steps_skipped",
    "steps_total", "pain_before", "pain_after", "minutes", "pauses",
)


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat(timespec="seconds") if dt is not None else None


def session_dict(r: SessionRecord) -> dict[str, Any]:
    """The stable per-session object (issue 5's ``history --json`` contract, plus a few fields)."""
    return {
        "id": r.id,
        "routine": r.routine,
        "title": r.title,
        "started": _iso(r.started),
        "ended": _iso(r.ended),
        "end_reason": r.end_reason,
        "steps_done": r.steps_done,
        "steps_skipped": r.steps_skipped,
        "steps_total": r.steps_total,
        "pain_before": r.pain_before,
        "pain_after": r.pain_after,
        "minutes": round(r.minutes, 1),
        "pauses": r.pauses,
    }


def sessions_json(records: Sequence[SessionRecord]) -> str:
    return json.dumps([session_dict(r) for r in records], indent=2, ensure_ascii=False) + "\n"


def sessions_csv(records: Sequence[SessionRecord]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in records:
        writer.writerow({k: ("" if v is None else v) for k, v in session_dict(r).items()})
    return buf.getvalue()


def export_json(records: Sequence[SessionRecord], missed: Sequence[MissedSession], notes: Sequence[Note],
                now: datetime) -> str:
    """Everything the history holds, in one self-describing document."""
    doc = {
        "format": "voice-coach-history",
        "version": schema.CURRENT_VERSION,
        "exported": _iso(now),
        "sessions": [session_dict(r) | {"step_ids": list(r.step_ids)} for r in records],
        "notes": [{"session_id": n.session_id, "at": _iso(n.at), "text": n.text} for n in notes],
        "missed": [{"routine": m.routine, "due": _iso(m.due)} for m in missed],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
