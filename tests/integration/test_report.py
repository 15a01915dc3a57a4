"""``voice-coach report`` as a user runs it: real files, checked by their pixels and numbers."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import matplotlib.image
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from test_history_data import expected_weeks, generate, write  # noqa: E402

from voice_coach.history import HistoryStore  # noqa: E402


def run(*args: str, pre: str = "pass") -> subprocess.CompletedProcess:
    code = f"import sys; {pre}; from voice_coach.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


@pytest.fixture
def plan():
    today = datetime.now().astimezone().date()
    planned = generate(today - timedelta(days=1), months=5, seed=5, level=lambda i, n: 6.0)  # flat: advice due
    with HistoryStore.open() as s:
        write(s, planned)
        s.record_missed("ice-rollerball", datetime.now().astimezone() - timedelta(days=2))
    return planned


def test_png_report(plan, tmp_path):
    out = tmp_path / "report.png"
    p = run("report", "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert "with advice to see a clinician" in p.stdout
    rgb = matplotlib.image.imread(out)[..., :3]
    assert (rgb.sum(axis=2) < 2.9).mean() > 0.02  # not blank
    assert ((rgb[..., 0] > 0.7) & (rgb[..., 1] < 0.35) & (rgb[..., 2] < 0.35)).sum() > 300  # pain-before points


def test_pdf_report(plan, tmp_path):
    out = tmp_path / "report.pdf"
    p = run("report", "--since", "all", "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert out.read_bytes().startswith(b"%PDF-")


def test_html_report_numbers_match(plan, tmp_path):
    out = tmp_path / "report.html"
    p = run("report", "--since", "90d", "--out", str(out))
    assert p.returncode == 0, p.stderr
    since = datetime.now().astimezone() - timedelta(days=90)
    shown = [x for x in plan if x.started >= since]
    assert f"{len(shown)} sessions" in p.stdout
    page = out.read_text()
    start = page.index('<table id="weeks">')
    rows = re.findall(r"<tr><td>([^<]+)</td><td>(\d+)</td><td>([\d.]+)</td>", page[start: page.index("</table>", start)])
    expected = expected_weeks(shown)
    assert len(rows) == len(expected)
    for day, sessions, minutes in rows:
        iso = datetime.strptime(day, "%d %b %Y").date().isocalendar()
        assert (int(sessions), float(minutes)) == (expected[(iso.year, iso.week)]["sessions"],
                                                   pytest.approx(expected[(iso.year, iso.week)]["minutes"], abs=0.05))
    assert "Missed scheduled sessions: 1" in page
    assert "pain-management clinician" in page


def test_empty_history_gives_a_clear_message(tmp_path):
    p = run("report", "--out", str(tmp_path / "r.png"))
    assert p.returncode == 1 and "nothing to report" in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "r.png").exists()


def test_missing_matplotlib_names_the_extra(plan, tmp_path):
    p = run("report", "--out", str(tmp_path / "r.png"), pre="sys.modules['matplotlib'] = None")
    assert p.returncode == 2 and "pip install matplotlib" in p.stderr and "Traceback" not in p.stderr


def test_bad_suffix_and_missing_folder(plan, tmp_path):
    p = run("report", "--out", str(tmp_path / "r.txt"))
    assert p.returncode == 2 and ".png, .pdf or .html" in p.stderr
    p = run("report", "--out", str(tmp_path / "nope" / "r.png"))
    assert p.returncode == 2 and "does not exist" in p.stderr and "Traceback" not in p.stderr
