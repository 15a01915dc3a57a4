"""Generated session histories for the history tests, with the expected numbers worked out from the plan.

The expectations come from the generator's own plan (step durations, pause lengths, ratings), never
from the code under test. Imported by the unit and integration history tests; it holds no tests.
"""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

SUMMER = timezone(timedelta(hours=2))
WINTER = timezone(timedelta(hours=1))
ROUTINES = (("massager-back", "Massager for the back", 6), ("ice-rollerball", "Ice rollerball", 4))


@dataclass
class Planned:
    started: datetime
    routine: str
    title: str
    steps_total: int
    step_minutes: list[int]  # active minutes of each step that was reached
    statuses: list[str]  # "done" / "skipped" for each step reached
    pauses: list[tuple[int, int]]  # (after step index, minutes paused)
    pain_before: int | None
    pain_after: int | None
    end_reason: str
    notes: list[str] = field(default_factory=list)

    @property
    def active_minutes(self) -> float:
        return float(sum(self.step_minutes))

    @property
    def ended(self) -> datetime:
        return self.started + timedelta(minutes=sum(self.step_minutes) + sum(p for _, p in self.pauses))

    @property
    def done(self) -> int:
        return self.statuses.count("done")

    @property
    def skipped(self) -> int:
        return self.statuses.count("skipped")


def generate(end_day: date, months: int = 4, seed: int = 7, level=lambda i, n: 6.0) -> list[Planned]:
    """About ``months`` of sessions ending on ``end_day``: skipped days, a two-week gap, missing ratings,
    pauses, skipped steps, stopped sessions, and both summer and winter UTC offsets."""
    rng = random.Random(seed)
    days = months * 30
    first = end_day - timedelta(days=days)
    plan: list[Planned] = []
    gap = range(days // 3, days // 3 + 14)
    for i in range(days + 1):
        if i in gap or rng.random() < 0.35:
            continue
        day = first + timedelta(days=i)
        tz = SUMMER if 4 <= day.month <= 9 else WINTER
        start = datetime(day.year, day.month, day.day, rng.randint(7, 20), rng.randint(0, 59), rng.randint(0, 59), tzinfo=tz)
        routine, title, total = ROUTINES[rng.randrange(len(ROUTINES))]
        reached = total if rng.random() < 0.85 else rng.randint(1, total - 1)
        statuses = ["skipped" if rng.random() < 0.1 else "done" for _ in range(reached)]
        pauses = [(k, rng.randint(1, 9)) for k in range(reached - 1) if rng.random() < 0.15]
        base = level(i, days)
        before = None if rng.random() < 0.2 else max(0, min(10, round(base + rng.choice((-1, 0, 0, 1)))))
        after = None if rng.random() < 0.25 else max(0, min(10, round(base - 2 + rng.choice((-1, 0, 1)))))
        plan.append(Planned(
            started=start, routine=routine, title=title, steps_total=total,
            step_minutes=[rng.randint(1, 5) for _ in range(reached)], statuses=statuses, pauses=pauses,
            pain_before=before, pain_after=after,
            end_reason="finished" if reached == total else "stopped",
            notes=["left hip sore"] if rng.random() < 0.08 else [],
        ))
    return plan


def write(store, plan: list[Planned]) -> list[int]:
    """Record the plan through the public store API, the way the runner does as a session goes."""
    ids = []
    for p in plan:
        step_ids = [f"{p.routine}-{k}" for k in range(p.steps_total)]
        sid = store.begin(p.routine, p.title, p.steps_total, p.started, step_ids)
        ids.append(sid)
        store.pain(sid, "before", p.pain_before, p.started)
        t = p.started
        pauses = dict(p.pauses)
        for k, (minutes, status) in enumerate(zip(p.step_minutes, p.statuses)):
            store.step(sid, k, step_ids[k], "started", t)
            t += timedelta(minutes=minutes)
            store.step(sid, k, step_ids[k], status, t)
            if k in pauses:
                store.pause(sid, t)
                t += timedelta(minutes=pauses[k])
                store.resume(sid, t)
        for text in p.notes:
            store.note(sid, text, t)
        store.pain(sid, "after", p.pain_after, t)
        store.end(sid, p.end_reason, t)
    return ids


def expected_weeks(plan: list[Planned]) -> dict[tuple[int, int], dict]:
    """ISO (year, week) of the local start date -> sessions, minutes, mean ratings (skips left out)."""
    out: dict[tuple[int, int], dict] = {}
    for p in plan:
        iso = p.started.date().isocalendar()
        w = out.setdefault((iso.year, iso.week), {"sessions": 0, "minutes": 0.0, "before": [], "after": []})
        w["sessions"] += 1
        w["minutes"] += p.active_minutes
        if p.pain_before is not None:
            w["before"].append(p.pain_before)
        if p.pain_after is not None:
            w["after"].append(p.pain_after)
    for w in out.values():
        w["before"] = statistics.mean(w["before"]) if w["before"] else None
        w["after"] = statistics.mean(w["after"]) if w["after"] else None
    return out
