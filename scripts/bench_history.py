"""Measure the history store and report: write latency (synchronous=FULL), reads, report rendering."""
import os, statistics, subprocess, sys, tempfile, time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit"))
from test_history_data import generate, write  # noqa: E402

from voice_coach.history import HistoryStore, progress, wal  # noqa: E402

tmp = Path(tempfile.mkdtemp())
os.environ["XDG_DATA_HOME"] = str(tmp / "data")
store = HistoryStore.open()
t0 = datetime.now().astimezone()
lat = []
sid = store.begin("r", "R", 200, t0, [])
for k in range(200):
    a = time.perf_counter(); store.step(sid, k, f"s{k}", "done", t0); lat.append((time.perf_counter() - a) * 1000)
store.end(sid, "finished", t0)
plan = generate(date.today() - timedelta(days=1), months=24, seed=1)
a = time.perf_counter(); write(store, plan); w = time.perf_counter() - a
a = time.perf_counter(); recs = store.sessions(); r = time.perf_counter() - a
a = time.perf_counter(); progress.weekly(recs); progress.advice_due(recs, t0); progress.summary_sentence(recs, t0); pr = time.perf_counter() - a
store.close()
a = time.perf_counter(); HistoryStore.open(readonly=True).close(); open_ro = time.perf_counter() - a
a = time.perf_counter(); HistoryStore.open().close(); open_rw = time.perf_counter() - a
big = HistoryStore.open(tmp / "wal-test.sqlite3")  # a log of 1000 frames: SQLite's auto-checkpoint size
big._conn.execute("PRAGMA wal_autocheckpoint = 0")
wal_file = tmp / "wal-test.sqlite3-wal"
bid = big.begin("r", "R", 1, t0, [])
while wal_file.stat().st_size < 1000 * (4096 + 24):
    big.step(bid, 0, "s", "done", t0)
a = time.perf_counter(); assert wal.problem(tmp / "wal-test.sqlite3") is None; wal_check = time.perf_counter() - a
big.close()
size = sum(p.stat().st_size for p in (tmp / "data" / "voice-coach").iterdir()) / 1e6
rows = [("one write (step), median", f"{statistics.median(lat):.2f} ms"),
        ("one write (step), p95", f"{sorted(lat)[int(len(lat) * .95)]:.2f} ms"),
        (f"sessions written ({len(plan)} over 24 months)", f"{w:.1f} s"),
        ("history file size (db + wal)", f"{size:.2f} MB"),
        (f"read all {len(recs)} sessions", f"{r * 1000:.0f} ms"),
        ("weekly + advice + summary over them", f"{pr * 1000:.1f} ms"),
        ("open to read (WAL check + quick_check, mode=ro)", f"{open_ro * 1000:.0f} ms"),
        ("open to write (WAL check + full integrity_check)", f"{open_rw * 1000:.0f} ms"),
        ("WAL checksum check of a 4 MB log (1000 frames)", f"{wal_check * 1000:.0f} ms")]
for args in (["history", "--since", "all"], ["history", "--since", "all", "--json"], ["report", "--since", "90d", "--out", str(tmp / "r.png")],
             ["report", "--since", "90d", "--out", str(tmp / "r.pdf")], ["report", "--since", "90d", "--out", str(tmp / "r.html")]):
    a = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "voice_coach", *args], capture_output=True, env=os.environ)
    assert p.returncode == 0, p.stderr
    rows.append(("`voice-coach " + " ".join(x if not x.startswith("/") else Path(x).name for x in args) + "` (wall, incl. start-up)", f"{time.perf_counter() - a:.2f} s"))
print("| measure | value |\n|---|---|")
for k, v in rows:
    print(f"| {k} | {v} |")
