"""Interval plans (ice and foam-rolling rounds) and the safety rules they must keep.

Pure: no scheduler, no clock. Round times are counted in real (UTC) time, as the interval trigger
fires them: "every 60m for 4h" is four rounds an hour apart even across a daylight-saving change,
where wall-clock arithmetic on aware datetimes would promise rounds the trigger never fires.

The limits come from the care notes (cold therapy: 10-20 minutes per application, never more than
20, at most about once an hour; do not roll on the lumbar spine). A plan that breaks a rule is
refused with the reason, before anything is stored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from voice_coach.errors import UserError
from voice_coach.routines.model import ICE_LIMIT_S
from voice_coach.schedule.parse import format_span

KINDS = ("ice", "roll")

ICE_MIN_MINUTES = 10
ICE_MAX_MINUTES = ICE_LIMIT_S // 60  # 20: never longer, whatever the routine files say
ICE_MIN_SPACING = timedelta(minutes=60)  # start to start: "at most about once an hour"
ROLL_MAX_MINUTES = 20
MAX_SPAN = timedelta(hours=24)  # a plan is one stretch of a day, not a standing order
DEFAULT_REGION = {"ice": "lower back", "roll": "upper back and hips"}
DEFAULT_MINUTES = {"ice": 10, "roll": 5}
_LUMBAR_WORDS = ("lower back", "lumbar", "low back", "spine")


@dataclass(frozen=True)
class IntervalPlan:
    """Rounds of ``minutes`` every ``every`` from ``start``; the last round ends within ``span``."""

    kind: str
    start: datetime  # timezone-aware
    every: timedelta
    span: timedelta
    minutes: int
    region: str

    def _at(self, elapsed: timedelta) -> datetime:
        """``elapsed`` real time after the start, on the start's wall clock."""
        return (self.start.astimezone(timezone.utc) + elapsed).astimezone(self.start.tzinfo)

    @property
    def end(self) -> datetime:
        return self._at(self.span)

    @property
    def last_round(self) -> datetime:
        """The last round that still ends inside the plan's span."""
        count = math.floor((self.span - timedelta(minutes=self.minutes)) / self.every)  # -1: no round fits
        return self._at(count * self.every)

    def rounds(self) -> list[datetime]:
        count = math.floor((self.span - timedelta(minutes=self.minutes)) / self.every) + 1
        return [self._at(k * self.every) for k in range(max(0, count))]

    def to_payload(self) -> dict[str, Any]:
        """What is stored with the job (plain types: the job store pickles it)."""
        return {
            "kind": self.kind, "region": self.region, "minutes": self.minutes,
            "every_s": int(self.every.total_seconds()), "span_s": int(self.span.total_seconds()),
            "start": self.start.isoformat(),
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> IntervalPlan:
        return cls(kind=payload["kind"], start=datetime.fromisoformat(payload["start"]),
                   every=timedelta(seconds=payload["every_s"]), span=timedelta(seconds=payload["span_s"]),
                   minutes=int(payload["minutes"]), region=payload["region"])

    def describe(self) -> str:
        return (f"{self.kind} {self.region}: {self.minutes} min every {format_span(self.every)} "
                f"for {format_span(self.span)}")


def check_plan(plan: IntervalPlan) -> None:
    """Refuse a plan that breaks a care rule; the message says which one and why."""
    if plan.kind not in KINDS:
        raise UserError(f"unknown plan kind '{plan.kind}'; use one of {', '.join(KINDS)}")
    if plan.start.tzinfo is None:
        raise ValueError("an interval plan needs a timezone-aware start")
    if plan.span > MAX_SPAN:
        raise UserError(f"--for {format_span(plan.span)} is too long; a plan covers at most {format_span(MAX_SPAN)}")
    if plan.kind == "ice":
        if not ICE_MIN_MINUTES <= plan.minutes <= ICE_MAX_MINUTES:
            raise UserError(f"an ice round lasts {ICE_MIN_MINUTES} to {ICE_MAX_MINUTES} minutes (got {plan.minutes}); "
                            "longer cold risks skin and nerve damage, shorter does little")
        if plan.every < ICE_MIN_SPACING:
            raise UserError(f"ice every {format_span(plan.every)} is too often: ice at most about once an hour "
                            f"(--every 60m or more) so the skin can warm up between rounds")
    else:
        if not 1 <= plan.minutes <= ROLL_MAX_MINUTES:
            raise UserError(f"a rolling round lasts 1 to {ROLL_MAX_MINUTES} minutes (got {plan.minutes}); "
                            "30 to 120 seconds per area is enough")
        if plan.every <= timedelta(minutes=plan.minutes):
            raise UserError(f"--every {format_span(plan.every)} is not longer than one {plan.minutes}-minute round; "
                            "rounds would run into each other")
        region = plan.region.lower()
        if any(word in region for word in _LUMBAR_WORDS):
            raise UserError(f"do not foam-roll the {plan.region}: rolling directly on the lower spine is not advised. "
                            "Roll the upper back, glutes, hamstrings, hip flexors or calves instead")
    if not plan.rounds():
        raise UserError(f"--for {format_span(plan.span)} is shorter than one {plan.minutes}-minute round")


def check_no_clash(plan: IntervalPlan, existing: Iterable[IntervalPlan]) -> None:
    """Refuse a plan whose rounds would come too close to another plan of the same kind.

    Ice: every pair of rounds across plans must start at least an hour apart (the same rule as
    within one plan). Rolling: rounds of two plans must not overlap in time.
    """
    mine = plan.rounds()
    for other in existing:
        if other.kind != plan.kind:
            continue
        gap = ICE_MIN_SPACING if plan.kind == "ice" else None
        for a in mine:
            for b in other.rounds():
                apart = abs(a - b)
                too_close = apart < gap if gap else apart < timedelta(minutes=max(plan.minutes, other.minutes))
                if too_close:
                    local_b = b.astimezone(plan.start.tzinfo).strftime("%a %H:%M")
                    local_a = a.astimezone(plan.start.tzinfo).strftime("%a %H:%M")
                    why = ("ice at most about once an hour" if plan.kind == "ice"
                           else "two rolling rounds would overlap")
                    raise UserError(f"this plan overlaps an existing {plan.kind} plan ({other.describe()}): "
                                    f"a round at {local_a} is only {format_span(apart) if apart else '0m'} from "
                                    f"one at {local_b} ({why}). Remove the other plan first "
                                    "('voice-coach schedule list' shows its id)")
