"""The session history: one SQLite file in the per-user data folder, written as the session goes.

Why these settings: WAL lets ``voice-coach history`` read while a session writes; ``synchronous=FULL``
syncs the log on every commit, so a power cut loses at most the write in flight (writes are a few
per minute, the cost is nothing). Every write is its own committed transaction. The file is checked
read-only before anything is written (quick check, the WAL's checksums, and for a writer a full
integrity check), so a damaged file or one from a newer voice-coach is left byte-for-byte as it was.
Readers (``history``, ``report``) open it with ``mode=ro``: they never write, checkpoint or delete.
A read that fails on a file the quick check passed runs the full integrity check and reports damage;
after that, this store writes nothing more into the file. Failures are told apart (full disk,
read-only, locked, damaged: :mod:`voice_coach.storage`). Open sessions carry their owner process, so
only a session whose process is gone counts as interrupted.

One connection per store, shared across threads under a lock (the runner writes from its own thread).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from voice_coach import instance, paths, storage
from voice_coach.errors import EXIT_DAMAGED, StorageError, UserError
from voice_coach.history import schema, wal
from voice_coach.history.records import MissedSession, Note, SessionRecord
from voice_coach.history.timefmt import decode, encode, require_aware, utc_text

log = logging.getLogger(__name__)

_SQLITE_MAGIC = b"SQLite format 3\x00"
STEP_STATUSES = ("started", "done", "skipped")
PAIN_PHASES = ("before", "after")
WAL_RECHECK_S = 0.2
# How long a write waits for another program's lock (the session waits on it): after that the write
# is "locked" and the session keeps it in memory for the next try.
WRITE_WAIT_MS = 2000


@dataclass(frozen=True)
class DeleteCounts:
    sessions: int
    missed: int
    notes: int

    @property
    def total(self) -> int:
        return self.sessions + self.missed + self.notes


def _damaged(path: Path, why: str) -> StorageError:
    return StorageError(
        f"The history file {path} is damaged ({why}). It was left untouched. "
        f"To start a new history, move it aside (e.g. mv '{path}' '{path}.damaged'); "
        "you can still try to rescue it with the sqlite3 tool's .recover command.",
        "damaged", EXIT_DAMAGED,
    )


def _classify(exc: BaseException, path: Path, doing: str) -> StorageError:
    found = storage.classify(exc, path, doing)
    return _damaged(path, str(exc)) if found.kind == "damaged" and not isinstance(exc, StorageError) else found


def _connect_ro(path: Path) -> sqlite3.Connection:
    """A connection that cannot write, checkpoint or delete. In a read-only folder or on a full disk
    SQLite cannot create the WAL's -shm index; with no WAL left over the file alone holds everything,
    so it is then opened as immutable (nobody can write it there anyway)."""
    uri = path.resolve().as_uri()
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=5, check_same_thread=False)
    try:
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        return conn
    except sqlite3.Error as exc:
        conn.close()
        wal_file = path.with_name(path.name + "-wal")
        stuck = storage.classify(exc, path, "read").kind in ("read-only", "full")
        if not stuck or (wal_file.exists() and wal_file.stat().st_size > 0):
            raise
    return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, timeout=5, check_same_thread=False)


def _integrity(conn: sqlite3.Connection, quick: bool) -> list[str]:
    return [r[0] for r in conn.execute("PRAGMA quick_check(5)" if quick else "PRAGMA integrity_check(5)")]


def _inspect(path: Path, full_check: bool = False) -> tuple[int, set[str]]:
    """Read-only look at an existing file: its version and table names. Raises StorageError if damaged.

    ``full_check``: the full integrity check (indexes against tables), for a process about to write.
    """
    size = path.stat().st_size
    if size == 0:
        return 0, set()
    try:
        with path.open("rb") as fh:
            head = fh.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise _classify(exc, path, "read") from None
    if head != _SQLITE_MAGIC:
        raise _damaged(path, "it is not an SQLite database")
    broken_wal = wal.problem(path)
    if broken_wal:  # look again: a writer in another process may have been mid-write
        time.sleep(WAL_RECHECK_S)
        broken_wal = wal.problem(path)
    if broken_wal:
        raise _damaged(path, broken_wal)
    absent = [p for p in _sidecars(path) if not p.exists()]
    try:
        conn = _connect_ro(path)
    except sqlite3.Error as exc:
        raise _left_as_found(_classify(exc, path, "open"), path, absent) from None
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        check = _integrity(conn, quick=not full_check)
    except sqlite3.Error as exc:
        conn.close()
        raise _left_as_found(_classify(exc, path, "read"), path, absent) from None
    conn.close()
    if check != ["ok"]:
        raise _left_as_found(_damaged(path, "integrity check: " + "; ".join(check[:2])), path, absent)
    return version, {t for t in tables if not t.startswith("sqlite_")}


def _sidecars(path: Path) -> tuple[Path, Path]:
    """The WAL and its shared-memory index beside ``path``."""
    return path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


def _left_as_found(error: StorageError, path: Path, absent: list[Path]) -> StorageError:
    """``error``, after undoing what this look created beside a damaged file.

    Opening a damaged file whose header says WAL mode (as every history's does) creates an empty
    -wal and a -shm beside it, even read-only: the ones that were ``absent`` before are removed, so
    the folder is left as it was found. Only for damage: a locked file may have a live writer whose
    -shm must stay, and a -wal that holds anything is kept.
    """
    if error.kind != "damaged":
        return error
    wal_file, _ = _sidecars(path)
    try:
        if not (wal_file in absent and wal_file.exists() and wal_file.stat().st_size):
            for p in absent:
                p.unlink(missing_ok=True)
    except OSError:  # a read-only folder: nothing could have been created there
        log.debug("could not remove what opening %s created", path, exc_info=True)
    return error


class HistoryStore:
    """Sessions, steps, pauses, pain ratings, notes, missed sessions. Open with :meth:`open`."""

    def __init__(self, conn: sqlite3.Connection, path: Path, upgraded_from: int | None, backup: Path | None,
                 readonly: bool = False):
        self._conn = conn
        self._lock = threading.RLock()
        self.path = path
        self.readonly = readonly
        #: set once a read or write found damage: nothing more is written into the file
        self.damage: StorageError | None = None
        self._live: set[int] = set()  # sessions this store began or reopened and has not ended
        #: the version the file had before this open upgraded it (None if no upgrade happened)
        self.upgraded_from = upgraded_from
        #: the copy of the file taken before the upgrade
        self.backup_path = backup

    # ---- opening -------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | None = None, *, readonly: bool = False) -> HistoryStore:
        """Open for a session (checks fully, creates or upgrades the file), or ``readonly`` for reports.

        A reader opens formats 2 and later as they are; only format 1 is upgraded (with a copy) first.
        """
        path = Path(path) if path is not None else paths.history_db()
        version, tables = (0, set())
        if path.exists():
            version, tables = _inspect(path, full_check=not readonly)
        if version > schema.CURRENT_VERSION:
            raise UserError(
                f"The history file {path} was written by a newer voice-coach (format {version}; this one "
                f"reads up to {schema.CURRENT_VERSION}). Update voice-coach. The file was left untouched.",
                exit_code=4,
            )
        if version == 0 and tables:
            raise UserError(
                f"{path} is an SQLite file but not a voice-coach history (it has tables "
                f"{', '.join(sorted(tables)[:4])}). It was left untouched; move it aside to start a new history.",
                exit_code=4,
            )
        if readonly and version == 0:  # an empty file: nothing to read, and a reader creates nothing
            conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            cls._apply(conn, schema.statements(schema.CREATE_CURRENT), schema.CURRENT_VERSION)
            return cls(conn, path, None, None, readonly=True)
        if readonly and version >= schema.READABLE_FROM:
            try:
                return cls(_connect_ro(path), path, None, None, readonly=True)
            except sqlite3.Error as exc:
                raise _classify(exc, path, "read") from None
        backup = None
        try:
            paths.secure_user_folders()
            paths.private_file(path)
            if 0 < version < schema.CURRENT_VERSION:
                backup = path.with_name(f"{path.name}.v{version}-backup")
                cls._backup(path, backup)
            conn = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(f"PRAGMA busy_timeout = {WRITE_WAIT_MS}")
            if version == 0:
                cls._apply(conn, schema.statements(schema.CREATE_CURRENT), schema.CURRENT_VERSION)
            for v in range(version or schema.CURRENT_VERSION, schema.CURRENT_VERSION):
                cls._apply(conn, schema.statements(schema.UPGRADES[v]), v + 1)
        except (sqlite3.Error, OSError) as exc:
            raise _classify(exc, path, "write the history file") from None
        if backup is not None:
            log.info("upgraded %s from format %d to %d (copy: %s)", path, version, schema.CURRENT_VERSION, backup)
        return cls(conn, path, version if backup else None, backup)

    @staticmethod
    def _backup(path: Path, backup: Path) -> None:
        """A consistent copy before an upgrade (SQLite's online backup includes the WAL's content)."""
        src = _connect_ro(path)
        paths.private_file(backup)
        dst = sqlite3.connect(backup)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()

    @staticmethod
    def _apply(conn: sqlite3.Connection, stmts: list[str], version: int) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for stmt in stmts:
                conn.execute(stmt)
            conn.execute(f"PRAGMA user_version = {int(version)}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction under the lock; a storage failure is raised as a StorageError."""
        with self._lock:
            if self.damage is not None:
                raise self.damage
            if self.readonly:
                raise UserError(f"{self.path} was opened read-only")  # a bug: readers never write
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except (sqlite3.Error, OSError) as exc:
                if self._conn.in_transaction:
                    try:
                        self._conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                raise self._failed(exc, "write to") from None

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """Reads under the lock; a failure becomes a StorageError (damage is confirmed by integrity_check)."""
        with self._lock:
            if self.damage is not None:
                raise self.damage
            try:
                yield self._conn
            except (sqlite3.Error, UnicodeDecodeError, OSError) as exc:
                raise self._failed(exc, "read") from None
            except (ValueError, TypeError) as exc:  # a stored time or list that is not what was written
                self.damage = _damaged(self.path, self._full_check() or f"a stored value cannot be read: {exc}")
                raise self.damage from None

    def _failed(self, exc: BaseException, doing: str) -> StorageError:
        found = _classify(exc, self.path, doing)
        if found.kind in ("damaged", "io") and not isinstance(exc, OSError):
            check = self._full_check()
            if check is not None:
                found = _damaged(self.path, check)
            elif found.kind == "io":
                return found
        if found.kind == "damaged":
            self.damage = found  # never write into a damaged file
        return found

    def _full_check(self) -> str | None:
        """What the full integrity check says is wrong, or None when it finds the file sound."""
        try:
            conn = _connect_ro(self.path)
        except sqlite3.Error:
            return None
        try:
            found = _integrity(conn, quick=False)
        except sqlite3.Error as exc:
            return str(exc)
        finally:
            conn.close()
        return None if found == ["ok"] else "integrity check: " + "; ".join(found[:2])

    # ---- writes (each one committed at once) ---------------------------------------------------

    def begin(self, routine_id: str, routine_title: str, steps_total: int, started: datetime, step_ids: list[str]) -> int:
        """Start a session owned by this process; a session left open by a process that is gone (a crash
        nobody resumed) is closed as interrupted. One whose owner still runs is left alone."""
        at, off = encode(require_aware(started, "started"))
        pid, boot, start = instance.me()
        with self._tx() as c:
            for sid in self._orphans(c):
                self._close_interrupted(c, sid, at)
            cur = c.execute(
                "INSERT INTO sessions (routine_id, title, steps_total, step_ids, started_utc, started_off,"
                " owner_pid, owner_boot, owner_start) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (routine_id, routine_title, int(steps_total), json.dumps(list(step_ids)), at, off, pid, boot, start),
            )
            sid = int(cur.lastrowid)
        self._live.add(sid)
        return sid

    def _orphans(self, c: sqlite3.Connection) -> list[int]:
        """Open sessions (newest first) whose owner process is gone."""
        rows = c.execute("SELECT id, owner_pid, owner_boot, owner_start FROM sessions WHERE ended_utc IS NULL"
                         " ORDER BY started_utc DESC, id DESC").fetchall()
        mine = instance.me()
        out = []
        for sid, pid, boot, start in rows:
            if (pid, boot, start) == mine:
                alive = sid in self._live  # this process: open only if this store still runs it
            else:
                alive = instance.owner_alive(pid, boot, start)
            if not alive:
                out.append(int(sid))
        return out

    def step(self, session_id: int, index: int, step_id: str, status: str, at: datetime) -> None:
        if status not in STEP_STATUSES:
            raise ValueError(f"step status must be one of {STEP_STATUSES}, not {status!r}")
        t, off = encode(require_aware(at))
        with self._tx() as c:
            c.execute(
                "INSERT INTO steps (session_id, idx, step_id, status, at_utc, at_off) VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, int(index), step_id, status, t, off),
            )

    def pause(self, session_id: int, at: datetime) -> None:
        """Start a pause (a second pause while paused is ignored)."""
        t = utc_text(require_aware(at))
        with self._tx() as c:
            if not c.execute(
                "SELECT 1 FROM pauses WHERE session_id = ? AND resumed_utc IS NULL", (session_id,)
            ).fetchone():
                c.execute("INSERT INTO pauses (session_id, paused_utc) VALUES (?, ?)", (session_id, t))

    def resume(self, session_id: int, at: datetime) -> None:
        """End the open pause (ignored when not paused)."""
        t = utc_text(require_aware(at))
        with self._tx() as c:
            c.execute("UPDATE pauses SET resumed_utc = ? WHERE session_id = ? AND resumed_utc IS NULL", (t, session_id))

    def reopen(self, session_id: int, at: datetime) -> None:
        """Continue an interrupted session: the time between its last record and ``at`` counts as a pause."""
        t = utc_text(require_aware(at))
        pid, boot, start = instance.me()
        with self._tx() as c:
            c.execute("UPDATE sessions SET owner_pid = ?, owner_boot = ?, owner_start = ? WHERE id = ?",
                      (pid, boot, start, session_id))
            n = c.execute(
                "UPDATE pauses SET resumed_utc = ? WHERE session_id = ? AND resumed_utc IS NULL", (t, session_id)
            ).rowcount
            if not n:
                last = self._last_activity(c, session_id)
                if last is not None and last < t:
                    c.execute(
                        "INSERT INTO pauses (session_id, paused_utc, resumed_utc) VALUES (?, ?, ?)",
                        (session_id, last, t),
                    )
        self._live.add(session_id)

    def pain(self, session_id: int, when: str, value: int | None, at: datetime) -> None:
        """Store the 0-10 rating before or after a session (``None`` = the person skipped it)."""
        if when not in PAIN_PHASES:
            raise ValueError(f"pain 'when' must be one of {PAIN_PHASES}, not {when!r}")
        if value is not None and not (isinstance(value, int) and 0 <= value <= 10):
            raise ValueError(f"pain value must be an int 0-10 or None, not {value!r}")
        t, off = encode(require_aware(at))
        with self._tx() as c:
            c.execute(
                "INSERT INTO ratings (session_id, phase, value, at_utc, at_off) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (session_id, phase) DO UPDATE SET value = excluded.value,"
                " at_utc = excluded.at_utc, at_off = excluded.at_off",
                (session_id, when, value, t, off),
            )

    def end(self, session_id: int, reason: str, ended: datetime) -> None:
        """Close a session (the first end wins: a signal handler after a normal end changes nothing)."""
        t, off = encode(require_aware(ended, "ended"))
        with self._tx() as c:
            c.execute("UPDATE pauses SET resumed_utc = ? WHERE session_id = ? AND resumed_utc IS NULL", (t, session_id))
            c.execute(
                "UPDATE sessions SET ended_utc = ?, ended_off = ?, end_reason = ? WHERE id = ? AND ended_utc IS NULL",
                (t, off, reason, session_id),
            )
        self._live.discard(session_id)
        self._truncate_wal()

    def _truncate_wal(self) -> None:
        """After a session, fold the WAL into the file and empty it: a long-running serve then leaves
        readers no log to check, and a crash between sessions leaves none to lose."""
        with self._lock:
            try:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            except sqlite3.Error as exc:  # busy or out of space: the log stays, nothing is lost
                log.debug("no checkpoint after the session: %s", exc)

    def note(self, session_id: int | None, text: str, at: datetime) -> None:
        t, off = encode(require_aware(at))
        with self._tx() as c:
            c.execute(
                "INSERT INTO notes (session_id, at_utc, at_off, text) VALUES (?, ?, ?, ?)",
                (session_id, t, off, str(text)),
            )

    def record_missed(self, routine_id: str, due: datetime) -> None:
        """A scheduled session that did not happen; recording the same one twice keeps one."""
        t, off = encode(require_aware(due, "due"))
        with self._tx() as c:
            c.execute("INSERT OR IGNORE INTO missed (routine_id, due_utc, due_off) VALUES (?, ?, ?)", (routine_id, t, off))

    def mark_advice_given(self, at: datetime) -> None:
        with self._tx() as c:
            c.execute("INSERT INTO advice (at_utc) VALUES (?)", (utc_text(require_aware(at)),))

    def advice_given_since(self, dt: datetime) -> bool:
        with self._reading():
            row = self._conn.execute("SELECT 1 FROM advice WHERE at_utc >= ? LIMIT 1", (utc_text(require_aware(dt)),))
            return row.fetchone() is not None

    def abandon(self, session_id: int, at: datetime) -> None:
        """The person chose to start over: close the interrupted session as ``interrupted``.

        It is recorded as ending at its last record (the crash), not at ``at``, so its minutes stay true.
        """
        t = utc_text(require_aware(at))
        with self._tx() as c:
            self._close_interrupted(c, session_id, t)

    def delete_before(self, before: datetime) -> DeleteCounts:
        """Delete sessions started, missed sessions due, and notes written before ``before``.

        ``secure_delete`` overwrites the freed pages and the WAL is truncated, so deleted data does not
        linger in the file.
        """
        t = utc_text(require_aware(before, "before"))
        counts = self.count_before(before)
        with self._lock:
            self._conn.execute("PRAGMA secure_delete = ON")
            with self._tx() as c:
                c.execute("DELETE FROM notes WHERE at_utc < ?", (t,))
                c.execute("DELETE FROM sessions WHERE started_utc < ?", (t,))
                c.execute("DELETE FROM missed WHERE due_utc < ?", (t,))
            try:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                raise self._failed(exc, "write to") from None
        return counts

    def remove_backups(self) -> list[Path]:
        """Delete the pre-upgrade copies (``*.vN-backup``): they still hold what ``delete_before`` removed."""
        gone = []
        for copy in sorted(self.path.parent.glob(f"{self.path.name}.v*-backup")):
            for f in (copy, copy.with_name(copy.name + "-wal"), copy.with_name(copy.name + "-shm")):
                try:
                    f.unlink()
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    raise storage.classify(exc, f, "delete") from None
                if f == copy:
                    gone.append(copy)
        return gone

    def count_before(self, before: datetime) -> DeleteCounts:
        t = utc_text(require_aware(before, "before"))
        with self._reading() as c:
            sessions = c.execute("SELECT COUNT(*) FROM sessions WHERE started_utc < ?", (t,)).fetchone()[0]
            missed = c.execute("SELECT COUNT(*) FROM missed WHERE due_utc < ?", (t,)).fetchone()[0]
            notes = c.execute(
                "SELECT COUNT(*) FROM notes n WHERE n.at_utc < ? AND (n.session_id IS NULL OR n.session_id IN"
                " (SELECT id FROM sessions WHERE started_utc >= ?))",
                (t, t),
            ).fetchone()[0]
            return DeleteCounts(int(sessions), int(missed), int(notes))

    # ---- reads ---------------------------------------------------------------------------------

    def sessions(self, since: datetime | None = None, until: datetime | None = None) -> list[SessionRecord]:
        """Sessions started in [since, until), oldest first."""
        where, params = ["1 = 1"], []
        if since is not None:
            where.append("started_utc >= ?")
            params.append(utc_text(require_aware(since, "since")))
        if until is not None:
            where.append("started_utc < ?")
            params.append(utc_text(require_aware(until, "until")))
        return self._load(" AND ".join(where), params)

    def session(self, session_id: int) -> SessionRecord | None:
        found = self._load("id = ?", [session_id])
        return found[0] if found else None

    def interrupted(self) -> SessionRecord | None:
        """The latest session that never ended and whose process is gone (a crash, a power cut, a
        SIGKILL), or None. A session another running coach owns is not interrupted."""
        with self._reading() as c:
            orphans = self._orphans(c)
        return self.session(orphans[0]) if orphans else None

    def missed(self, since: datetime | None = None) -> list[MissedSession]:
        sql, params = "SELECT routine_id, due_utc, due_off FROM missed", []
        if since is not None:
            sql += " WHERE due_utc >= ?"
            params.append(utc_text(require_aware(since, "since")))
        with self._reading() as c:
            rows = c.execute(sql + " ORDER BY due_utc", params).fetchall()
        return [MissedSession(r[0], decode(r[1], r[2])) for r in rows]

    def notes(self, since: datetime | None = None) -> list[Note]:
        sql, params = "SELECT session_id, at_utc, at_off, text FROM notes", []
        if since is not None:
            sql += " WHERE at_utc >= ?"
            params.append(utc_text(require_aware(since, "since")))
        with self._reading() as c:
            rows = c.execute(sql + " ORDER BY at_utc, id", params).fetchall()
        return [Note(r[0], decode(r[1], r[2]), r[3]) for r in rows]

    # ---- internals -----------------------------------------------------------------------------

    @staticmethod
    def _last_activity(c: sqlite3.Connection, session_id: int) -> str | None:
        row = c.execute(
            "SELECT MAX(t) FROM ("
            " SELECT started_utc AS t FROM sessions WHERE id = :s"
            " UNION ALL SELECT at_utc FROM steps WHERE session_id = :s"
            " UNION ALL SELECT paused_utc FROM pauses WHERE session_id = :s"
            " UNION ALL SELECT resumed_utc FROM pauses WHERE session_id = :s"
            " UNION ALL SELECT at_utc FROM ratings WHERE session_id = :s"
            " UNION ALL SELECT at_utc FROM notes WHERE session_id = :s)",
            {"s": session_id},
        ).fetchone()
        return row[0] if row else None

    def _close_interrupted(self, c: sqlite3.Connection, session_id: int, closed: str) -> None:
        last = self._last_activity(c, session_id)
        if last is None:
            return
        c.execute("UPDATE pauses SET resumed_utc = ? WHERE session_id = ? AND resumed_utc IS NULL", (last, session_id))
        c.execute(
            "UPDATE sessions SET ended_utc = ?, ended_off = started_off, end_reason = 'interrupted', closed_utc = ?"
            " WHERE id = ? AND ended_utc IS NULL",
            (last, closed, session_id),
        )

    def _load(self, where: str, params: list) -> list[SessionRecord]:
        sub = f"SELECT id FROM sessions WHERE {where}"
        with self._reading() as c:
            rows = c.execute(
                "SELECT id, routine_id, title, steps_total, step_ids, started_utc, started_off, ended_utc,"
                f" ended_off, end_reason FROM sessions WHERE {where} ORDER BY started_utc, id",
                params,
            ).fetchall()
            steps = c.execute(
                f"SELECT session_id, idx, step_id, status, at_utc FROM steps WHERE session_id IN ({sub}) ORDER BY id",
                params,
            ).fetchall()
            pauses = c.execute(
                f"SELECT session_id, paused_utc, resumed_utc FROM pauses WHERE session_id IN ({sub}) ORDER BY id",
                params,
            ).fetchall()
            ratings = c.execute(
                f"SELECT session_id, phase, value, at_utc FROM ratings WHERE session_id IN ({sub})", params
            ).fetchall()
            notes = c.execute(
                f"SELECT session_id, text, at_utc FROM notes WHERE session_id IN ({sub}) ORDER BY at_utc, id", params
            ).fetchall()
            by = {kind: _group(items) for kind, items in (("steps", steps), ("pauses", pauses), ("ratings", ratings), ("notes", notes))}
            return [
                _assemble(r, by["steps"].get(r[0], []), by["pauses"].get(r[0], []), by["ratings"].get(r[0], []),
                          by["notes"].get(r[0], []))
                for r in rows
            ]


def _group(rows: list[tuple]) -> dict[int, list[tuple]]:
    out: dict[int, list[tuple]] = {}
    for row in rows:
        out.setdefault(row[0], []).append(row)
    return out


def _assemble(row: tuple, steps: list, pauses: list, ratings: list, notes: list) -> SessionRecord:
    """Fold one session's rows (already grouped by session) into a record."""
    sid, routine, title, total, step_ids, s_utc, s_off, e_utc, e_off, reason = row
    started = decode(s_utc, s_off)
    assert started is not None
    ended = decode(e_utc, e_off if e_off is not None else s_off)

    terminal: dict[int, str] = {}
    current: tuple[int, str] | None = None
    current_closed = False
    times = [s_utc] + ([e_utc] if e_utc else [])
    for _, idx, step_id, status, at in steps:
        times.append(at)
        if status == "started":
            current, current_closed = (idx, step_id), False
        else:
            terminal[idx] = status
            if current is not None and current[0] == idx:
                current_closed = True
    my_pauses = [(p, r) for _, p, r in pauses]
    times += [t for pr in my_pauses for t in pr if t]
    pain = {phase: value for _, phase, value, _ in ratings}
    times += [at for _, _, _, at in ratings]
    my_notes = tuple(text for _, text, _ in notes)
    times += [at for _, _, at in notes]
    last = max(times)

    end_text = e_utc or last
    active = _seconds(s_utc, end_text)
    for p, r in my_pauses:
        lo, hi = max(p, s_utc), min(r or end_text, end_text)
        if hi > lo:
            active -= _seconds(lo, hi)

    resume_index = None
    if current is not None:
        resume_index = min(current[0] + 1, max(int(total) - 1, 0)) if current_closed else current[0]
    record = SessionRecord(
        id=int(sid),
        routine=routine,
        title=title,
        started=started,
        ended=ended,
        end_reason=reason,
        steps_done=sum(1 for v in terminal.values() if v == "done"),
        steps_skipped=sum(1 for v in terminal.values() if v == "skipped"),
        steps_total=int(total),
        current_index=current[0] if current else None,
        current_step_id=current[1] if current else None,
        pain_before=pain.get("before"),
        pain_after=pain.get("after"),
        minutes=max(active, 0.0) / 60.0,
        pauses=len(my_pauses),
        last_activity=decode(last, s_off),
        step_ids=tuple(json.loads(step_ids or "[]")),
        notes=my_notes,
        resume_index=resume_index,
    )
    return record


def _seconds(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()


__all__ = ["HistoryStore", "DeleteCounts"]
