"""Does a native library load without killing the process? Asked in a child process first.

A crash inside a native module's import (a segmentation fault) ends the whole process: no ``except``
can turn it into a fallback. onnxruntime 1.32 (Piper's engine) does so on arm64 under qemu-user
emulation (``scripts/check-arm64``); where that can happen, the module is imported once in a child
Python and only imported here if the child survived. The verdict is kept for the process.
"""

from __future__ import annotations

import platform
import signal
import subprocess
import sys
import threading

PROBE_TIMEOUT_S = 120.0  # a Pi under load imports onnxruntime in seconds; this is "it never did"
_verdicts: dict[str, str | None] = {}
_lock = threading.Lock()


def probe_needed() -> bool:
    """Only ARM machines, where the crash was seen; elsewhere the child would only cost a start-up."""
    return platform.machine().lower() in ("aarch64", "arm64", "armv7l", "armv6l")


def crash_on_import(module: str) -> str | None:
    """Why importing ``module`` kills a fresh Python (one line), or None if it survives.

    An ordinary import error is not a crash (None): the caller's own import then says what is missing.
    """
    if module in sys.modules:
        return None
    with _lock:
        if module in _verdicts:
            return _verdicts[module]
        try:
            proc = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True,
                                  timeout=PROBE_TIMEOUT_S, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            verdict = f"loading {module} did not finish in {PROBE_TIMEOUT_S:.0f} s"
        else:
            code = proc.returncode
            verdict = None
            if code < 0:
                try:
                    name = signal.Signals(-code).name
                except ValueError:
                    name = f"signal {-code}"
                verdict = f"{module} crashes the process as it loads ({name} on {platform.machine()})"
        _verdicts[module] = verdict
        return verdict


def forget() -> None:
    """Ask again next time (tests; a library installed anew)."""
    with _lock:
        _verdicts.clear()
