"""The ``voice-coach serve`` process: wires the real voice I/O, history and scheduler to ServeCore.

- Logging goes to stderr as ``LEVEL name: message``; under systemd (``JOURNAL_STREAM`` set) each
  line starts with a syslog priority like ``<6>`` so journald files it at the right level, and
  journald adds the timestamps.
- One coach per data folder: serve holds the instance lock (:mod:`voice_coach.instance`) for its
  life, so a second serve or a ``run`` is refused with the holder named.
- SIGTERM/SIGINT stop cleanly (a running session is told "stop" and ends; serve then exits; a second
  signal exits at once); SIGHUP re-reads the job store (the CLI sends it after each change).
- A pid file in the data folder lets the CLI find the daemon; it is trusted only after checking
  the process's command line.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from contextlib import ExitStack
from pathlib import Path

from voice_coach import paths
from voice_coach.schedule.serve import ServeConfig, ServeCore
from voice_coach.schedule.store import make_scheduler, remove_pid_file, store_errors, write_pid_file

log = logging.getLogger("voice_coach.serve")

_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


class JournalFormatter(logging.Formatter):
    """``<6>INFO voice_coach.serve: message`` under journald, ``INFO ...`` elsewhere; no timestamps."""

    def __init__(self, journald: bool):
        super().__init__("%(levelname)s %(name)s: %(message)s")
        self.journald = journald

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if not self.journald:
            return text
        prefix = f"<{_PRIORITY.get(record.levelno, 6)}>"
        return "\n".join(prefix + line for line in text.splitlines())


def setup_logging(verbosity: int = 0) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JournalFormatter(journald=bool(os.environ.get("JOURNAL_STREAM"))))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbosity >= 2 else logging.INFO)
    if verbosity < 2:  # APScheduler logs every run at INFO; ours already say what happened
        for noisy in ("apscheduler", "faster_whisper"):  # a line per run / per utterance otherwise
            logging.getLogger(noisy).setLevel(logging.WARNING)


def _stop_heard():
    from voice_coach.hearing import Heard
    from voice_coach.session.commands import Command

    return Heard(Command.STOP, None, "(the service is stopping)", 0.0, 0.0, None, 0.0)


def _run_session(routine, settings, io, history, *, time_scale: float = 1.0):
    """The session runner, imported when a session starts (it pulls in the whole engine)."""
    from voice_coach.app import run_session

    return run_session(routine, settings, io, history, time_scale=time_scale)


def serve(settings, *, config: ServeConfig = ServeConfig(), db_path: Path | None = None, verbosity: int = 0) -> int:
    """Run until SIGTERM/SIGINT. Returns the exit code."""
    setup_logging(verbosity)
    # Imported here: they pull in audio libraries, and the CLI's schedule commands must not.
    from voice_coach import routines
    from voice_coach import settings as settings_file
    from voice_coach.factory import make_voice_io
    from voice_coach.history import HistoryStore
    from voice_coach.instance import InstanceLock

    with ExitStack() as stack:
        stack.enter_context(InstanceLock.acquire("serve"))  # before anything opens: one coach at a time
        history = HistoryStore.open()
        stack.callback(_close, history)
        io = make_voice_io(settings)
        stack.callback(_close, io)  # VoiceIO.close stops the listener and the speaker
        scheduler = make_scheduler(db_path)
        return _serve(settings, config, db_path, io, history, scheduler, routines.find, settings_file.save)


def _close(thing) -> None:
    try:
        thing.close()
    except Exception:  # noqa: BLE001 - closing on the way out
        log.exception("closing %s failed", type(thing).__name__)


def _serve(settings, config: ServeConfig, db_path: Path | None, io, history, scheduler, find_routine,
           save_settings) -> int:
    core = ServeCore(scheduler, io, settings=settings, history=history, find_routine=find_routine,
                     run_session=_run_session, config=config, stop_heard=_stop_heard,
                     save_settings=save_settings)
    signals = {"count": 0}

    def on_stop(signum, _frame):
        signals["count"] += 1
        log.info("stopping (%s)", signal.Signals(signum).name)
        if signals["count"] > 1:
            raise SystemExit(0)
        core.stop()

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGHUP, lambda *_: core.reload())

    with store_errors(db_path or paths.schedule_db()):  # a damaged file: one clear line, no traceback
        scheduler.start(paused=True)  # listener first, then run: no event can be lost in between
        core.attach()
    write_pid_file()
    try:
        entries = core.book.entries()
        log.info("serving %d schedule entr%s from %s", len(entries), "y" if len(entries) == 1 else "ies",
                 db_path or "the data folder")
        for entry in entries:
            log.info("  %s %s %s next %s", entry.id, entry.routine or entry.kind, entry.when,
                     entry.next_run.isoformat() if entry.next_run else "(paused)")
        scheduler.resume()
        core.run()
    finally:
        remove_pid_file()
        scheduler.shutdown(wait=False)
        log.info("stopped")
    return 0
