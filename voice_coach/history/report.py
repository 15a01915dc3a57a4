"""A one-page progress summary a person can print or send: PNG, PDF (matplotlib) or HTML.

All numbers come from :func:`build_report_data`, a pure function, so the page and the tests read the
same figures. matplotlib is a dependency (it runs on a Raspberry Pi with the Agg renderer: no display
needed); should it be missing, HTML still works, just without the chart.

The page is for a clinician as much as for the person: the chart's window is fitted to the data
(not a mostly empty 90 days), the trend is said in words ("rising ... higher is worse"), weekly
averages show a course that one straight line would hide, and a table lists the weekly ratings.
"""

from __future__ import annotations

import html
import io
import logging
import os
import tempfile
import textwrap
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from voice_coach.errors import UserError
from voice_coach.history import progress
from voice_coach.history.records import MissedSession, Note, SessionRecord
from voice_coach.wording import plural

log = logging.getLogger(__name__)

FORMATS = {".png": "png", ".pdf": "pdf", ".html": "html", ".htm": "html"}
INSTALL_HINT = "pip install matplotlib"  # a dependency of voice-coach; only a damaged install lacks it
BEFORE_COLOR = "#d62728"  # red: pain as the person arrives
AFTER_COLOR = "#1f77b4"  # blue: pain after the session
MINUTES_COLOR = "#2ca02c"
WEEKLY_COLOR = "#7f0000"  # dark red: the weekly average of the "before" ratings
MAX_LISTED = 8  # missed sessions / notes listed by date on the page; the rest are counted
MAX_TABLE_WEEKS = 14  # rows of the ratings table on the PNG/PDF page (the HTML lists every week)
MIN_SPAN_DAYS = 7  # the chart shows at least a week, even for one day of data


@dataclass(frozen=True)
class RatingsWeek:
    """One row of the ratings table: a calendar week's "before" and "after" ratings."""

    start: date
    sessions: int
    rated: int
    before: float | None
    before_low: int | None
    before_high: int | None
    after: float | None
    relief: float | None  # mean of before - after, over sessions rated both times


@dataclass(frozen=True)
class RoutineUse:
    routine: str
    title: str
    sessions: int
    minutes: float
    regions: tuple[str, ...]


@dataclass(frozen=True)
class ReportData:
    since: datetime | None
    now: datetime
    sessions: int
    completed: int
    minutes: float
    pain_before: float | None
    pain_after: float | None
    days: list[progress.DayStats]
    weeks: list[progress.WeekStats]
    trend: progress.Trend | None
    routines: list[RoutineUse]
    regions: list[tuple[str, int]]  # region -> sessions that worked on it
    missed: list[MissedSession]
    notes: list[tuple[datetime, str]]
    advice: str | None
    ratings: list[RatingsWeek]
    span: tuple[date, date] | None  # the chart's window: the first data day to today
    trend_text: str | None
    course: str | None

    @property
    def first_day(self) -> date | None:
        return self.since.date() if self.since else (self.days[0].day if self.days else None)


def ratings_weeks(records: Sequence[SessionRecord]) -> list[RatingsWeek]:
    groups: dict[date, list[SessionRecord]] = {}
    for r in records:
        groups.setdefault(progress.week_start(progress.local_day(r)), []).append(r)
    rows = []
    for start, rs in sorted(groups.items()):
        before = [r.pain_before for r in rs if r.pain_before is not None]
        both = [r.pain_before - r.pain_after for r in rs if r.pain_before is not None and r.pain_after is not None]
        rows.append(RatingsWeek(
            start=start, sessions=len(rs), rated=len(before), before=progress._mean(before),
            before_low=min(before, default=None), before_high=max(before, default=None),
            after=progress._mean(r.pain_after for r in rs), relief=progress._mean(both),
        ))
    return rows


def _span(shown: Sequence[SessionRecord], missed: Sequence[MissedSession], now: datetime) -> tuple[date, date] | None:
    days = [progress.local_day(r) for r in shown] + [m.due.date() for m in missed]
    if not days:
        return None
    end = max(now.date(), max(days))
    return min(min(days), end - timedelta(days=MIN_SPAN_DAYS - 1)), end


def routine_regions() -> dict[str, tuple[str, ...]]:
    """routine id -> body regions, from the routine library when it is there (never fails the report)."""
    try:
        from voice_coach import routines as library

        load_all = getattr(library, "load_all", None)
        if load_all is None:
            return {}
        found = load_all()
        items = found.values() if isinstance(found, Mapping) else found
        out: dict[str, tuple[str, ...]] = {}
        for routine in items:
            rid, regions = getattr(routine, "id", None), getattr(routine, "regions", None)
            if isinstance(rid, str) and regions:
                out[rid] = tuple(str(r) for r in regions)
        return out
    except Exception as exc:  # a broken user routine file must not stop the report
        log.info("routine regions not available for the report: %s", exc)
        return {}


def build_report_data(
    records: Sequence[SessionRecord],
    missed: Sequence[MissedSession],
    since: datetime | None,
    now: datetime,
    regions: Mapping[str, Sequence[str]] | None = None,
    notes: Sequence[Note] | None = None,
) -> ReportData:
    """The report's figures. ``records`` may reach further back than ``since`` (the advice rule looks at
    the last four weeks); only sessions in [since, now] are summarised."""
    shown = [r for r in records if (since is None or r.started >= since) and r.started <= now]
    regions = regions if regions is not None else routine_regions()
    per_routine: dict[str, list[SessionRecord]] = {}
    for r in shown:
        per_routine.setdefault(r.routine, []).append(r)
    uses = sorted(
        (
            RoutineUse(rid, rs[-1].title, len(rs), sum(r.minutes for r in rs), tuple(regions.get(rid, ())))
            for rid, rs in per_routine.items()
        ),
        key=lambda u: (-u.sessions, u.routine),
    )
    region_count: Counter[str] = Counter()
    for u in uses:
        for region in u.regions:
            region_count[region] += u.sessions
    if notes is None:
        note_list = [(r.started, text) for r in shown for text in r.notes]
    else:
        note_list = [(n.at, n.text) for n in notes if (since is None or n.at >= since) and n.at <= now]
    shown_missed = [m for m in missed if (since is None or m.due >= since) and m.due <= now]
    weeks = progress.weekly(shown, fill=True)
    fitted = progress.trend(shown)
    return ReportData(
        since=since,
        now=now,
        sessions=len(shown),
        completed=sum(1 for r in shown if r.completed),
        minutes=sum(r.minutes for r in shown),
        pain_before=progress._mean(r.pain_before for r in shown),
        pain_after=progress._mean(r.pain_after for r in shown),
        days=progress.daily(shown),
        weeks=weeks,
        trend=fitted,
        routines=uses,
        regions=region_count.most_common(),
        missed=shown_missed,
        notes=sorted(note_list),
        advice=progress.ADVICE_TEXT if progress.advice_due(records, now) else None,
        ratings=ratings_weeks(shown),
        span=_span(shown, shown_missed, now),
        trend_text=progress.trend_words(fitted),
        course=progress.course_sentence(weeks),
    )


def write_report(
    records: Sequence[SessionRecord],
    missed: Sequence[MissedSession],
    out: Path,
    since: datetime | None,
    now: datetime,
    regions: Mapping[str, Sequence[str]] | None = None,
    notes: Sequence[Note] | None = None,
) -> ReportData:
    """Write the page as PNG, PDF or HTML (by ``out``'s suffix), atomically. Returns its figures."""
    out = Path(out)
    kind = FORMATS.get(out.suffix.lower())
    if kind is None:
        raise UserError(f"Cannot write a report as '{out.suffix or out.name}'; use a file ending in .png, .pdf or .html")
    if not out.parent.is_dir():
        raise UserError(f"The folder {out.parent} does not exist")
    data = build_report_data(records, missed, since, now, regions, notes)
    if kind == "html":
        payload = _html(data).encode("utf-8")
    else:
        fig = _page_figure(data, _require_matplotlib())
        buf = io.BytesIO()
        fig.savefig(buf, format=kind, dpi=150, metadata=_metadata(kind))
        payload = buf.getvalue()
    _atomic_write(out, payload)
    return data


# ---- helpers -----------------------------------------------------------------------------------


def _require_matplotlib() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        from matplotlib.figure import Figure
    except ImportError:
        raise UserError(
            f"PNG and PDF reports need matplotlib: {INSTALL_HINT} (or write an .html report, which needs nothing)"
        ) from None
    return Figure


def _metadata(kind: str) -> dict[str, str]:
    title = "voice-coach progress report"
    return {"Title": title} if kind == "pdf" else {"Title": title, "Software": "voice-coach"}


def _atomic_write(out: Path, payload: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fmt(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _day(d: date | datetime) -> str:
    return f"{d.day} {d:%b %Y}"


def _period(data: ReportData) -> str:
    """The days the data cover (the chart's window), not an emptier period that was asked for."""
    if data.span is not None:
        return f"{_day(data.span[0])} – {_day(data.span[1])}"
    first = data.first_day
    return f"{_day(first)} – {_day(data.now)}" if first else f"up to {_day(data.now)}"


def _headline(data: ReportData) -> str:
    return (
        f"{plural(data.sessions, 'session')} ({data.completed} completed) · {fmt(data.minutes / 60)} hours of care · "
        f"average pain before {fmt(data.pain_before)}, after {fmt(data.pain_after)} (0 = none, 10 = worst)"
    )


def _trend_line(data: ReportData) -> str:
    if data.trend_text is None:
        return "Trend: too few ratings for a trend yet."
    return f"Trend of the ratings before sessions: {data.trend_text}."


def _ratings_cells(w: RatingsWeek) -> list[str]:
    spread = "–" if w.before_low is None else (f"{w.before_low}" if w.before_low == w.before_high
                                               else f"{w.before_low}–{w.before_high}")
    relief = "–" if w.relief is None else f"{w.relief:.1f}"
    return [_day(w.start), str(w.sessions), str(w.rated), fmt(w.before), spread, fmt(w.after), relief]


RATINGS_HEADER = ["week of", "sessions", "rated", "pain before", "range", "pain after", "relief"]


def _chart_axes(data: ReportData, ax_pain: Any, ax_min: Any) -> None:
    """Pain before/after per day with the trend line; minutes per week."""
    days = data.days
    if days:
        for attr, color, label in (("pain_before", BEFORE_COLOR, "before"), ("pain_after", AFTER_COLOR, "after")):
            pts = [(d.day, getattr(d, attr)) for d in days if getattr(d, attr) is not None]
            if pts:
                ax_pain.plot([p[0] for p in pts], [p[1] for p in pts], "o-", color=color, ms=3.5, lw=1,
                             alpha=0.6, label=f"pain {label}")
        weekly = [(w.start + timedelta(days=3), w.pain_before) for w in data.weeks]
        if sum(1 for _, v in weekly if v is not None) > 1:  # the course week by week: a turn stays visible
            ax_pain.plot([p[0] for p in weekly], [float("nan") if p[1] is None else p[1] for p in weekly], "-",
                         color=WEEKLY_COLOR, lw=2.5, label="weekly average before")  # NaN: a gap, no line
        if data.trend is not None:
            span = [days[0].day, days[-1].day]
            ax_pain.plot(span, [data.trend.value(d) for d in span], "--", color="black", lw=1.2,
                         label=f"straight-line fit ({data.trend.per_week:+.2f}/week; up = worse)")
        ax_pain.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False, ncol=2)
    else:
        ax_pain.text(0.5, 0.5, "no sessions in this period", ha="center", va="center", transform=ax_pain.transAxes)
    ax_pain.set_ylim(-0.3, 10.5)
    ax_pain.set_ylabel("pain (0–10)")
    ax_pain.set_title("Pain before and after sessions, per day", fontsize=10, loc="left")
    ax_pain.grid(alpha=0.3)

    weeks = data.weeks
    if weeks:
        ax_min.bar([w.start for w in weeks], [w.minutes for w in weeks], width=5, align="edge", color=MINUTES_COLOR)
    ax_min.set_ylabel("minutes")
    ax_min.set_title("Minutes of care per week", fontsize=10, loc="left")
    ax_min.grid(axis="y", alpha=0.3)
    for ax in (ax_pain, ax_min):
        ax.tick_params(labelsize=7)
        if data.span is not None:  # fitted to the data, not to the requested period
            ax.set_xlim(data.span[0] - timedelta(days=1), data.span[1] + timedelta(days=1))


def _lines(data: ReportData) -> tuple[list[str], list[str]]:
    left = ["Routines"]
    for u in data.routines[:6]:
        left.append(f"  {u.title} — {plural(u.sessions, 'session')}, {u.minutes:.0f} min")
    if not data.routines:
        left.append("  none")
    left.append("Body regions")
    left.append("  " + (", ".join(f"{r} ({n})" for r, n in data.regions[:8]) if data.regions else "not recorded"))
    left.append(f"Missed scheduled sessions: {len(data.missed)}")
    for m in data.missed[-MAX_LISTED // 2:]:
        left.append(f"  {_day(m.due)} {m.due:%H:%M} {m.routine}")
    right = ["Notes"]
    for at, text in data.notes[-MAX_LISTED:]:
        short = text if len(text) <= 60 else text[:57] + "..."
        right.append(f"  {_day(at)}: {short}")
    if not data.notes:
        right.append("  none")
    return left, right


def _ratings_table(data: ReportData, ax: Any) -> None:
    ax.axis("off")
    rows = data.ratings[-MAX_TABLE_WEEKS:]
    earlier = len(data.ratings) - len(rows)
    title = "Pain ratings by week (0 = none, 10 = worst; relief = before minus after)"
    if earlier:
        title += f"; {plural(earlier, 'earlier week')} in the HTML report"
    ax.set_title(title, fontsize=9, loc="left")
    if not rows:
        ax.text(0, 0.9, "no sessions in this period", fontsize=8, va="top")
        return
    height = min(1.0, 0.068 * (len(rows) + 1))
    table = ax.table(cellText=[_ratings_cells(w) for w in rows], colLabels=RATINGS_HEADER, cellLoc="center",
                     bbox=[0, 1 - height, 1, height])
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    for (row, _), cell in table.get_celld().items():
        cell.set_edgecolor("#cccccc")
        if row == 0:
            cell.set_text_props(weight="bold")
            cell.set_facecolor("#f0f0f0")


def _page_figure(data: ReportData, Figure: Any) -> Any:
    fig = Figure(figsize=(8.27, 11.69))  # A4 portrait
    grid = fig.add_gridspec(5, 1, height_ratios=[1.3, 3.0, 1.1, 2.4, 2.5], hspace=0.5, left=0.09, right=0.96,
                            top=0.97, bottom=0.03)
    head = fig.add_subplot(grid[0])
    head.axis("off")
    head.text(0, 1.05, "Back-care progress report", fontsize=16, weight="bold", va="top")
    head.text(0, 0.72, _period(data), fontsize=10, va="top")
    head.text(0, 0.50, _headline(data), fontsize=8.5, va="top")
    head.text(0, 0.32, _trend_line(data), fontsize=8.5, va="top")
    if data.course:
        head.text(0, 0.14, "\n".join(textwrap.wrap(data.course, 105)), fontsize=8.5, va="top", weight="bold")
    _chart_axes(data, fig.add_subplot(grid[1]), fig.add_subplot(grid[2]))
    _ratings_table(data, fig.add_subplot(grid[3]))
    foot = fig.add_subplot(grid[4])
    foot.axis("off")
    left, right = _lines(data)
    foot.text(0, 1, "\n".join(left), fontsize=7.5, va="top")
    foot.text(0.52, 1, "\n".join(right), fontsize=7.5, va="top")
    if data.advice:
        foot.text(0, 0.36, "\n".join(textwrap.wrap(data.advice, 110)), fontsize=8, va="top",
                  bbox={"boxstyle": "round", "facecolor": "#fff4d6", "edgecolor": "#d9a400"})
    foot.text(0, -0.02, f"Made by voice-coach on {_day(data.now)}. Self-reported ratings; not a diagnosis.",
              fontsize=6.5, color="#555555", va="bottom")
    return fig


def _chart_svg(data: ReportData) -> str | None:
    try:
        Figure = _require_matplotlib()
    except UserError:
        return None
    fig = Figure(figsize=(8, 5.5))
    grid = fig.add_gridspec(2, 1, height_ratios=[3, 1.8], hspace=0.4)
    _chart_axes(data, fig.add_subplot(grid[0]), fig.add_subplot(grid[1]))
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    svg = buf.getvalue()
    return svg[svg.find("<svg"):]


def _html(data: ReportData) -> str:
    e = html.escape
    svg = _chart_svg(data)
    chart = svg if svg else f"<p class='muted'>The chart needs matplotlib: <code>{e(INSTALL_HINT)}</code></p>"
    ratings = {r.start: r for r in data.ratings}
    week_rows = "".join(
        f"<tr><td>{_day(w.start)}</td><td>{w.sessions}</td><td>{w.minutes:.1f}</td>"
        f"<td>{fmt(w.pain_before)}</td><td>{_ratings_cells(ratings[w.start])[4]}</td><td>{fmt(w.pain_after)}</td>"
        f"<td>{_ratings_cells(ratings[w.start])[6]}</td></tr>"
        for w in data.weeks if w.sessions
    )
    routine_rows = "".join(
        f"<tr><td>{e(u.title)}</td><td>{e(', '.join(u.regions)) or '–'}</td><td>{u.sessions}</td>"
        f"<td>{u.minutes:.1f}</td></tr>"
        for u in data.routines
    )
    missed = "".join(f"<li>{_day(m.due)} {m.due:%H:%M} — {e(m.routine)}</li>" for m in data.missed[-MAX_LISTED:])
    notes = "".join(f"<li>{_day(at)}: {e(text)}</li>" for at, text in data.notes[-MAX_LISTED:])
    advice = f"<p class='advice'>{e(data.advice)}</p>" if data.advice else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Back-care progress report</title>
<style>
@page {{ size: A4; margin: 12mm; }}
body {{ font-family: sans-serif; font-size: 10pt; max-width: 190mm; margin: auto; }}
h1 {{ font-size: 16pt; margin-bottom: 0; }} h2 {{ font-size: 11pt; margin: 8pt 0 2pt; }}
table {{ border-collapse: collapse; }} td, th {{ border-bottom: 1px solid #ddd; padding: 1pt 6pt; text-align: left; }}
svg {{ width: 100%; height: auto; }} .muted {{ color: #555; font-size: 8pt; }}
.advice {{ background: #fff4d6; border: 1px solid #d9a400; padding: 6pt; border-radius: 4pt; }}
.cols {{ display: flex; gap: 16pt; }} .cols > div {{ flex: 1; }}
</style></head><body>
<h1>Back-care progress report</h1>
<p>{e(_period(data))}</p>
<p id="summary">{e(_headline(data))}</p>
<p id="trend">{e(_trend_line(data))}</p>
{f'<p id="course"><b>{e(data.course)}</b></p>' if data.course else ''}
{advice}
{chart}
<div class="cols"><div>
<h2>Pain ratings by week</h2>
<p class="muted">0 = none, 10 = worst; range: lowest–highest rating before; relief: before minus after.</p>
<table id="weeks"><tr><th>week of</th><th>sessions</th><th>minutes</th><th>pain before</th><th>range</th>
<th>pain after</th><th>relief</th></tr>{week_rows}</table>
</div><div>
<h2>Routines and body regions</h2>
<table id="routines"><tr><th>routine</th><th>regions</th><th>sessions</th><th>minutes</th></tr>{routine_rows}</table>
<h2>Missed scheduled sessions: {len(data.missed)}</h2><ul>{missed}</ul>
<h2>Notes</h2><ul>{notes or '<li>none</li>'}</ul>
</div></div>
<p class="muted">Made by voice-coach on {_day(data.now)}. Self-reported ratings; not a diagnosis.</p>
</body></html>
"""
