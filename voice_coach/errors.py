"""Errors a user can act on.

Anything raised as :class:`UserError` is printed as one clear message (no traceback) by the CLI,
which exits with ``exit_code``. Everything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A mistake or missing piece the user can fix; the message says how."""

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class DeviceError(UserError):
    """An audio device is missing, busy, or disappeared."""

    exit_code = 3


# Exit codes a script (or systemd) can tell apart; 2 is a usage mistake, 3 an audio device.
EXIT_DAMAGED = 4  # a file is damaged or from a newer voice-coach; it was left untouched
EXIT_LOCKED = 5  # a file is locked by another program for longer than we wait
EXIT_DISK_FULL = 6  # no space left (or the file-size limit reached)
EXIT_READ_ONLY = 7  # the folder or file cannot be written (read-only disk, permissions)
EXIT_RUNNING = 8  # another voice-coach run/serve already uses this data folder
EXIT_IO = 9  # the disk reported an I/O error we cannot explain as one of the above


class StorageError(UserError):
    """A file could not be read or written; ``kind`` is full | read-only | locked | damaged | io."""

    def __init__(self, message: str, kind: str, exit_code: int):
        super().__init__(message, exit_code)
        self.kind = kind
