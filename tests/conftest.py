"""Shared fixtures: every test gets its own per-user folders, so no test touches real user data."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/support.py


def pytest_configure(config):
    # `slow`: a room test that runs a whole routine in real time (minutes). The default run
    # (scripts/test, CI) runs them all; `scripts/test -m "not slow"` is the quick loop.
    config.addinivalue_line("markers", "slow: takes minutes (a whole routine in real time); -m 'not slow' skips it")


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path, monkeypatch):
    """Point the XDG folders at a fresh tmp dir (config, data, cache) for this test."""
    home = tmp_path / "user"
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache")):
        d = home / sub
        d.mkdir(parents=True)
        monkeypatch.setenv(var, str(d))
    return home
