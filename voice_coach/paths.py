"""Per-user folders. They follow the XDG variables so tests and second users never collide."""

from __future__ import annotations

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


def history_db() -> Path:
    return data_dir() / "history.sqlite3"


def schedule_db() -> Path:
    return data_dir() / "schedule.sqlite3"


def project_models_dir() -> Path:
    """``models/`` next to the package when run from a checkout; may not exist."""
    return Path(__file__).resolve().parent.parent / "models"


def user_models_dir() -> Path:
    return data_dir() / "models"
