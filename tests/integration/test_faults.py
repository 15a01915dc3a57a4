"""Issue 15, findings 1-5: one coach at a time, storage errors told apart, reads that never write,
private files, and signals that close the session. Real coach processes, real SQLite, real signals;
a full disk and a read-only folder are a real small tmpfs (mounting needs root).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import support

from voice_coach import paths
from voice_coach.history import HistoryStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from test_history_store import make_v1  # noqa: E402

fd = support.load_script("fault_drill")
SESSION = ["run", "ice-rollerball", "--text", "--json", "--no-pain", "--time-scale", "2000"]
FINISH = "no\n" + "next\n" * 8


@pytest.fixture
def user(isolated_user_dirs) -> fd.Folder:
    return fd.Folder(isolated_user_dirs, Path(os.environ["XDG_DATA_HOME"]))


@pytest.fixture
def small_disk(isolated_user_dirs, monkeypatch):
    """The data folder on a 1 MiB tmpfs (a disk that really fills up, or goes read-only)."""
    if not fd.can_mount():
        pytest.fail("this test mounts a small tmpfs: run it as root (or in the project's CI container)")
    with fd.tmpfs(1024) as fs:
        monkeypatch.setenv("XDG_DATA_HOME", str(fs))
        yield fd.Folder(isolated_user_dirs, fs)


def finish_one(folder: fd.Folder) -> None:
    r = fd.once(folder, *SESSION, input=FINISH)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr


def sessions(folder: fd.Folder) -> list:
    return fd.rows(folder.history)


def no_traceback(*texts: str) -> None:
    for text in texts:
        assert "Traceback" not in text, text


# ---- 1. one coach per user and data folder --------------------------------------------------------

def test_a_second_run_is_refused_naming_the_first_which_then_finishes(user):
    first = fd.Coach(user, *SESSION)
    assert first.wait_for(lambda e: e.get("type") == "question"), first.err
    second = fd.once(user, *SESSION, input="new\n")
    assert second.returncode == 8, second.stderr
    assert f"pid {first.pid}" in second.stderr and "run ice-rollerball" in second.stderr
    assert "Only one coach at a time" in second.stderr
    first.send(FINISH)
    assert first.wait_for(lambda e: e.get("type") == "end")
    first.close_input()
    assert first.wait() == 0
    no_traceback(first.err, second.stderr)
    (row,) = sessions(user)
    assert (row.reason, row.finished_steps) == ("finished", 6)  # not "interrupted" by the second


OWNER = """\
import sys
from datetime import datetime, timezone
from voice_coach.history import HistoryStore
s = HistoryStore.open()
print(s.begin("r", "R", 2, datetime.now(timezone.utc), ["a", "b"]), flush=True)
sys.stdin.readline()
"""


def test_only_a_session_whose_process_is_gone_counts_as_interrupted(user):
    owner = subprocess.Popen([sys.executable, "-c", OWNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, env=user.env())
    try:
        theirs = int(owner.stdout.readline())
        with HistoryStore.open() as store:
            assert store.interrupted() is None  # its process runs: not a crash
            mine = store.begin("r", "R", 2, fd_now(), ["a", "b"])
            assert store.session(theirs).ended is None  # begin() left it alone
            store.end(mine, "stopped", fd_now())
    finally:
        owner.kill()
        owner.wait()
    with HistoryStore.open() as store:  # now its process is gone
        assert store.interrupted().id == theirs
        store.begin("r", "R", 2, fd_now(), ["a", "b"])
        assert store.session(theirs).end_reason == "interrupted"


def fd_now():
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)


# ---- 2. storage errors told apart ---------------------------------------------------------------

def test_history_on_a_full_disk_is_not_called_damaged(small_disk):
    finish_one(small_disk)
    filler = fd.fill(small_disk.data_base)
    r = fd.once(small_disk, "history", "--since", "all", "--json")
    no_traceback(r.stderr)
    assert "damaged" not in r.stderr
    assert r.returncode == 0, r.stderr  # reading needs no space: it opens the file read-only
    assert [s["end_reason"] for s in json.loads(r.stdout)] == ["finished"]
    run = fd.once(small_disk, *SESSION, "--new", input=FINISH)
    filler.unlink()
    no_traceback(run.stderr)
    assert run.returncode in (0, 6), run.stderr
    if run.returncode == 6:
        assert "disk is full" in run.stderr and "damaged" not in run.stderr


def _session_filling_the_disk(folder: fd.Folder, free_again: bool):
    c = fd.Coach(folder, *SESSION, "--new")
    assert c.wait_for(lambda e: e.get("type") == "question"), c.err
    c.send("no\n")
    assert c.wait_for(lambda e: e.get("type") == "step" and e.get("index") == 1)
    filler = fd.fill(folder.data_base)
    c.feed_next(6, 0.05)
    assert c.wait_for(lambda e: e.get("type") == "step" and e.get("index") == 3)
    if free_again:
        filler.unlink()
    c.wait_for(lambda e: e.get("type") == "end")
    c.close_input()
    code = c.wait(30)
    if filler.exists():
        filler.unlink()
    return c, code


def test_a_session_goes_on_when_the_disk_fills_and_is_saved_when_there_is_room_again(small_disk):
    finish_one(small_disk)
    c, code = _session_filling_the_disk(small_disk, free_again=True)
    no_traceback(c.err)
    notices = [e["text"] for _, e in c.events if e.get("kind") == "notice"]
    assert any("cannot save this session" in n and "disk is full" in n for n in notices), notices
    assert any("saved" in n for n in notices[1:]), notices
    assert code == 0, c.err
    assert c.end_reason() == "finished"
    rows = sessions(small_disk)
    assert [(r.reason, r.finished_steps) for r in rows] == [("finished", 6), ("finished", 6)]
    assert rows[1].started_order == [0, 1, 2, 3, 4, 5]  # in order, nothing twice, nothing lost


def test_a_session_on_a_disk_that_stays_full_ends_with_one_clear_line(small_disk):
    finish_one(small_disk)
    c, code = _session_filling_the_disk(small_disk, free_again=False)
    no_traceback(c.err)
    assert c.end_reason() == "finished"  # the session itself ran to its end
    assert code == 6, c.err
    last = c.err.strip().splitlines()[-1]
    assert last.startswith("voice-coach: The session ended, but") and "disk is full" in last
    assert fd.integrity(small_disk.history) == "ok"


def test_schedule_add_and_run_on_a_read_only_folder_say_so(small_disk):
    finish_one(small_disk)
    fd.remount(small_disk.data_base, "ro")
    try:
        add = fd.once(small_disk, "schedule", "add", "ice-rollerball", "--daily", "20:00", "--tz", "UTC")
        run = fd.once(small_disk, *SESSION, input=FINISH)
    finally:
        fd.remount(small_disk.data_base, "rw")
    no_traceback(add.stderr, run.stderr)
    assert add.returncode == 7 and "read-only" in add.stderr, add.stderr
    assert run.returncode == 7 and "read-only" in run.stderr, run.stderr
    assert len(add.stderr.strip().splitlines()) == 1


HOLD_THE_LOCK = """\
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")  # another program writing: nobody else may write until it ends
print("holding", flush=True)
sys.stdin.readline()
"""


def test_a_history_locked_by_another_program_is_called_locked_and_the_session_goes_on(user):
    finish_one(user)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_LOCK, str(user.history)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        r = fd.once(user, *SESSION, "--new", input=FINISH)
    finally:
        holder.kill()
        holder.wait()
    no_traceback(r.stderr)
    events = [json.loads(x) for x in r.stdout.splitlines()]
    assert events[-1] == {**events[-1], "type": "end", "reason": "finished"}  # the session ran to its end
    assert any("the file is locked" in e.get("text", "") for e in events if e.get("kind") == "notice")
    assert r.returncode == 5 and "locked" in r.stderr.strip().splitlines()[-1], r.stderr
    assert [row.reason for row in sessions(user)] == ["finished"]  # nothing half-written


# ---- 3. reads never write; damage is reported, never written into --------------------------------

CRASHED_WRITER = """\
import os, signal
from datetime import datetime, timedelta, timezone
from voice_coach.history import HistoryStore
s, t = HistoryStore.open(), datetime(2026, 1, 1, tzinfo=timezone.utc)
for k in range(3):
    i = s.begin("r", "R", 1, t + timedelta(hours=k), ["a"])
    s.step(i, 0, "a", "started", t + timedelta(hours=k))
    s.pain(i, "before", 4, t + timedelta(hours=k))
os.kill(os.getpid(), signal.SIGKILL)  # a crash mid-session: what it wrote is only in the WAL
"""


def _crash_with_sessions_in_the_wal(user) -> Path:
    subprocess.run([sys.executable, "-c", CRASHED_WRITER], env=user.env(), capture_output=True)
    wal = user.history.with_name("history.sqlite3-wal")
    assert wal.stat().st_size > 32
    return wal


def test_reading_after_a_crash_never_checkpoints_or_deletes_the_wal(user):
    wal = _crash_with_sessions_in_the_wal(user)
    before = fd.digest(user.history, wal)
    r = fd.once(user, "history", "--since", "all", "--json")
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)) == 3
    assert wal.exists() and fd.digest(user.history, wal) == before


def test_a_damaged_wal_is_reported_and_kept_for_a_rescue(user):
    wal = _crash_with_sessions_in_the_wal(user)
    data = bytearray(wal.read_bytes())
    data[28] ^= 0xFF  # the WAL header's checksum: SQLite would ignore the whole log
    wal.write_bytes(bytes(data))
    before = fd.digest(user.history, wal)
    h = fd.once(user, "history", "--since", "all", "--json")
    r = fd.once(user, *SESSION, input=FINISH)
    no_traceback(h.stderr, r.stderr)
    assert h.returncode == 4 and "write-ahead log" in h.stderr and h.stdout == ""
    assert r.returncode == 4 and "left untouched" in r.stderr
    assert fd.digest(user.history, wal) == before


def test_damage_that_passes_quick_check_is_reported_and_never_written_into(user):
    for _ in range(3):
        finish_one(user)
    conn = sqlite3.connect(user.history)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'sessions_started'").fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(user.history.read_bytes())
    for k in range(size - 60, size - 40):  # the index's cells (the start times) sit at the page's end
        data[(root - 1) * size + k] = 0xFF
    user.history.write_bytes(bytes(data))
    conn = sqlite3.connect(f"{user.history.as_uri()}?mode=ro", uri=True)
    assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"  # the damage the quick check misses
    conn.close()
    before = fd.digest(user.history)
    h = fd.once(user, "history", "--since", "all", "--json")
    r = fd.once(user, *SESSION, input=FINISH)
    no_traceback(h.stderr, r.stderr)
    assert h.returncode == 4 and "damaged" in h.stderr, h.stderr
    assert r.returncode == 4 and "damaged" in r.stderr, r.stderr
    assert fd.digest(user.history) == before


# ---- 4. private by default --------------------------------------------------------------------------

def _modes(*bases: Path) -> dict[str, str]:
    """Every folder and file under ``bases`` whose mode is not 0700 (folders) / 0600 (files)."""
    wrong = {}
    for base in bases:
        for p in [base, *base.rglob("*")]:
            mode = stat.S_IMODE(p.lstat().st_mode)
            want = 0o700 if p.is_dir() else 0o600
            if mode != want:
                wrong[str(p)] = oct(mode)
    return wrong


def test_every_file_and_folder_is_private_whatever_the_umask(user):
    old = os.umask(0o022)
    try:
        make_v1(_fresh(paths.history_db()))  # an old history: its upgrade leaves a v1 backup
        assert fd.once(user, "history", "--since", "all").returncode == 0
        assert fd.once(user, "config", "set", "speech.rate", "170").returncode == 0
        assert fd.once(user, "schedule", "add", "ice-rollerball", "--daily", "20:00").returncode == 0
        c = fd.Coach(user, *SESSION)
        assert c.wait_for(lambda e: e.get("type") == "question")
        during = _modes(paths.data_dir(), paths.config_dir())  # with the session's -wal and -shm
        assert Path(f"{paths.history_db()}-wal").exists()
        c.send(FINISH)
        c.close_input()
        assert c.wait() == 0, c.err
    finally:
        os.umask(old)
    assert Path(f"{paths.history_db()}.v1-backup").exists() and paths.settings_file().exists()
    assert during == {}
    assert _modes(paths.data_dir(), paths.config_dir()) == {}


def _fresh(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_an_existing_install_is_made_private_on_its_first_run(user):
    old = os.umask(0o022)
    try:
        for d in (paths.data_dir(), paths.config_dir(), paths.user_routines_dir()):
            d.mkdir(parents=True, exist_ok=True)
            d.chmod(0o755)
        finish_one(user)
        for f in paths.data_dir().iterdir():
            if f.is_file():
                f.chmod(0o644)
        paths.settings_file().write_text("[speech]\nrate = 170\n")
        paths.settings_file().chmod(0o644)
        assert _modes(paths.data_dir(), paths.config_dir()) != {}
        finish_one(user)
    finally:
        os.umask(old)
    assert _modes(paths.data_dir(), paths.config_dir()) == {}


def test_history_delete_also_removes_the_v1_backup_that_still_holds_the_sessions(user):
    make_v1(_fresh(paths.history_db()))
    assert fd.once(user, "history", "--since", "all").returncode == 0
    backup = Path(f"{paths.history_db()}.v1-backup")
    assert b"ice-rollerball" in backup.read_bytes()
    r = fd.once(user, "history", "delete", "--before", "2025-01-01", "--yes")
    assert r.returncode == 0, r.stderr
    assert not backup.exists() and str(backup) in r.stdout
    leftovers = [p for p in paths.data_dir().rglob("*") if p.is_file() and b"ice-rollerball" in p.read_bytes()]
    assert leftovers == []


# ---- 5. signals -------------------------------------------------------------------------------------

def test_sighup_closes_the_session_row_like_sigterm(user):
    c = fd.Coach(user, *SESSION)
    c.send("no\n")
    assert c.wait_for(lambda e: e.get("type") == "step" and e.get("index") == 1)
    c.proc.send_signal(signal.SIGHUP)
    assert c.wait(30) == 0, f"the coach did not end within 30 s of SIGHUP; it printed:\n{c.err[-3000:]}"
    no_traceback(c.err)
    (row,) = sessions(user)
    assert row.ended is not None and row.reason == "stopped"


SERVE_LIKE = textwrap.dedent("""\
    import queue, signal, sys
    from voice_coach.console import Printer
    from voice_coach.routines import find
    from voice_coach.runner import Runner, SilentVoice
    from voice_coach.session.engine import SessionEngine
    stops = []
    signal.signal(signal.SIGTERM, lambda *_: stops.append("serve told to stop"))  # as serve does
    inbox = queue.Queue()
    engine = SessionEngine(find("ice-rollerball"), ask_pain=False)
    runner = Runner(engine, SilentVoice(inbox), inbox, printer=Printer(as_json=True))
    print(runner.run(), stops, flush=True)
""")


def test_one_sigterm_ends_the_session_and_reaches_the_handler_serve_installed(user):
    proc = subprocess.Popen([sys.executable, "-c", SERVE_LIKE], stdout=subprocess.PIPE, text=True, env=user.env())
    assert "question" in proc.stdout.readline() + proc.stdout.readline() + proc.stdout.readline()
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=10)
    assert out.strip().splitlines()[-1] == "stopped ['serve told to stop']"
