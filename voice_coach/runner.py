"""The imperative shell around the pure engine: it owns the real clock and the inbox.

Every edge (typed input, the speaker's playback events, the listener's recognized commands, signal
handlers) posts engine events into one queue; the runner takes them one at a time, hands them to
the engine with the session time, and performs the actions that come back. It sleeps on the queue
until the next event or the engine's next deadline, so it never busy-waits.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Protocol

from voice_coach.console import InputClosed, Printer
from voice_coach.session import actions as act
from voice_coach.session import events as ev
from voice_coach.session.engine import SessionEngine

log = logging.getLogger(__name__)


class Voice(Protocol):
    """Speech out as the runner needs it. Every ``say`` must later post ``SpeechDone(key)``."""

    def say(self, text: str, key: str) -> None: ...

    def chime(self, kind: str) -> None: ...

    def stop(self) -> None: ...

    def adjust(self, rate: int, volume: int) -> None: ...

    def close(self) -> None: ...


class SilentVoice:
    """Text mode: the words are printed, so they are "said" the moment they are shown."""

    def __init__(self, inbox: queue.Queue):
        self.inbox = inbox

    def say(self, text: str, key: str) -> None:
        self.inbox.put(ev.SpeechDone(key))

    def chime(self, kind: str) -> None:
        pass

    def stop(self) -> None:
        pass

    def adjust(self, rate: int, volume: int) -> None:
        pass

    def close(self) -> None:
        pass


class _Interrupted(BaseException):  # not an Exception: no "except Exception" may swallow a signal
    def __init__(self, signum: int, then_exit: BaseException | None = None):
        self.signum = signum
        self.then_exit = then_exit  # the handler we replaced asked the process to exit at once


@dataclass(frozen=True)
class SessionResult:
    reason: str
    session_id: int | None = None
    steps_done: int = 0


class Runner:
    """Drives one :class:`SessionEngine` in real time.

    ``time_scale`` > 1 runs the session's timers that many times faster (a preview); the JSON
    stream's ``t`` is session time, so it reads the same at any scale.
    """

    def __init__(self, engine: SessionEngine, voice: Voice, inbox: queue.Queue, *, printer: Printer,
                 time_scale: float = 1.0, clock: Callable[[], float] = time.monotonic,
                 recorder: Callable[[act.Action], None] | None = None,
                 on_action: Callable[[act.Action], None] | None = None):
        self.engine = engine
        self.voice = voice
        self.inbox = inbox
        self.printer = printer
        self.time_scale = time_scale
        self.clock = clock
        self.recorder = recorder
        self.on_action = on_action
        self.input_closed = False
        self.end_on_input_closed = True  # text mode: no more typed commands can come
        self._t0 = 0.0

    def now(self) -> float:
        return (self.clock() - self._t0) * self.time_scale

    def run(self) -> str:
        """Run to the end of the session; returns the end reason."""
        self._t0 = self.clock()
        restore = _install_signal_handlers()
        then_exit: BaseException | None = None
        try:
            pending: list[ev.Event] = [ev.Start()]
            while not self.engine.ended:
                try:
                    for event in pending:
                        if not self.engine.ended:
                            self._perform(self.engine.handle(event, self.now()))
                    pending = [] if self.engine.ended else self._next_events()
                except _Interrupted as exc:
                    log.info("signal %s: ending the session", exc.signum)
                    pending = [ev.Shutdown("stopped")]
                    then_exit = then_exit or exc.then_exit
        finally:
            restore()
        if then_exit is not None:  # e.g. serve's second SIGTERM: the session is closed, now exit
            raise then_exit
        return self.engine.end_reason

    def _wait_seconds(self) -> float | None:
        """Real seconds until something is due without any event (None: nothing is)."""
        deadline = self.engine.next_deadline()
        return None if deadline is None else max(0.0, (deadline - self.now()) / self.time_scale)

    def _next_events(self) -> list[ev.Event]:
        timeout = self._wait_seconds()
        # typed input has ended and the session waits for it (only reminders would come): end
        if self.input_closed and self.end_on_input_closed and self._waits_for_input():
            return [ev.Shutdown("stopped")]
        try:
            item = self.inbox.get(timeout=None if timeout is None else min(timeout, 3600))
        except queue.Empty:
            return [ev.Tick()]
        return self.translate(item)

    def translate(self, item) -> list[ev.Event]:
        """Turn one inbox item into engine events (none, one or several)."""
        if isinstance(item, InputClosed):
            self.input_closed = True
            return []
        if isinstance(item, str):  # a notice from an edge
            self.printer.notice(item, self.now())
            return []
        return [item]

    def _waits_for_input(self) -> bool:
        e = self.engine
        return e.paused or e.phase == "waiting" or e.question is not None

    def _perform(self, actions: list[act.Action]) -> None:
        t = self.now()
        for action in actions:
            self.printer.show(action, t)
            if self.recorder:
                try:
                    self.recorder(action)
                except Exception:  # the session goes on; the log says why the history missed it
                    log.exception("could not record %s", action.type)
            if self.on_action:
                self.on_action(action)
            if isinstance(action, act.Say):
                self.voice.say(action.text, action.key)
            elif isinstance(action, act.StopSpeaking):
                self.voice.stop()
            elif isinstance(action, act.Chime):
                self.voice.chime(action.kind)
            elif isinstance(action, act.AdjustSpeech):
                self.voice.adjust(action.rate, action.volume)


_held = {"depth": 0, "deferred": []}  # main thread only, like Python's signal handlers


@contextmanager
def signals_held():
    """A stop signal that comes during the block is acted on right after it.

    A history write and the bookkeeping that it was written must not be cut apart by a signal's
    exception: cut after the commit, the write would be made again (a step recorded twice). Blocking
    the signal in the kernel is not enough: one that arrived just before runs its Python handler at the
    next bytecode, so the runner's handler itself waits while a block is held.
    """
    _held["depth"] += 1
    try:
        yield
    finally:
        _held["depth"] -= 1
    if not _held["depth"] and _held["deferred"]:
        signum = _held["deferred"][0]
        _held["deferred"].clear()
        handler = signal.getsignal(signum)
        if callable(handler):
            handler(signum, None)


def _install_signal_handlers() -> Callable[[], None]:
    """SIGINT/SIGTERM (and SIGHUP, a closed terminal) end the session cleanly (main thread only).

    A handler already installed (``serve``'s) is called first, so one SIGTERM both ends the session and
    stops serve. SIGHUP is taken only where nobody handles it: serve uses it to re-read its schedule.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}

    def handler(signum, frame):
        if _held["depth"]:
            _held["deferred"].append(signum)
            return
        previous = before.get(signum)
        if callable(previous) and previous is not signal.default_int_handler:
            try:
                previous(signum, frame)
            except SystemExit as exc:
                raise _Interrupted(signum, then_exit=exc) from None
        raise _Interrupted(signum)

    ours = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGHUP] if before[signal.SIGHUP] == signal.SIG_DFL else [])
    old = {s: signal.signal(s, handler) for s in ours}

    def restore() -> None:
        for s, h in old.items():
            signal.signal(s, h)

    return restore
