"""Per-user folders. They follow the XDG variables so tests and second users never collide.

The data and config folders hold health data (history, schedule, settings), so they are private
whatever the umask: folders 0700, files 0600 (:func:`private_dir`, :func:`private_file`), and
:func:`secure_user_folders` fixes an install made before that.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import platformdirs

APP = "voice-coach"


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP))


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP))


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP))


def settings_file() -> Path:
    return config_dir() / "settings.toml"


def user_routines_dir() -> Path:
    """Where a user drops their own routine files (``*.toml``)."""
    return data_dir() / "routines"


def lock_file() -> Path:
    """Held (fcntl) by the one ``run`` or ``serve`` using this data folder; says who holds it."""
    return data_dir() / "coach.lock"


def history_db() -> Path:
    return data_dir() / "history.sqlite3"


def schedule_db() -> Path:
    return data_dir() / "schedule.sqlite3"


def project_models_dir() -> Path:
    """``models/`` next to the package when run from a checkout; may not exist."""
    return Path(__file__).resolve().parent.parent / "models"


def user_models_dir() -> Path:
    return data_dir() / "models"


DIR_MODE = 0o700
FILE_MODE = 0o600
_secured = False


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents of it inside the XDG base) as 0700; tighten it if it exists."""
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    _tighten(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Make sure ``path`` exists as a 0600 file before a library (SQLite, SQLAlchemy) opens it.

    SQLite gives its -wal and -shm files the main file's mode, so they are private too.
    """
    private_dir(path.parent)
    if path.exists():
        _tighten(path, FILE_MODE)
        return path
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, FILE_MODE))
    return path


def secure_user_folders() -> None:
    """Folders 0700 and files 0600 under the data and config folders (an older install was 0755/0644).

    Runs once per process, before the first write there; only what differs is changed. Never follows
    symlinks (a link inside the folder is left as it is).
    """
    global _secured
    if _secured:
        return
    _secured = True
    for base in (data_dir(), config_dir()):
        if not base.is_dir():
            continue
        try:
            _tighten(base, DIR_MODE)
            for root, dirs, files in os.walk(base):
                for name in dirs:
                    _tighten(Path(root, name), DIR_MODE)
                for name in files:
                    _tighten(Path(root, name), FILE_MODE)
        except OSError:  # a read-only folder: the command itself will say so
            continue


def _tighten(path: Path, mode: int) -> None:
    st = path.lstat()
    if stat.S_ISLNK(st.st_mode) or stat.S_IMODE(st.st_mode) == mode:
        return
    path.chmod(mode)
