"""Helpers shared by tests in more than one folder (tests/conftest.py puts this folder on sys.path)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
VIRTUAL_ROOM = ROOT / "scripts" / "virtual-room"


def load_script(name: str) -> ModuleType:
    """A module from scripts/ (e.g. make_corpus), imported once per process."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def room_env(why: str) -> dict[str, str]:
    """This process's environment plus the virtual room's variables; fails (``why``) when it is down."""
    if subprocess.run([str(VIRTUAL_ROOM), "status"], capture_output=True).returncode != 0:
        pytest.fail(f"{why}: start the virtual room with 'scripts/virtual-room start'")
    env = os.environ.copy()
    out = subprocess.run([str(VIRTUAL_ROOM), "env"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export "):].partition("=")
            env[key] = value.strip("'\"")
    return env


def wait_for_log(log: Path, text: str, proc: subprocess.Popen, timeout: float = 30) -> str:
    """The log's content once ``text`` appears in it; fails if the process exits first or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = log.read_text(errors="replace") if log.exists() else ""
        if text in content:
            return content
        if proc.poll() is not None:
            pytest.fail(f"serve exited ({proc.returncode}) before '{text}':\n{content}")
        time.sleep(0.1)
    pytest.fail(f"no '{text}' within {timeout} s; serve log:\n{log.read_text(errors='replace')}")
