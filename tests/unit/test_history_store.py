"""The SQLite history store: what is written comes back; damaged, foreign and newer files stay untouched."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from datetime import date, datetime, timedelta, timezone

import pytest
from test_history_data import SUMMER, expected_weeks, generate, write

from voice_coach import paths
from voice_coach.errors import UserError
from voice_coach.history import HistoryStore
from voice_coach.history.schema import CURRENT_VERSION

T0 = datetime(2024, 5, 6, 18, 0, 0, tzinfo=SUMMER)


def m(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def store(tmp_path):
    s = HistoryStore.open(tmp_path / "h.sqlite3")
    yield s
    s.close()


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_default_path_is_the_per_user_data_folder_in_wal_mode():
    with HistoryStore.open() as s:
        assert s.path == paths.history_db()
    conn = sqlite3.connect(paths.history_db())
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == CURRENT_VERSION
    conn.close()


def test_a_session_comes_back_with_steps_pauses_ratings_and_active_minutes(store):
    sid = store.begin("massager-back", "Massager", 4, T0, ["a", "b", "c", "d"])
    store.pain(sid, "before", 6, m(0))
    store.step(sid, 0, "a", "started", m(0))
    store.step(sid, 0, "a", "done", m(2))
    store.step(sid, 1, "b", "started", m(2))
    store.pause(sid, m(3))
    store.pause(sid, m(4))  # already paused: ignored
    store.resume(sid, m(10))
    store.step(sid, 1, "b", "skipped", m(11))
    store.step(sid, 2, "c", "started", m(11))
    store.step(sid, 2, "c", "done", m(13))
    store.step(sid, 2, "c", "started", m(13))  # "back": redo step c
    store.step(sid, 2, "c", "done", m(15))
    store.note(sid, "right side tight", m(15))
    store.pain(sid, "after", None, m(15))  # skipped
    store.end(sid, "stopped", m(15))
    store.end(sid, "finished", m(99))  # the first end wins

    (r,) = store.sessions()
    assert (r.id, r.routine, r.title, r.steps_total) == (sid, "massager-back", "Massager", 4)
    assert (r.steps_done, r.steps_skipped) == (2, 1)
    assert (r.pain_before, r.pain_after) == (6, None)
    assert r.end_reason == "stopped"
    assert r.ended == m(15) and r.ended.utcoffset() == timedelta(hours=2)
    assert r.started == T0 and r.started.utcoffset() == timedelta(hours=2)
    assert r.minutes == pytest.approx(15 - 7)  # paused from minute 3 to 10
    assert r.pauses == 1
    assert r.notes == ("right side tight",)
    assert r.step_ids == ("a", "b", "c", "d")
    assert store.interrupted() is None


def test_rating_can_be_corrected_and_is_validated(store):
    sid = store.begin("r", "R", 1, T0, ["a"])
    store.pain(sid, "before", 7, m(0))
    store.pain(sid, "before", 6, m(1))  # "Seven. Is that right?" "No" -> six
    assert store.session(sid).pain_before == 6
    with pytest.raises(ValueError):
        store.pain(sid, "before", 11, m(1))
    with pytest.raises(ValueError):
        store.pain(sid, "during", 3, m(1))
    with pytest.raises(ValueError):
        store.step(sid, 0, "a", "finished", m(1))


def test_naive_times_are_refused(store):
    with pytest.raises(ValueError, match="timezone-aware"):
        store.begin("r", "R", 1, datetime(2024, 1, 1, 12), ["a"])


def crashed(store: HistoryStore) -> HistoryStore:
    """The store a new process opens after this one died without ending its session."""
    store.close()
    return HistoryStore.open(store.path)


def test_interrupted_session_resume_point_and_abandon(store):
    sid = store.begin("r", "R", 5, T0, list("abcde"))
    for k in range(3):
        store.step(sid, k, "abcde"[k], "started", m(2 * k))
        store.step(sid, k, "abcde"[k], "done", m(2 * k + 2))
    store.step(sid, 3, "d", "started", m(6))
    assert store.interrupted() is None  # this store still runs it
    store = crashed(store)
    r = store.interrupted()
    assert r is not None and r.id == sid and r.ended is None and r.end_reason is None
    assert (r.current_index, r.current_step_id, r.resume_index, r.steps_done) == (3, "d", 3, 3)
    assert r.minutes == pytest.approx(6)  # up to the last record, not up to now

    store.abandon(sid, m(600))  # the person said "new" ten hours later
    assert store.interrupted() is None
    r = store.session(sid)
    assert r.end_reason == "interrupted" and r.ended == m(6) and r.minutes == pytest.approx(6)


def test_resume_index_moves_on_when_the_current_step_was_finished(store):
    sid = store.begin("r", "R", 3, T0, list("abc"))
    store.step(sid, 0, "a", "started", m(0))
    store.step(sid, 0, "a", "done", m(1))
    r = crashed(store).interrupted()
    assert (r.current_index, r.resume_index) == (0, 1)


def test_reopen_counts_the_gap_as_a_pause(store):
    sid = store.begin("r", "R", 2, T0, ["a", "b"])
    store.step(sid, 0, "a", "started", m(0))
    store.step(sid, 0, "a", "done", m(3))
    store.step(sid, 1, "b", "started", m(3))  # then the power went out
    store.reopen(sid, m(120))
    store.step(sid, 1, "b", "done", m(122))
    store.end(sid, "finished", m(122))
    assert store.session(sid).minutes == pytest.approx(5)


def test_begin_closes_a_session_a_gone_process_left_open(store):
    old = store.begin("r", "R", 2, T0, ["a", "b"])
    store.step(old, 0, "a", "started", m(1))
    store = crashed(store)
    new = store.begin("r", "R", 2, m(60), ["a", "b"])
    assert store.session(old).end_reason == "interrupted"
    assert store.session(new).ended is None and store.interrupted() is None  # the new one runs


def test_missed_notes_and_advice_marks(store):
    due = datetime(2024, 5, 1, 8, 0, tzinfo=SUMMER)
    store.record_missed("ice-rollerball", due)
    store.record_missed("ice-rollerball", due)  # the scheduler may report twice
    store.record_missed("massager-back", due + timedelta(days=1))
    missed = store.missed()
    assert [(x.routine, x.due) for x in missed] == [("ice-rollerball", due), ("massager-back", due + timedelta(days=1))]
    assert missed[0].due.utcoffset() == timedelta(hours=2)
    assert [x.routine for x in store.missed(since=due + timedelta(hours=1))] == ["massager-back"]
    store.note(None, "slept badly", due)
    assert [(n.session_id, n.text) for n in store.notes()] == [(None, "slept badly")]

    assert not store.advice_given_since(T0 - timedelta(days=28))
    store.mark_advice_given(T0)
    assert store.advice_given_since(T0 - timedelta(days=28))
    assert not store.advice_given_since(T0 + timedelta(seconds=1))


def test_generated_months_round_trip(store):
    plan = generate(date(2024, 6, 30), months=4)
    ids = write(store, plan)
    records = store.sessions()
    assert [r.id for r in records] == ids
    for p, r in zip(plan, records):
        assert r.started == p.started and r.started.utcoffset() == p.started.utcoffset()
        assert r.ended == p.ended
        assert (r.steps_done, r.steps_skipped, r.steps_total) == (p.done, p.skipped, p.steps_total)
        assert (r.pain_before, r.pain_after, r.end_reason) == (p.pain_before, p.pain_after, p.end_reason)
        assert r.minutes == pytest.approx(p.active_minutes)
        assert r.pauses == len(p.pauses)
    since = datetime(2024, 6, 1, tzinfo=SUMMER)
    assert [r.id for r in store.sessions(since=since)] == [i for i, p in zip(ids, plan) if p.started >= since]
    assert len(expected_weeks(plan)) > 10  # the plan really spans months


def test_delete_before_removes_sessions_with_their_rows(store, tmp_path):
    plan = generate(date(2024, 6, 30), months=2)
    write(store, plan)
    store.record_missed("r", datetime(2024, 5, 1, tzinfo=SUMMER))
    store.record_missed("r", datetime(2024, 6, 20, tzinfo=SUMMER))
    cut = datetime(2024, 6, 1, tzinfo=SUMMER)
    n_old = sum(1 for p in plan if p.started < cut)
    counts = store.count_before(cut)
    assert (counts.sessions, counts.missed) == (n_old, 1)
    store.delete_before(cut)
    assert all(r.started >= cut for r in store.sessions())
    assert len(store.sessions()) == len(plan) - n_old
    assert len(store.missed()) == 1
    conn = sqlite3.connect(tmp_path / "h.sqlite3")
    assert conn.execute("SELECT COUNT(*) FROM steps WHERE session_id NOT IN (SELECT id FROM sessions)").fetchone()[0] == 0
    conn.close()


def test_writes_from_several_threads(store):
    sid = store.begin("r", "R", 400, T0, [])
    errors = []

    def work(base):
        try:
            for k in range(50):
                store.step(sid, base + k, f"s{base + k}", "done", m(base + k))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(b,)) for b in (0, 100, 200, 300)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.session(sid).steps_done == 200


# ---- files that are not ours to change ---------------------------------------------------------


def test_garbage_file_is_reported_and_left_untouched(tmp_path):
    path = tmp_path / "h.sqlite3"
    path.write_bytes(os.urandom(8192))
    before = digest(path)
    with pytest.raises(UserError, match="damaged.*left untouched"):
        HistoryStore.open(path)
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("h.")) == ["h.sqlite3"]


def test_damaged_pages_are_reported_and_left_untouched(tmp_path):
    path = tmp_path / "h.sqlite3"
    with HistoryStore.open(path) as s:
        write(s, generate(date(2024, 6, 30), months=2))
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 4 * page
    data[2 * page: 4 * page] = os.urandom(2 * page)  # wreck two pages after the header page
    path.write_bytes(bytes(data))
    before = digest(path)
    with pytest.raises(UserError, match="damaged"):
        HistoryStore.open(path)
    assert digest(path) == before


def test_newer_format_is_refused_untouched(tmp_path):
    path = tmp_path / "h.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE sessions (id INTEGER PRIMARY KEY)")
    conn.execute(f"PRAGMA user_version = {CURRENT_VERSION + 1}")
    conn.close()
    before = digest(path)
    with pytest.raises(UserError, match="newer voice-coach"):
        HistoryStore.open(path)
    assert digest(path) == before


def test_someone_elses_sqlite_file_is_refused_untouched(tmp_path):
    path = tmp_path / "h.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE recipes (name TEXT)")
    conn.commit()
    conn.close()
    before = digest(path)
    with pytest.raises(UserError, match="not a voice-coach history"):
        HistoryStore.open(path)
    assert digest(path) == before


def test_empty_file_becomes_a_new_history(tmp_path):
    path = tmp_path / "h.sqlite3"
    path.write_bytes(b"")  # e.g. a power cut right after the file was created
    with HistoryStore.open(path) as s:
        assert s.sessions() == []


# The first released format, written out here independently of the package's migration code.
V1_DDL = """
CREATE TABLE sessions (id INTEGER PRIMARY KEY AUTOINCREMENT, routine_id TEXT NOT NULL, title TEXT NOT NULL,
  steps_total INTEGER NOT NULL, step_ids TEXT NOT NULL DEFAULT '[]', started_utc TEXT NOT NULL,
  ended_utc TEXT, end_reason TEXT);
CREATE TABLE steps (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id INTEGER NOT NULL REFERENCES sessions (id)
  ON DELETE CASCADE, idx INTEGER NOT NULL, step_id TEXT NOT NULL, status TEXT NOT NULL, at_utc TEXT NOT NULL);
CREATE TABLE pauses (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id INTEGER NOT NULL REFERENCES sessions (id)
  ON DELETE CASCADE, paused_utc TEXT NOT NULL, resumed_utc TEXT);
CREATE TABLE ratings (session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE, phase TEXT NOT NULL,
  value INTEGER, at_utc TEXT NOT NULL, PRIMARY KEY (session_id, phase));
INSERT INTO sessions VALUES (1, 'ice-rollerball', 'Ice rollerball', 3, '["a","b","c"]',
  '2024-01-10T19:00:00.000000+00:00', '2024-01-10T19:12:00.000000+00:00', 'finished');
INSERT INTO steps (session_id, idx, step_id, status, at_utc) VALUES
  (1, 0, 'a', 'done', '2024-01-10T19:04:00.000000+00:00'), (1, 1, 'b', 'done', '2024-01-10T19:08:00.000000+00:00'),
  (1, 2, 'c', 'skipped', '2024-01-10T19:12:00.000000+00:00');
INSERT INTO pauses (session_id, paused_utc, resumed_utc) VALUES
  (1, '2024-01-10T19:05:00.000000+00:00', '2024-01-10T19:07:00.000000+00:00');
INSERT INTO ratings VALUES (1, 'before', 5, '2024-01-10T19:00:00.000000+00:00'),
  (1, 'after', NULL, '2024-01-10T19:12:00.000000+00:00');
PRAGMA user_version = 1;
"""


def make_v1(path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(V1_DDL)
    conn.close()


def test_older_format_is_upgraded_keeping_its_data_and_a_copy(tmp_path):
    path = tmp_path / "h.sqlite3"
    make_v1(path)
    with HistoryStore.open(path) as s:
        assert s.upgraded_from == 1
        copy = sqlite3.connect(s.backup_path)
        assert copy.execute("PRAGMA user_version").fetchone()[0] == 1
        assert copy.execute("SELECT routine_id, ended_utc FROM sessions").fetchall() == [
            ("ice-rollerball", "2024-01-10T19:12:00.000000+00:00")
        ]
        copy.close()
        (r,) = s.sessions()
        assert (r.routine, r.steps_done, r.steps_skipped, r.pain_before, r.pain_after) == ("ice-rollerball", 2, 1, 5, None)
        assert r.started == datetime(2024, 1, 10, 19, 0, tzinfo=timezone.utc)
        assert r.minutes == pytest.approx(10)
        s.note(r.id, "works after the upgrade", r.ended)
        s.record_missed("ice-rollerball", r.ended)
    with HistoryStore.open(path) as s:  # a second open does not upgrade again
        assert s.upgraded_from is None
        assert s.sessions()[0].notes == ("works after the upgrade",)


def test_a_reader_of_an_empty_file_finds_nothing_and_writes_nothing(tmp_path):
    path = tmp_path / "folder" / "h.sqlite3"
    path.parent.mkdir()
    path.touch()
    with HistoryStore.open(path, readonly=True) as s:
        assert s.sessions() == [] and s.missed() == []
    assert path.stat().st_size == 0 and [p.name for p in path.parent.iterdir()] == ["h.sqlite3"]
