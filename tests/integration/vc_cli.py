"""Run the real command line in a subprocess, with the test's own per-user folders."""

from __future__ import annotations

import os
import subprocess
import sys


def voice_coach(*args: str, input: str | None = None, timeout: float = 120, env: dict | None = None,
                check: bool = False) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    result = subprocess.run([sys.executable, "-m", "voice_coach", *args], input=input, capture_output=True,
                            text=True, timeout=timeout, env=full_env)
    if check and result.returncode != 0:
        raise AssertionError(f"voice-coach {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result
