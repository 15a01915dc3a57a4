#!/usr/bin/env python3
"""Fault drill: real coach processes under real faults, and a check of every session they leave.

Scenarios (each a fresh data folder): two runs at once, run + serve and two serves (the virtual room
must be running for serve), a full disk (a small tmpfs, filled before or during a session, freed or
not), a read-only data folder (tmpfs remounted read-only), a damaged WAL after a crash, damage that
passes quick_check, and SIGTERM/SIGINT/SIGHUP/SIGKILL at random moments of a session. Sessions run as
``run --text --json`` with a large ``--time-scale`` and typed commands, so a run takes well under a
second and needs no audio. Every session row is checked with plain SQL (not voice-coach's code):
finished ones complete, no steps interleaved, "interrupted" only for a session whose process died,
open ones only when their process was killed; plus exit codes, messages, and no traceback anywhere.

    python scripts/fault_drill.py --runs 200 --seed 1

Needs root for the tmpfs mounts (disk full, read-only); prints the table docs/benchmarks.md shows.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import queue
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROUTINE = "ice-rollerball"  # 6 steps: a safety question, a step that waits for "next", timed steps
STEPS = 6
SCALE = "2000"
EXIT_DAMAGED, EXIT_DISK_FULL, EXIT_READ_ONLY, EXIT_RUNNING = 4, 6, 7, 8


# ---- folders: a private data folder, a small tmpfs, a read-only mount ------------------------------

def can_mount() -> bool:
    if os.geteuid() != 0:
        return False
    with tempfile.TemporaryDirectory() as d:
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", d], capture_output=True).returncode:
            return False
        subprocess.run(["umount", d], check=True)
    return True


@contextlib.contextmanager
def tmpfs(size_kb: int):
    """A fresh tmpfs of ``size_kb`` KiB (root only): a disk that really fills up or goes read-only."""
    folder = Path(tempfile.mkdtemp(prefix="vc-drill-fs-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k,mode=0755", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
        folder.rmdir()


def remount(folder: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(folder)], check=True)


def fill(folder: Path) -> Path:
    """Fill the file system holding ``folder`` until the kernel says ENOSPC; returns the filler file."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as fh:
        for chunk in (65536, 4096, 512, 1):
            try:
                while True:
                    fh.write(b"\0" * chunk)
            except OSError:
                continue
    return filler


def digest(*files: Path) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f.read_bytes() if f.exists() else b"<absent>")
    return h.hexdigest()


@dataclass
class Folder:
    """One user's XDG folders (data may sit on a tmpfs)."""

    home: Path
    data_base: Path

    @property
    def data(self) -> Path:
        return self.data_base / "voice-coach"

    @property
    def history(self) -> Path:
        return self.data / "history.sqlite3"

    def env(self, extra: dict | None = None) -> dict:
        env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH") or str(ROOT), "XDG_DATA_HOME": str(self.data_base),
               "XDG_CONFIG_HOME": str(self.home / "config"), "XDG_CACHE_HOME": str(self.home / "cache")}
        return {**env, **(extra or {})}


# ---- a coach process and what it printed -----------------------------------------------------------

@contextlib.contextmanager
def _hangup_as_from_a_terminal():
    """Start children with SIGHUP at its default, as a shell on a terminal does. Under ``nohup`` it is
    ignored, a child inherits that, and a coach rightly leaves an ignored SIGHUP ignored: the drill's
    SIGHUPs would then be no-ops."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGHUP, signal.SIG_DFL)
    try:
        yield
    finally:
        signal.signal(signal.SIGHUP, before)


class Coach:
    """``voice-coach ARGS`` with typed input; its JSON lines are collected with the time they arrived."""

    def __init__(self, folder: Folder, *args: str, env: dict | None = None):
        self.args = args
        # faulthandler: a coach that does not end in time is aborted, and prints where each thread was
        with _hangup_as_from_a_terminal():
            self.proc = subprocess.Popen([sys.executable, "-m", "voice_coach", *args], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                         env=folder.env({"PYTHONFAULTHANDLER": "1", **(env or {})}))
        self.lines: queue.Queue = queue.Queue()
        self.events: list[tuple[float, dict]] = []
        self._err: list[str] = []
        threading.Thread(target=self._read_out, daemon=True).start()
        self._err_thread = threading.Thread(target=self._read_err, daemon=True)
        self._err_thread.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read_out(self) -> None:
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                event = {"type": "text", "text": line.rstrip()}
            self.events.append((time.monotonic(), event))
            self.lines.put(event)
        self.lines.put(None)

    def _read_err(self) -> None:
        for line in self.proc.stderr:
            self._err.append(line)

    @property
    def err(self) -> str:
        return "".join(self._err)

    def send(self, text: str) -> None:
        try:
            self.proc.stdin.write(text)
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass

    def wait_for(self, pred, timeout: float = 20.0) -> dict | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return None
            if event is None:
                return None
            if pred(event):
                return event
        return None

    def feed_next(self, count: int = 8, gap: float = 0.05) -> None:
        def go() -> None:
            for _ in range(count):
                time.sleep(gap)
                self.send("next\n")
        threading.Thread(target=go, daemon=True).start()

    def close_input(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.proc.stdin.close()

    def wait(self, timeout: float = 15.0) -> int | None:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGABRT)  # the threads' tracebacks go to err
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            code = None
        self._err_thread.join(5)
        return code

    def end_reason(self) -> str | None:
        ends = [e for _, e in self.events if e.get("type") == "end"]
        return ends[-1]["reason"] if ends else None

    def saw(self, kind: str, before: float | None = None) -> bool:
        return any(e.get("type") == kind and (before is None or t < before) for t, e in self.events)


def once(folder: Folder, *args: str, input: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voice_coach", *args], input=input, capture_output=True,
                          text=True, timeout=60, env=folder.env(env))


# ---- checking the history with plain SQL ------------------------------------------------------------

@dataclass
class Row:
    id: int
    steps_total: int
    ended: str | None
    reason: str | None
    owner: int | None
    finished_steps: int
    started_order: list[int]


def rows(db: Path) -> list[Row]:
    if not db.exists():
        return []
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        out = []
        for sid, total, ended, reason, owner in conn.execute(
                "SELECT id, steps_total, ended_utc, end_reason, owner_pid FROM sessions ORDER BY id"):
            fin = conn.execute("SELECT COUNT(DISTINCT idx) FROM steps WHERE session_id = ? AND status != 'started'",
                               (sid,)).fetchone()[0]
            order = [r[0] for r in conn.execute(
                "SELECT idx FROM steps WHERE session_id = ? AND status = 'started' ORDER BY id", (sid,))]
            out.append(Row(sid, total, ended, reason, owner, fin, order))
        return out
    finally:
        conn.close()


def integrity(db: Path) -> str:
    if not db.exists():
        return "ok"
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


@dataclass
class Tally:
    runs: int = 0
    written: int = 0
    correct: int = 0
    misfiled: int = 0
    tracebacks: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Drill:
    def __init__(self, rng: random.Random, work: Path, room_env: dict | None, mounts: bool):
        self.rng = rng
        self.work = work
        self.room_env = room_env
        self.mounts = mounts
        self.tallies: dict[str, Tally] = {}
        self.dead: set[int] = set()  # pids that died without ending their session (SIGKILL, early signal)

    def tally(self, name: str) -> Tally:
        return self.tallies.setdefault(name, Tally())

    def folder(self, data_base: Path | None = None) -> Folder:
        home = Path(tempfile.mkdtemp(prefix="u-", dir=self.work))
        base = data_base or home / "data"
        base.mkdir(parents=True, exist_ok=True)
        return Folder(home, base)

    def count(self, t: Tally, *outputs: str, runs: int = 1) -> None:
        t.runs += runs
        for o in outputs:
            if "Traceback" in o:
                t.tracebacks += o.count("Traceback")
                t.problems.append("traceback: " + " | ".join(o[o.index("Traceback"):].strip().splitlines()[-4:]))

    def judge(self, t: Tally, db: Path, what: str, new_ids: set[int] | None = None) -> None:
        """Every row must be consistent; rows in ``new_ids`` (default all) are counted."""
        check = integrity(db)
        if check != "ok":
            t.problems.append(f"{what}: integrity {check}")
        for r in rows(db):
            if new_ids is not None and r.id not in new_ids:
                continue
            t.written += 1
            bad = []
            order = r.started_order
            if order and order != list(range(order[0], order[0] + len(order))):
                bad.append(f"steps interleaved {order}")
            if r.reason == "finished" and r.finished_steps != r.steps_total:
                bad.append(f"finished with {r.finished_steps}/{r.steps_total} steps")
            if r.reason == "interrupted" and r.owner not in self.dead:
                bad.append(f"marked interrupted but its process {r.owner} had not died")
                t.misfiled += 1
            if r.ended is None and r.owner not in self.dead:
                bad.append("left open by a process that ended normally")
                t.misfiled += 1
            if bad:
                t.problems.append(f"{what}: session {r.id}: " + "; ".join(bad))
            else:
                t.correct += 1

    # ---- scenarios ------------------------------------------------------------------------------

    def session_args(self, *extra: str) -> list[str]:
        return ["run", ROUTINE, "--text", "--json", "--no-pain", "--time-scale", SCALE, *extra]

    def two_runs(self) -> None:
        t, f = self.tally("two runs"), self.folder()
        a = Coach(f, *self.session_args())
        a.wait_for(lambda e: e.get("type") == "question")
        b = once(f, *self.session_args(), input="no\n")
        self.count(t, b.stderr, runs=2)
        if b.returncode != EXIT_RUNNING or f"pid {a.pid}" not in b.stderr:
            t.problems.append(f"two runs: the second exited {b.returncode}: {b.stderr.strip()[:200]}")
        a.send("no\n")
        a.feed_next()
        a.wait_for(lambda e: e.get("type") == "end")
        a.close_input()
        code = a.wait()
        self.count(t, a.err, runs=0)
        if code != 0 or a.end_reason() != "finished":
            t.problems.append(f"two runs: the first exited {code}, end {a.end_reason()}")
        found = rows(f.history)
        if len(found) != 1 or found[0].reason != "finished":
            t.problems.append(f"two runs: expected one finished session, got {found}")
            t.misfiled += 1 if any(r.reason == "interrupted" for r in found) else 0
        self.judge(t, f.history, "two runs")

    def signals(self) -> None:
        t, f = self.tally("signals at random moments"), self.folder()
        for _ in range(self.rng.randint(3, 6)):
            self._signal_once(t, f)
        self.judge(t, f.history, "signals")

    def _signal_once(self, t: Tally, f: Folder) -> None:
        sig = self.rng.choice([signal.SIGTERM, signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGKILL])
        before = {r.id for r in rows(f.history)}
        c = Coach(f, *self.session_args("--new"))
        # Mostly during the session, sometimes while it starts up. SIGINT (Ctrl-C, a person at the
        # keyboard) only once the coach has printed something: in the first ~30 ms the Python
        # interpreter itself is starting, and it prints its own KeyboardInterrupt traceback.
        if self.rng.random() < 0.8 or sig == signal.SIGINT:
            c.wait_for(lambda e: e.get("type") == "step", 10)
        c.send("no\n")
        c.feed_next(self.rng.randint(1, 8), self.rng.uniform(0.01, 0.08))
        time.sleep(self.rng.uniform(0.0, 0.6))
        sent = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            os.kill(c.pid, sig)
        code = c.wait(10)
        self.count(t, c.err)
        t.notes.append(f"{sig.name} {'in a session' if c.saw('step', before=sent) else 'while starting'}")
        if code is None:
            t.problems.append(f"{sig.name}: did not exit within 10 s")
        new = [r for r in rows(f.history) if r.id not in before]
        end = c.end_reason()
        if sig == signal.SIGKILL:
            if new and new[-1].ended is None:
                self.dead.add(c.pid)
                self._offered_after_kill(t, f, new[-1].id)
            return
        if len(new) > 1:
            t.problems.append(f"{sig.name}: one run wrote {len(new)} sessions")
        if c.saw("step", before=sent) and end is None:
            t.problems.append(f"{sig.name}: the session was running but never ended")
        if new and end is not None and new[-1].reason != end:
            t.problems.append(f"{sig.name}: printed end '{end}' but the history says {new[-1].reason}")
        if new and new[-1].ended is None:
            self.dead.add(c.pid)  # the signal came before the session took over its handlers: a crash

    def _offered_after_kill(self, t: Tally, f: Folder, killed: int) -> None:
        """After a SIGKILL the next run offers to resume; "new" closes the old one as interrupted."""
        r = once(f, *self.session_args(), input="new\nstop\n")
        self.count(t, r.stderr)
        first = json.loads(r.stdout.splitlines()[0]) if r.stdout else {}
        if "was interrupted" not in first.get("text", ""):
            t.problems.append(f"after SIGKILL: no resume offer (exit {r.returncode}): {r.stdout[:120]}")
        row = next((x for x in rows(f.history) if x.id == killed), None)
        if row is None or row.reason != "interrupted":
            t.problems.append(f"after SIGKILL and 'new': the killed session is {row}")

    def disk_full(self) -> None:
        t = self.tally("disk full")
        with tmpfs(1024) as fs:
            f = self.folder(fs)
            seed = once(f, *self.session_args(), input="no\n" + "next\n" * 8)
            self.count(t, seed.stderr)
            early, recover = self.rng.random() < 0.25, self.rng.random() < 0.5
            filler = fill(fs) if early else None
            h = once(f, "history", "--json")
            self.count(t, h.stderr)
            if h.returncode not in (0, EXIT_DISK_FULL) or "damaged" in h.stderr:
                t.problems.append(f"history on a full disk: exit {h.returncode}: {h.stderr.strip()[:160]}")
            c = Coach(f, *self.session_args("--new"))
            if early and not c.wait_for(lambda e: e.get("type") == "question"):
                code = c.wait(20)  # refused at the start: it must say why, and change nothing
                self.count(t, c.err)
                if code != EXIT_DISK_FULL or "disk is full" not in c.err:
                    t.problems.append(f"full disk at the start: exit {code}: {c.err.strip()[-200:]}")
                t.notes.append(f"full at the start: refused, exit {code}")
                filler.unlink()
                self.judge_full(t, f, c, saved=False)
                return
            c.send("no\n")
            c.wait_for(lambda e: e.get("type") == "step" and e.get("index") == 1)
            if filler is None:
                filler = fill(fs)
            c.feed_next(6, 0.05)
            c.wait_for(lambda e: e.get("type") == "step" and e.get("index") == 3)
            if recover:
                filler.unlink()
            c.wait_for(lambda e: e.get("type") == "end")
            c.close_input()
            code = c.wait(20)
            self.count(t, c.err)
            if recover:
                if code != 0:
                    t.problems.append(f"disk full, then room again: exit {code}: {c.err.strip()[-200:]}")
            elif code not in (0, EXIT_DISK_FULL) or (code == EXIT_DISK_FULL and "disk is full" not in c.err):
                t.problems.append(f"disk stays full: exit {code}: {c.err.strip()[-200:]}")
            refused = "cannot save this session" in json.dumps([e for _, e in c.events])
            t.notes.append(f"{'a write refused' if refused else 'no write refused'}, "
                           f"{'room again' if recover else 'stays full'}, exit {code}")
            if filler.exists():
                filler.unlink()
            self.judge_full(t, f, c, saved=code == 0)

    def judge_full(self, t: Tally, f: Folder, c: Coach, saved: bool) -> None:
        check = integrity(f.history)
        if check != "ok":
            t.problems.append(f"disk full: integrity {check}")
        found = rows(f.history)
        t.written += len(found)
        for r in found:
            mine = r.owner == c.pid
            if r.reason == "finished" and r.finished_steps == r.steps_total:
                t.correct += 1
            elif mine and not saved:  # told plainly that it could not be saved: what is there is a prefix
                t.correct += 1
                self.dead.add(c.pid)
            else:
                t.problems.append(f"disk full: session {r.id} is {r}")
                t.misfiled += 1
        if saved and not any(r.owner == c.pid and r.reason == "finished" for r in found):
            t.problems.append("disk full: exit 0 but the session is not in the history")
            t.misfiled += 1

    def read_only(self) -> None:
        t = self.tally("read-only folder")
        with tmpfs(4096) as fs:
            f = self.folder(fs)
            seed = once(f, *self.session_args(), input="no\n" + "next\n" * 8)
            add = once(f, "schedule", "add", ROUTINE, "--daily", "20:00", "--tz", "UTC")
            self.count(t, seed.stderr, add.stderr, runs=2)
            before_rows = once(f, "history", "--json").stdout
            files = sorted(p for p in f.data.rglob("*") if p.is_file())
            snap = digest(*files)
            remount(fs, "ro")
            try:
                r = once(f, *self.session_args(), input="no\nnext\n")
                h = once(f, "history", "--json")
                s = once(f, "schedule", "add", ROUTINE, "--daily", "21:00", "--tz", "UTC")
                self.count(t, r.stderr, h.stderr, s.stderr, runs=3)
                if r.returncode != EXIT_READ_ONLY or "read-only" not in r.stderr:
                    t.problems.append(f"run on a read-only folder: exit {r.returncode}: {r.stderr.strip()[:160]}")
                if h.returncode != 0 or h.stdout != before_rows:
                    t.problems.append(f"history on a read-only folder: exit {h.returncode}: {h.stderr.strip()[:160]}")
                if s.returncode != EXIT_READ_ONLY or "read-only" not in s.stderr:
                    t.problems.append(f"schedule add on a read-only folder: exit {s.returncode}: {s.stderr.strip()[:160]}")
            finally:
                remount(fs, "rw")
            if digest(*files) != snap:
                t.problems.append("read-only folder: a file changed")
            self.judge(t, f.history, "read-only")

    def wal_damage(self) -> None:
        t, f = self.tally("WAL damage after a crash"), self.folder()
        n = self.rng.randint(2, 5)
        code = ("import os, signal, sys; from datetime import datetime, timezone, timedelta;"
                "from voice_coach.history import HistoryStore; s = HistoryStore.open();"
                "t = datetime(2026, 1, 1, tzinfo=timezone.utc)\n"
                f"for k in range({n}):\n"
                "    i = s.begin('r', 'R', 1, t + timedelta(hours=k), ['a']); s.step(i, 0, 'a', 'started', t + timedelta(hours=k));"
                " s.pain(i, 'before', 3, t + timedelta(hours=k))\n"
                "os.kill(os.getpid(), signal.SIGKILL)\n")  # a crash mid-session: all of it only in the WAL
        subprocess.run([sys.executable, "-c", code], env=f.env(), capture_output=True)
        wal = f.history.with_name("history.sqlite3-wal")
        data = bytearray(wal.read_bytes())
        page = int.from_bytes(data[8:12], "big")
        frames = (len(data) - 32) // (24 + page)
        where = self.rng.choice(["header", "frame"])
        t.notes.append(f"damaged {where}")
        if where == "header":
            pos = self.rng.randint(24, 31)  # the header's checksum
        else:  # a frame of an early transaction (a later commit follows it)
            k = self.rng.randint(0, max(0, frames - 4))
            pos = 32 + k * (24 + page) + 24 + self.rng.randint(0, page - 1)
        data[pos] ^= 0xFF
        wal.write_bytes(bytes(data))
        snap = digest(f.history, wal)
        h = once(f, "history", "--since", "all", "--json")
        r = once(f, *self.session_args(), input="no\nnext\n")
        self.count(t, h.stderr, r.stderr, runs=2)
        t.written += n
        if h.returncode == EXIT_DAMAGED and r.returncode == EXIT_DAMAGED and digest(f.history, wal) == snap:
            t.correct += n  # left byte for byte as it was, for a rescue with sqlite3 .recover
        else:
            t.misfiled += n
            t.problems.append(f"WAL damage ({where}): history {h.returncode} {h.stdout[:40]!r} {h.stderr.strip()[:120]}; "
                              f"run {r.returncode}; files unchanged: {digest(f.history, wal) == snap}")

    def index_damage(self) -> None:
        t, f = self.tally("damage that passes quick_check"), self.folder()
        for _ in range(3):
            once(f, *self.session_args(), input="no\n" + "next\n" * 8)
        conn = sqlite3.connect(f.history)
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'sessions_started'").fetchone()[0]
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        conn.close()
        data = bytearray(f.history.read_bytes())
        base = (root - 1) * page
        for k in range(page - 60, page - 40):  # cell content sits at the page's end: the indexed times
            data[base + k] = 0xFF
        f.history.write_bytes(bytes(data))
        snap = digest(f.history)
        h = once(f, "history", "--since", "all", "--json")
        r = once(f, *self.session_args(), input="no\nnext\n")
        self.count(t, h.stderr, r.stderr, runs=5)
        t.written += 3
        if h.returncode == EXIT_DAMAGED and r.returncode == EXIT_DAMAGED and digest(f.history) == snap:
            t.correct += 3
        else:
            t.misfiled += 3
            t.problems.append(f"index damage: history {h.returncode} {h.stderr.strip()[:120]}; run {r.returncode}")

    def serve_pair(self, first: str) -> None:
        """serve + run, run + serve, serve + serve: the second is refused and names the first."""
        name = "run + serve, two serves"
        t, f = self.tally(name), self.folder()
        if self.room_env is None:
            t.problems.append("not run: start the virtual room (scripts/virtual-room start)")
            return
        env = self.room_env
        if first == "serve":
            a = Coach(f, "serve", "--poll", "5", env=env)
            deadline = time.monotonic() + 60
            while "serving" not in a.err and time.monotonic() < deadline and a.proc.poll() is None:
                time.sleep(0.2)
            second = self.rng.choice(["run", "serve"])
            b = once(f, *(self.session_args() if second == "run" else ["serve"]), input="no\n", env=env)
        else:
            a = Coach(f, *self.session_args())
            a.wait_for(lambda e: e.get("type") == "question")
            b = once(f, "serve", env=env)
        self.count(t, b.stderr, runs=2)
        if b.returncode != EXIT_RUNNING or f"pid {a.pid}" not in b.stderr:
            t.problems.append(f"{first} first: the second exited {b.returncode}: {b.stderr.strip()[:200]}")
        a.proc.send_signal(signal.SIGTERM)
        code = a.wait(15)
        self.count(t, a.err, runs=0)
        if code not in (0,) and not (first == "run" and code is not None):
            t.problems.append(f"{first} first: SIGTERM gave exit {code}")
        self.judge(t, f.history, name)


def room_env() -> dict | None:
    room = ROOT / "scripts" / "virtual-room"
    if subprocess.run([str(room), "status"], capture_output=True).returncode != 0:
        return None
    env = {}
    for line in subprocess.run([str(room), "env"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export "):].partition("=")
            env[key] = value.strip("'\"")
    return env


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=200, help="at least this many coach processes (default 200)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--serve-rounds", type=int, default=4, help="serve scenarios (each loads the recognizer)")
    ap.add_argument("--only", help="one scenario's method name, e.g. signals (for a closer look)")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    mounts = can_mount()
    with tempfile.TemporaryDirectory(prefix="vc-drill-") as work:
        drill = Drill(rng, Path(work), room_env(), mounts)
        plan = ["two_runs", "wal_damage", "index_damage"] + (["disk_full", "read_only"] if mounts else [])
        for k in range(args.serve_rounds):
            drill.serve_pair("serve" if k % 2 == 0 else "run")
        if args.only:
            plan = [args.only]
        started = time.monotonic()
        while sum(t.runs for t in drill.tallies.values()) < args.runs:
            for name in plan + ([] if args.only else ["signals", "signals", "signals"]):
                getattr(drill, name)()
        took = time.monotonic() - started
    if not mounts:
        drill.tally("disk full").problems.append("not run: needs root to mount a small tmpfs")
        drill.tally("read-only folder").problems.append("not run: needs root to mount a small tmpfs")
    head = ("scenario", "runs", "sessions written", "sessions correct", "misfiled or lost", "tracebacks")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    total = Tally()
    for name, t in drill.tallies.items():
        print(f"| {name} | {t.runs} | {t.written} | {t.correct} | {t.misfiled} | {t.tracebacks} |")
        for field_ in ("runs", "written", "correct", "misfiled", "tracebacks"):
            setattr(total, field_, getattr(total, field_) + getattr(t, field_))
    print(f"| **all** | {total.runs} | {total.written} | {total.correct} | {total.misfiled} | {total.tracebacks} |")
    print()
    for name, t in drill.tallies.items():
        if t.notes:
            counts = Counter(t.notes)
            print(f"{name}: " + "; ".join(f"{n} x {k}" for k, n in sorted(counts.items())))
    problems = [p for t in drill.tallies.values() for p in t.problems]
    print(f"{total.runs} coach processes in {took:.0f} s (seed {args.seed}); problems: {len(problems)}")
    for p in problems[:40]:
        print("  -", p)
    return 0 if not problems and total.misfiled == 0 and total.tracebacks == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
