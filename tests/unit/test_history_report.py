"""The one-page report: its figures match an independent sum; PNG/PDF/HTML are really drawn."""

from __future__ import annotations

import re
import sys
from datetime import datetime, timedelta

import matplotlib.image
import numpy as np
import pytest
from test_history_data import SUMMER, expected_weeks, generate, write

from voice_coach.errors import UserError
from voice_coach.history import HistoryStore, report
from voice_coach.history.records import MissedSession

NOW = datetime(2024, 6, 30, 21, 0, tzinfo=SUMMER)
REGIONS = {"massager-back": ("upper back", "lower back"), "ice-rollerball": ("lower back",)}


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A four-month history written through the store, read back as the CLI does."""
    path = tmp_path_factory.mktemp("hist") / "h.sqlite3"
    plan = generate(NOW.date() - timedelta(days=1), months=4, level=lambda i, n: 4 + 3 * i / n)  # getting worse
    with HistoryStore.open(path) as s:
        write(s, plan)
        s.record_missed("ice-rollerball", NOW - timedelta(days=3))
        s.record_missed("ice-rollerball", NOW - timedelta(days=200))  # before the period
        return plan, s.sessions(), s.missed(), s.notes()


def test_report_data_matches_an_independent_computation(stored):
    plan, records, missed, notes = stored
    since = NOW - timedelta(days=90)
    data = report.build_report_data(records, missed, since, NOW, regions=REGIONS, notes=notes)
    shown = [p for p in plan if p.started >= since]
    assert data.sessions == len(shown)
    assert data.completed == sum(1 for p in shown if p.end_reason == "finished")
    assert data.minutes == pytest.approx(sum(p.active_minutes for p in shown))
    befores = [p.pain_before for p in shown if p.pain_before is not None]
    assert data.pain_before == pytest.approx(sum(befores) / len(befores))
    expected = expected_weeks(shown)
    got = {tuple(w.start.isocalendar()[:2]): w for w in data.weeks if w.sessions}
    assert set(got) == set(expected)
    for key, e in expected.items():
        assert got[key].minutes == pytest.approx(e["minutes"])
        assert got[key].sessions == e["sessions"]
    uses = {u.routine: u for u in data.routines}
    for rid in REGIONS:
        assert uses[rid].sessions == sum(1 for p in shown if p.routine == rid)
        assert uses[rid].regions == REGIONS[rid]
    assert dict(data.regions)["lower back"] == len(shown)
    assert [m.due for m in data.missed] == [NOW - timedelta(days=3)]
    assert len(data.notes) == sum(len(p.notes) for p in shown)
    assert data.advice is not None  # the generated pain gets worse


def test_png_is_drawn(stored, tmp_path):
    _, records, missed, notes = stored
    out = tmp_path / "report.png"
    report.write_report(records, missed, out, NOW - timedelta(days=90), NOW, regions=REGIONS, notes=notes)
    img = matplotlib.image.imread(out)
    assert img.shape[0] > img.shape[1] > 1000  # a portrait page
    rgb = img[..., :3]
    ink = (rgb.sum(axis=2) < 2.9).mean()
    assert ink > 0.02, f"the page is almost blank ({ink:.3%} ink)"
    red = ((rgb[..., 0] > 0.7) & (rgb[..., 1] < 0.35) & (rgb[..., 2] < 0.35)).sum()
    blue = ((rgb[..., 2] > 0.6) & (rgb[..., 0] < 0.3)).sum()
    green = ((rgb[..., 1] > 0.5) & (rgb[..., 0] < 0.3) & (rgb[..., 2] < 0.3)).sum()
    assert red > 500 and blue > 500 and green > 5000  # before/after points, minutes bars
    advice_box = ((np.abs(rgb - np.array([1.0, 0xF4 / 255, 0xD6 / 255])) < 0.02).all(axis=2)).sum()
    assert advice_box > 1000


def test_pdf_is_written(stored, tmp_path):
    _, records, missed, notes = stored
    out = tmp_path / "report.pdf"
    report.write_report(records, missed, out, NOW - timedelta(days=90), NOW, regions=REGIONS, notes=notes)
    data = out.read_bytes()
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-64:]
    assert data.count(b"/Type /Page") - data.count(b"/Type /Pages") == 1  # one page


def test_html_shows_the_same_numbers_and_the_advice(stored, tmp_path):
    plan, records, missed, notes = stored
    out = tmp_path / "report.html"
    since = NOW - timedelta(days=90)
    report.write_report(records, missed, out, since, NOW, regions=REGIONS, notes=notes)
    page = out.read_text()
    assert "<svg" in page and "pain-management clinician" in page
    table = page[page.index('<table id="weeks">'): page.index("</table>", page.index('<table id="weeks">'))]
    rows = re.findall(r"<tr><td>([^<]+)</td><td>(\d+)</td><td>([\d.]+)</td><td>([^<]+)</td>", table)
    expected = expected_weeks([p for p in plan if p.started >= since])
    assert len(rows) == len(expected)
    for day, sessions, minutes, before in rows:
        iso = datetime.strptime(day, "%d %b %Y").date().isocalendar()
        e = expected[(iso.year, iso.week)]
        assert int(sessions) == e["sessions"]
        assert float(minutes) == pytest.approx(e["minutes"], abs=0.05)
        assert before == ("–" if e["before"] is None else f"{e['before']:.1f}")


def test_no_advice_on_an_improving_history(tmp_path):
    plan = generate(NOW.date() - timedelta(days=1), months=3, level=lambda i, n: 7 - 5 * i / n)
    with HistoryStore.open(tmp_path / "h.sqlite3") as s:
        write(s, plan)
        records = s.sessions()
    out = tmp_path / "r.html"
    data = report.write_report(records, [], out, None, NOW, regions={})
    assert data.advice is None and "clinician" not in out.read_text()


def test_unknown_suffix_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match=r"\.png, \.pdf or \.html"):
        report.write_report([], [], tmp_path / "r.docx", None, NOW)


def test_missing_matplotlib_names_the_extra(stored, tmp_path, monkeypatch):
    _, records, missed, _ = stored
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    with pytest.raises(UserError, match=re.escape("pip install matplotlib")):
        report.write_report(records, missed, tmp_path / "r.png", None, NOW, regions={})
    assert not (tmp_path / "r.png").exists()
    report.write_report(records, missed, tmp_path / "r.html", None, NOW, regions={})  # HTML still works
    assert "pip install matplotlib" in (tmp_path / "r.html").read_text()


def test_regions_come_from_the_routine_library_when_present():
    found = report.routine_regions()
    assert isinstance(found, dict)
    for rid, regions in found.items():
        assert isinstance(rid, str) and all(isinstance(r, str) for r in regions)


def test_missed_only_history_is_reported():
    data = report.build_report_data([], [MissedSession("r", NOW - timedelta(days=1))], None, NOW, regions={})
    assert data.sessions == 0 and len(data.missed) == 1 and data.trend is None and data.advice is None


def stored_plan(tmp_path, plan):
    with HistoryStore.open(tmp_path / "h.sqlite3") as s:
        write(s, plan)
        return s.sessions()


def test_the_chart_window_fits_recent_data_not_the_90_days_asked_for(tmp_path):
    from matplotlib.dates import num2date
    from matplotlib.figure import Figure

    plan = [p for p in generate(NOW.date() - timedelta(days=1), months=2) if p.started >= NOW - timedelta(days=20)]
    records = stored_plan(tmp_path, plan)
    data = report.build_report_data(records, [], NOW - timedelta(days=90), NOW, regions={})
    first = min(p.started.date() for p in plan)
    assert NOW.date() - first > timedelta(days=report.MIN_SPAN_DAYS)  # so the window is the data's
    assert data.span == (first, NOW.date())
    fig = Figure()
    ax_pain, ax_min = fig.add_subplot(211), fig.add_subplot(212)
    report._chart_axes(data, ax_pain, ax_min)
    left, right = (num2date(x).date() for x in ax_pain.get_xlim())
    assert left == first - timedelta(days=1) and right == NOW.date() + timedelta(days=1)
    assert report._period(data) == f"{first.day} {first:%b %Y} – 30 Jun 2024"
    one_day = report.build_report_data(records[-1:], [], None, NOW, regions={})
    assert one_day.span[1] - one_day.span[0] == timedelta(days=report.MIN_SPAN_DAYS - 1)


def test_the_trend_is_said_in_words_with_its_direction():
    from voice_coach.history.progress import Trend, trend_words

    day = NOW.date()
    assert trend_words(Trend(day, 0.27 / 7, 5, 10)) == "pain rising 0.27 points a week (higher is worse)"
    assert trend_words(Trend(day, -0.5 / 7, 5, 10)) == "pain falling 0.50 points a week (lower is better)"
    assert trend_words(Trend(day, 0.05 / 7, 5, 10)).startswith("pain about level")
    assert trend_words(None) is None


def test_a_better_then_worse_course_is_said_and_drawn_week_by_week(tmp_path):
    plan = generate(NOW.date() - timedelta(days=1), months=2,
                    level=lambda i, n: 7 - 8 * i / n if i < n / 2 else 3 + 8 * (i - n / 2) / n)
    records = stored_plan(tmp_path, plan)
    data = report.write_report(records, [], tmp_path / "r.html", None, NOW, regions={})
    weekly = [w.pain_before for w in data.weeks if w.pain_before is not None]
    assert min(weekly) <= weekly[0] - 1 and min(weekly) <= weekly[-1] - 1  # the plan really turns
    assert data.course is not None and data.course.startswith("Better, then worse")
    page = (tmp_path / "r.html").read_text()
    assert 'id="course"' in page and "Better, then worse" in page
    assert "Trend of the ratings before sessions: pain " in page
    (tmp_path / "steady").mkdir()
    steady = stored_plan(tmp_path / "steady",
                         generate(NOW.date() - timedelta(days=1), months=2, level=lambda i, n: 7 - 4 * i / n))
    assert report.build_report_data(steady, [], None, NOW, regions={}).course is None


def test_the_ratings_table_has_range_and_relief_per_week(stored, tmp_path):
    plan, records, missed, notes = stored
    since = NOW - timedelta(days=90)
    out = tmp_path / "report.html"
    report.write_report(records, missed, out, since, NOW, regions=REGIONS, notes=notes)
    page = out.read_text()
    table = page[page.index('<table id="weeks">'): page.index("</table>", page.index('<table id="weeks">'))]
    rows = re.findall(r"<tr><td>([^<]+)</td><td>\d+</td><td>[\d.]+</td><td>[^<]+</td><td>([^<]+)</td>"
                      r"<td>[^<]+</td><td>([^<]+)</td></tr>", table)
    shown = [p for p in plan if p.started >= since]
    assert rows and len(rows) == len({p.started.date().isocalendar()[:2] for p in shown})
    for day, spread, relief in rows:
        iso = datetime.strptime(day, "%d %b %Y").date().isocalendar()[:2]
        week = [p for p in shown if p.started.date().isocalendar()[:2] == iso]
        before = [p.pain_before for p in week if p.pain_before is not None]
        both = [p.pain_before - p.pain_after for p in week if p.pain_before is not None and p.pain_after is not None]
        want = "–" if not before else (str(min(before)) if min(before) == max(before) else f"{min(before)}–{max(before)}")
        assert spread == want
        assert relief == ("–" if not both else f"{sum(both) / len(both):.1f}")
