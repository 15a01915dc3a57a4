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
