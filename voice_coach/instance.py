"""One coach per user and data folder: an OS lock that ``run`` and ``serve`` hold while they live.

Two coaches on one data folder talk over each other, obey each other and write into each other's
sessions, so the second one refuses and names the first (its pid, what it runs, since when). The lock
is ``flock`` on a file in the data folder: the kernel drops it when the holder exits, even on SIGKILL
or a power cut, so a stale lock can never block anyone. The file's text only tells who holds it.
"""

from __future__ import annotations

import fcntl
import json
import os
from datetime import datetime, timezone
from pathlib import Path

from voice_coach import paths
from voice_coach.errors import EXIT_RUNNING, UserError
from voice_coach.storage import classify


class CoachRunning(UserError):
    exit_code = EXIT_RUNNING


class InstanceLock:
    """``with InstanceLock.acquire("run ice-rollerball"):`` or hold it for the process's life."""

    def __init__(self, fd: int, path: Path):
        self._fd = fd
        self.path = path

    @classmethod
    def acquire(cls, what: str, path: Path | None = None) -> InstanceLock:
        path = path or paths.lock_file()
        paths.secure_user_folders()
        try:
            paths.private_dir(path.parent)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, paths.FILE_MODE)
        except OSError as exc:
            raise classify(exc, path, "create the lock file") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise CoachRunning(_refusal(holder, path.parent)) from None
        text = json.dumps({"pid": os.getpid(), "what": what,
                           "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}) + "\n"
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, text.encode(), 0)
        except OSError:  # a full disk: the lock still holds, only the "who" text is missing
            pass
        return cls(fd, path)

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing the only descriptor drops the flock
            self._fd = -1

    def __enter__(self) -> InstanceLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_holder(fd: int) -> dict:
    try:
        return json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (OSError, ValueError):
        return {}


def _refusal(holder: dict, folder: Path) -> str:
    pid, what = holder.get("pid"), holder.get("what") or "a session"
    since = holder.get("since")
    when = ""
    if since:
        try:
            when = f", since {datetime.fromisoformat(since).astimezone():%H:%M}"
        except ValueError:
            pass
    who = f"voice-coach {what} (pid {pid}{when})" if pid else "another voice-coach"
    hint = ("stop it first (systemctl --user stop voice-coach, or Ctrl-C where it runs); it runs your "
            "scheduled sessions itself" if str(what).startswith("serve") else "finish or stop that session first")
    return f"{who} is already running for this data folder ({folder}): {hint}. Only one coach at a time."


# ---- who owns an open session ------------------------------------------------------------------

def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), '' where /proc is missing, None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return ""
    return stat.rpartition(")")[2].split()[19]  # field 22; the name in (...) may hold spaces


def me() -> tuple[int, str, str]:
    """(pid, boot id, start time) of this process: what an open session row stores as its owner."""
    pid = os.getpid()
    return pid, _boot_id(), _start_time(pid) or ""


def owner_alive(pid: int | None, boot: str | None, start: str | None) -> bool:
    """Is the process that wrote (pid, boot, start) still running? A reboot or a reused pid says no."""
    if not pid:
        return False
    if boot and _boot_id() and boot != _boot_id():
        return False
    now = _start_time(int(pid))
    if now is None:
        return False
    if now and start:
        return now == start
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
