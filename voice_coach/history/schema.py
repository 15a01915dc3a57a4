"""The history file's tables, its version (``PRAGMA user_version``) and the upgrades between versions.

Version 1 was the first session log (sessions, steps, pauses, ratings; UTC times only). Version 2 adds
the local UTC offset of every time (so reports show the local clock the person lived), notes, missed
scheduled sessions and the record of when the clinician advice was given. Version 3 records which
process owns an open session (pid, boot id, process start time), so a second process can tell a
session that is still running from one a crash left open. Each upgrade is a list of
statements run in one transaction; SQLite DDL is transactional, so a failed upgrade changes nothing.
"""

from __future__ import annotations

CURRENT_VERSION = 3
READABLE_FROM = 2  # readers open 2..CURRENT read-only as they are (3 only adds owner columns)

# The tables voice-coach owns; a version-0 file with other tables is someone else's database.
TABLES = frozenset({"sessions", "steps", "pauses", "ratings", "notes", "missed", "advice"})

# The tables version 2 added; both a new file and the upgrade from version 1 create them.
_V2_TABLES = """
CREATE TABLE notes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id INTEGER REFERENCES sessions (id) ON DELETE CASCADE,
    at_utc     TEXT    NOT NULL,
    at_off     INTEGER NOT NULL DEFAULT 0,
    text       TEXT    NOT NULL
);
CREATE TABLE missed (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    routine_id TEXT    NOT NULL,
    due_utc    TEXT    NOT NULL,
    due_off    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (routine_id, due_utc)
);
CREATE TABLE advice (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at_utc TEXT NOT NULL
);
"""

CREATE_CURRENT = """
CREATE TABLE sessions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    routine_id  TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    steps_total INTEGER NOT NULL,
    step_ids    TEXT    NOT NULL DEFAULT '[]',
    started_utc TEXT    NOT NULL,
    started_off INTEGER NOT NULL DEFAULT 0,
    ended_utc   TEXT,
    ended_off   INTEGER,
    end_reason  TEXT,
    closed_utc  TEXT,
    owner_pid   INTEGER,
    owner_boot  TEXT,
    owner_start TEXT
);
CREATE INDEX sessions_started ON sessions (started_utc);
CREATE TABLE steps (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    idx        INTEGER NOT NULL,
    step_id    TEXT    NOT NULL,
    status     TEXT    NOT NULL CHECK (status IN ('started', 'done', 'skipped')),
    at_utc     TEXT    NOT NULL,
    at_off     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX steps_session ON steps (session_id);
CREATE TABLE pauses (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id  INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    paused_utc  TEXT    NOT NULL,
    resumed_utc TEXT
);
CREATE INDEX pauses_session ON pauses (session_id);
CREATE TABLE ratings (
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    phase      TEXT    NOT NULL CHECK (phase IN ('before', 'after')),
    value      INTEGER CHECK (value BETWEEN 0 AND 10),
    at_utc     TEXT    NOT NULL,
    at_off     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, phase)
);
""" + _V2_TABLES

# from_version -> statements that bring a file of that version to from_version + 1
UPGRADES: dict[int, str] = {
    1: """
ALTER TABLE sessions ADD COLUMN started_off INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN ended_off INTEGER;
ALTER TABLE sessions ADD COLUMN closed_utc TEXT;
ALTER TABLE steps ADD COLUMN at_off INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ratings ADD COLUMN at_off INTEGER NOT NULL DEFAULT 0;
"""
    + _V2_TABLES
    + """CREATE INDEX IF NOT EXISTS sessions_started ON sessions (started_utc);
CREATE INDEX IF NOT EXISTS steps_session ON steps (session_id);
CREATE INDEX IF NOT EXISTS pauses_session ON pauses (session_id);
""",
    2: """
ALTER TABLE sessions ADD COLUMN owner_pid INTEGER;
ALTER TABLE sessions ADD COLUMN owner_boot TEXT;
ALTER TABLE sessions ADD COLUMN owner_start TEXT;
""",
}


def statements(script: str) -> list[str]:
    """Split a script of plain DDL (no semicolons inside statements) into statements."""
    return [s.strip() for s in script.split(";") if s.strip()]
