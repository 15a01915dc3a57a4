"""``voice-coach history`` as a user runs it (a subprocess), and the history surviving a SIGKILL."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import pty
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from test_history_data import expected_weeks, generate, write  # noqa: E402
from test_history_store import make_v1  # noqa: E402

from voice_coach import paths  # noqa: E402
from voice_coach.history import HistoryStore  # noqa: E402


def run(*args: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run([sys.executable, "-m", "voice_coach", *args], capture_output=True, text=True,
                          timeout=timeout, **kw)


def ok(*args: str) -> str:
    p = run(*args)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    return p.stdout


@pytest.fixture
def plan():
    """Four months of sessions up to yesterday, written where the CLI looks."""
    today = datetime.now().astimezone().date()
    planned = generate(today - timedelta(days=1), months=4, seed=11)
    with HistoryStore.open() as s:
        write(s, planned)
    return planned


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_json_matches_the_plan(plan):
    got = json.loads(ok("history", "--since", "all", "--json"))
    assert len(got) == len(plan)
    for obj, p in zip(got, plan):
        assert obj["routine"] == p.routine
        assert obj["started"] == p.started.isoformat()  # local offset kept, e.g. +02:00
        assert obj["ended"] == p.ended.isoformat()
        assert obj["end_reason"] == p.end_reason
        assert (obj["steps_done"], obj["steps_total"]) == (p.done, p.steps_total)
        assert (obj["pain_before"], obj["pain_after"]) == (p.pain_before, p.pain_after)
        assert obj["minutes"] == pytest.approx(p.active_minutes)
        assert isinstance(obj["id"], int)
    assert any(o["pain_before"] is None for o in got) and any(o["started"].endswith("+01:00") for o in got)


def test_since_filters(plan):
    now = datetime.now().astimezone()
    got = json.loads(ok("history", "--since", "30d", "--json"))
    assert len(got) == sum(1 for p in plan if p.started >= now - timedelta(days=30)) > 0
    assert json.loads(ok("history", "--since", "2000-01-01", "--json")) != []


def test_csv_matches_the_plan(plan):
    rows = list(csv.DictReader(io.StringIO(ok("history", "--since", "all", "--csv"))))
    assert len(rows) == len(plan)
    for row, p in zip(rows, plan):
        assert row["pain_before"] == ("" if p.pain_before is None else str(p.pain_before))
        assert float(row["minutes"]) == pytest.approx(p.active_minutes)


def test_text_shows_sessions_and_weekly_averages(plan):
    out = ok("history", "--since", "all")
    assert f"All sessions: {len(plan)}" in out
    assert "Weekly averages" in out
    weeks = expected_weeks(plan)
    lines = out.splitlines()
    for (year, week), e in weeks.items():
        monday = datetime.fromisocalendar(year, week, 1)
        label = f"{monday.day:2d} {monday:%b %Y}"
        line = next(x for x in lines if x.startswith(label + " "))
        cols = line[len(label):].split()
        before = "-" if e["before"] is None else f"{e['before']:.1f}"
        after = "-" if e["after"] is None else f"{e['after']:.1f}"
        assert cols == [str(e["sessions"]), f"{e['minutes']:.1f}", before, after], line
    assert "Your pain averaged" in out or "no sessions in the last 7 days" in out


def test_empty_history_is_plain_and_creates_no_file():
    for args in (["history"], ["history", "--since", "7d"]):
        out = ok(*args)
        assert "No sessions recorded yet" in out
    assert ok("history", "--json") == "[]\n"
    assert not paths.history_db().exists()


@pytest.mark.parametrize("journal", [1, 2], ids=["rollback", "wal"])
def test_corrupt_database_is_reported_and_left_untouched(journal):
    # header bytes 18-19 say the journal mode; with 2 (WAL, as every history file has) SQLite makes
    # a -wal and a -shm as it opens the file, even read-only (a random header did so 1 time in 256)
    garbage = bytearray(random.Random(journal).randbytes(20000))
    garbage[2] = garbage[3] = journal
    db = paths.history_db()
    db.parent.mkdir(parents=True, exist_ok=True)
    db.write_bytes(b"SQLite format 3\x00" + bytes(garbage))
    before = digest(db)
    for args in (["history"], ["history", "--json"], ["history", "export"], ["report", "--out", "r.html"],
                 ["history", "delete", "--before", "2020-01-01", "--yes"]):
        p = run(*args)
        assert p.returncode == 4, (args, p.stderr)
        assert "damaged" in p.stderr and "left untouched" in p.stderr
        assert "Traceback" not in p.stderr
        assert digest(db) == before
    assert sorted(x.name for x in db.parent.iterdir()) == [db.name]


def test_newer_database_is_reported():
    db = paths.history_db()
    db.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    before = digest(db)
    p = run("history")
    assert p.returncode == 4 and "newer voice-coach" in p.stderr and "Traceback" not in p.stderr
    assert digest(db) == before


def test_older_database_is_upgraded_with_a_message():
    db = paths.history_db()
    db.parent.mkdir(parents=True, exist_ok=True)
    make_v1(db)
    p = run("history", "--since", "all", "--json")
    assert p.returncode == 0 and "Traceback" not in p.stderr
    assert "upgraded the history file from format 1" in p.stderr
    (obj,) = json.loads(p.stdout)
    assert (obj["routine"], obj["steps_done"], obj["pain_before"], obj["pain_after"]) == ("ice-rollerball", 2, 5, None)
    assert obj["started"] == "2024-01-10T19:00:00+00:00"
    assert Path(f"{db}.v1-backup").exists()
    assert "upgraded" not in run("history", "--since", "all").stderr  # only once


def test_export_json_and_csv(plan, tmp_path):
    out = tmp_path / "all.json"
    ok("history", "export", "--out", str(out))
    doc = json.loads(out.read_text())
    assert doc["format"] == "voice-coach-history" and len(doc["sessions"]) == len(plan)
    assert len(doc["notes"]) == sum(len(p.notes) for p in plan)
    out_csv = tmp_path / "all.csv"
    ok("history", "export", "--out", str(out_csv))  # format from the suffix
    assert len(list(csv.DictReader(out_csv.open()))) == len(plan)
    assert json.loads(ok("history", "export", "--format", "json"))["sessions"][0]["id"] == doc["sessions"][0]["id"]


def test_delete_refuses_without_a_terminal_or_yes(plan):
    cut = plan[len(plan) // 2].started.date().isoformat()
    p = run("history", "delete", "--before", cut)
    assert p.returncode != 0 and "--yes" in p.stderr and "Traceback" not in p.stderr
    assert len(json.loads(ok("history", "--since", "all", "--json"))) == len(plan)


def test_delete_with_yes(plan):
    cut_day = plan[len(plan) // 2].started.date()
    out = ok("history", "delete", "--before", cut_day.isoformat(), "--yes")
    assert out.startswith("Deleted ")
    cut = datetime.combine(cut_day, time(0)).astimezone()  # local midnight, as the CLI reads a date
    left = json.loads(ok("history", "--since", "all", "--json"))
    assert len(left) == sum(1 for p in plan if p.started >= cut) < len(plan)
    assert all(datetime.fromisoformat(o["started"]) >= cut for o in left)


@pytest.mark.parametrize(("answer", "deleted"), [(b"y\n", True), (b"n\n", False)])
def test_delete_asks_on_a_terminal(plan, answer, deleted):
    cut_day = plan[len(plan) // 2].started.date()
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "voice_coach", "history", "delete", "--before", cut_day.isoformat()],
                            stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    os.close(slave)
    os.write(master, answer)
    out, err = proc.communicate(timeout=60)
    os.close(master)
    assert "This cannot be undone" in out and "Traceback" not in err
    left = json.loads(ok("history", "--since", "all", "--json"))
    if deleted:
        assert proc.returncode == 0 and len(left) < len(plan)
    else:
        assert proc.returncode == 1 and "Nothing deleted" in out and len(left) == len(plan)


def test_bad_period_is_a_clear_message():
    p = run("history", "--since", "last tuesday")
    assert p.returncode == 2 and "30d" in p.stderr and "Traceback" not in p.stderr


WRITER = textwrap.dedent("""
    import sys, time
    from datetime import datetime, timedelta, timezone
    from voice_coach.history import HistoryStore
    t0 = datetime(2024, 3, 5, 20, 0, tzinfo=timezone(timedelta(hours=1)))
    s = HistoryStore.open()
    ids = [f"s{k}" for k in range(9)]
    sid = s.begin("massager-back", "Massager for the back", 9, t0, ids)
    s.pain(sid, "before", 6, t0)
    for k in range(3):
        s.step(sid, k, ids[k], "started", t0 + timedelta(minutes=2 * k))
        s.step(sid, k, ids[k], "done", t0 + timedelta(minutes=2 * k + 2))
    s.step(sid, 3, ids[3], "started", t0 + timedelta(minutes=6))
    print(sid, flush=True)
    time.sleep(120)
""")

READER = textwrap.dedent("""
    import json
    from voice_coach.history import HistoryStore
    with HistoryStore.open() as s:
        r = s.interrupted()
        print(json.dumps(None if r is None else {
            "id": r.id, "current_index": r.current_index, "current_step_id": r.current_step_id,
            "resume_index": r.resume_index, "steps_done": r.steps_done, "steps_total": r.steps_total,
            "pain_before": r.pain_before, "ended": r.ended, "minutes": r.minutes}))
""")


def test_sigkill_mid_session_keeps_the_finished_steps():
    writer = subprocess.Popen([sys.executable, "-c", WRITER], stdout=subprocess.PIPE, text=True)
    try:
        sid = int(writer.stdout.readline())
        os.kill(writer.pid, signal.SIGKILL)
        assert writer.wait(timeout=10) == -signal.SIGKILL
    finally:
        if writer.poll() is None:
            writer.kill()
        writer.stdout.close()
    got = subprocess.run([sys.executable, "-c", READER], capture_output=True, text=True, timeout=60)
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout) == {
        "id": sid, "current_index": 3, "current_step_id": "s3", "resume_index": 3, "steps_done": 3,
        "steps_total": 9, "pain_before": 6, "ended": None, "minutes": 6.0,
    }
    (obj,) = json.loads(ok("history", "--since", "all", "--json"))
    assert obj["ended"] is None and obj["end_reason"] is None and obj["steps_done"] == 3
