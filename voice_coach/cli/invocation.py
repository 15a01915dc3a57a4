"""How to type voice-coach on this machine, for the hints the program prints.

After ``./scripts/run`` or ``scripts/install-pi.sh`` the ``voice-coach`` command is inside a
virtual environment that is not on ``PATH``, so a hint saying ``voice-coach devices`` would not
work; the hint says ``.venv/bin/voice-coach devices`` (or the full path) instead.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

NAME = "voice-coach"


def command() -> str:
    """``voice-coach`` when that runs this install, else the path of this install's script."""
    script = Path(sys.prefix) / "bin" / NAME  # where pip put the command of this environment
    if not script.exists():
        return NAME
    on_path = shutil.which(NAME)
    try:
        if on_path and os.path.samefile(on_path, script):
            return NAME
    except OSError:
        pass
    here = Path.cwd()
    if here != Path("/") and script.is_relative_to(here):
        return str(script.relative_to(here))  # e.g. .venv/bin/voice-coach after ./scripts/run
    return str(script)


def with_real_command(message: str) -> str:
    """Rewrite the quoted hints of ``message`` ('voice-coach devices') to the command that works."""
    cmd = command()
    if cmd == NAME:
        return message
    return message.replace(f"'{NAME} ", f"'{cmd} ").replace(f"e.g. {NAME} ", f"e.g. {cmd} ")
