"""Wires one session from the settings: routine, engine, edges (console, speaker, listener, history).

This is the single place that decides which real components a session uses, so tests run the same
path with the virtual room's devices (``--output-device``/``--input-device``) that a user runs.
"""

from __future__ import annotations

import logging
import queue
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from voice_coach import routines
from voice_coach.console import InputClosed, Printer, TypedInput
from voice_coach.errors import DeviceError, StorageError, UserError
from voice_coach.history import HistoryStore
from voice_coach.history.advice import advice_to_give, how_am_i_doing
from voice_coach.instance import InstanceLock
from voice_coach.routines import Routine
from voice_coach.runner import Runner, SessionResult, SilentVoice, signals_held
from voice_coach.session import actions as act
from voice_coach.session.commands import Command
from voice_coach.session.engine import SessionEngine
from voice_coach.session.reprompt import Reprompts
from voice_coach.settings import Settings
from voice_coach.vocabulary import vocabulary

log = logging.getLogger(__name__)

RESUME_WITHIN = timedelta(hours=12)  # an older interrupted session is closed, not offered
RESUME_ANSWER_WAIT_S = 60.0  # no answer: resume (the person may not be near the keyboard)


def reprompts(conf: Settings, time_scale: float = 1.0) -> Reprompts:
    """The engine's re-prompt timing from the settings (the engine itself knows no settings).

    The engine counts in routine seconds, which ``time_scale`` speeds up; a person takes as long to
    answer in a sped-up session as in a real one, so the waits are given in real seconds.
    """
    n = conf.session
    return Reprompts(after_s=n.reprompt_after_s * time_scale, again_s=n.reprompt_again_s * time_scale,
                     limit=n.max_reprompts)


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


FLUSH_TRIES_AT_END = 3  # a full disk may get room again (a log rotated, a file deleted)
FLUSH_WAIT_S = 0.5
RETRY_AFTER_S = 5.0  # after a refused write, events wait this long before the next try (a locked
# file makes each try wait up to the store's busy timeout; the coach must not stall on every event)


class HistoryRecorder:
    """Writes the session's course into the history as it happens (each write committed at once).

    A write that fails (full disk, read-only folder, locked or damaged file) never stops the session:
    it waits in memory with the ones after it, in order, and they are written at the next chance (the
    next event, a few seconds on). :meth:`finish` says plainly what could not be saved in the end.
    """

    def __init__(self, store: HistoryStore, session_id: int | None, notify=None):
        self.store = store
        self.session_id = session_id
        self.ended = False
        self.pending: list = []  # writes not yet in the file, oldest first
        self.failure: StorageError | None = None
        self.notify = notify or (lambda text: log.warning("%s", text))
        self._next_try = 0.0

    @classmethod
    def begin(cls, store: HistoryStore, routine: Routine, notify=None) -> HistoryRecorder:
        rec = cls(store, None, notify)
        started, ids = now_utc(), [s.id for s in routine.steps]

        def write() -> None:
            rec.session_id = store.begin(routine.id, routine.title, len(routine.steps), started, ids)

        rec._write(write)
        return rec

    def __call__(self, action: act.Action) -> None:
        at, store = now_utc(), self.store
        if isinstance(action, act.StepStarted):
            self._write(lambda: store.step(self.session_id, action.index, action.id, "started", at))
        elif isinstance(action, act.StepFinished):
            self._write(lambda: store.step(self.session_id, action.index, action.id, action.status, at))
        elif isinstance(action, act.Paused):
            self._write(lambda: store.pause(self.session_id, at))
        elif isinstance(action, act.Resumed):
            self._write(lambda: store.resume(self.session_id, at))
        elif isinstance(action, act.PainRecorded):
            self._write(lambda: store.pain(self.session_id, action.when, action.value, at))
        elif isinstance(action, act.Ended):
            self.end(action.reason, at)

    def end(self, reason: str, at: datetime | None = None) -> None:
        """Close the session row (once; a second end changes nothing)."""
        if self.ended:
            return
        self.ended = True
        at = at or now_utc()
        self._write(lambda: self.store.end(self.session_id, reason, at))

    def _write(self, write) -> None:
        self.pending.append(write)
        if time.monotonic() >= self._next_try:
            self.flush()

    def flush(self) -> bool:
        """Write what waits, in order; False (and said once per kind of failure) when the file refuses."""
        while self.pending:
            try:
                with signals_held():  # the write and its removal from the queue go together
                    self.pending[0]()
                    self.pending.pop(0)
            except StorageError as exc:
                if self.failure is None or self.failure.kind != exc.kind:
                    self.notify(f"I cannot save this session to the history right now ({_why(exc)}). I keep it "
                                "and save it as soon as I can.")
                self.failure = exc
                self._next_try = time.monotonic() + RETRY_AFTER_S
                return False
        if self.failure is not None:
            self.failure = None
            self.notify("The history can be written again; this session is saved.")
        return True

    def finish(self) -> None:
        """The last tries at the end; raises the StorageError (one clear line) if records stay unsaved."""
        for attempt in range(FLUSH_TRIES_AT_END):
            if self.flush():
                return
            if self.failure is not None and self.failure.kind == "damaged":
                break
            if attempt + 1 < FLUSH_TRIES_AT_END:
                time.sleep(FLUSH_WAIT_S)
        exc = self.failure
        raise StorageError(
            f"The session ended, but {len(self.pending)} of its records could not be saved to the history: "
            f"{exc}", exc.kind, exc.exit_code)


def _why(exc: StorageError) -> str:
    return {"full": "the disk is full", "read-only": "the folder is read-only", "locked": "the file is locked",
            "damaged": "the history file is damaged"}.get(exc.kind, "a disk error")


@dataclass(frozen=True)
class Resume:
    record: object  # history SessionRecord
    routine: Routine


def run_from_cli(args, conf: Settings) -> int:
    if args.engine or args.model:
        conf = replace(conf, hearing=replace(conf.hearing, engine=args.engine or conf.hearing.engine,
                                             model_path=args.model or conf.hearing.model_path))
    routine = routines.find(args.routine or conf.session.default_routine)
    with InstanceLock.acquire(f"run {args.routine or routine.id}"):  # one coach per data folder
        store = HistoryStore.open()
        try:
            interrupted = None if args.new else _interrupted_session(store, routine if args.routine else None)
            if args.text:
                return _run_text(args, conf, store, routine, interrupted)
            return _run_voice(args, conf, store, routine, interrupted)
        finally:
            store.close()


def _interrupted_session(store: HistoryStore, wanted: Routine | None) -> Resume | None:
    """The session a crash or power cut interrupted, if it is recent and its routine still exists."""
    record = store.interrupted()
    if record is None:
        return None
    last = record.last_activity or record.started
    try:
        routine = routines.find(record.routine)
    except UserError:
        routine = None
    fits = routine is not None and (wanted is None or wanted.id == routine.id)
    if not fits or now_utc() - last > RESUME_WITHIN or record.resume_index is None \
            or record.resume_index >= len(routine.steps):
        store.abandon(record.id, now_utc())
        return None
    return Resume(record, routine)


def _resume_question(r: Resume) -> str:
    index = r.record.resume_index
    step = r.routine.steps[index]
    return (f"Your last session of {r.routine.title} was interrupted. You were on step {index + 1} of "
            f"{len(r.routine.steps)}, {step.title}. Say resume, or say new to start over.")


def _wait_for_resume_answer(inbox: queue.Queue) -> bool:
    """True for resume, False for new. Typed and spoken answers both count."""
    deadline = time.monotonic() + RESUME_ANSWER_WAIT_S
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return True
        try:
            item = inbox.get(timeout=left)
        except queue.Empty:
            return True
        command = getattr(item, "command", None)
        if command in (Command.RESUME, Command.YES, Command.NEXT, Command.START):
            return True
        if command in (Command.NEW, Command.NO, Command.STOP):
            return False
        if isinstance(item, InputClosed):
            return True


def _start_engine(conf: Settings, args, store: HistoryStore, routine: Routine, resume: Resume | None,
                  resumed: bool, printer: Printer) -> tuple[SessionEngine, HistoryRecorder]:
    ask_pain = conf.session.ask_pain and not args.no_pain
    notify = _notifier(printer)
    if resume and resumed:
        store.reopen(resume.record.id, now_utc())
        engine = SessionEngine(resume.routine, ask_pain=ask_pain, start_index=resume.record.resume_index,
                               resuming=True, reprompts=reprompts(conf, args.time_scale))
        return engine, HistoryRecorder(store, resume.record.id, notify)
    if resume:
        store.abandon(resume.record.id, now_utc())
    return (SessionEngine(routine, ask_pain=ask_pain, reprompts=reprompts(conf, args.time_scale)),
            HistoryRecorder.begin(store, routine, notify))


def _notifier(printer: Printer):
    def notify(text: str) -> None:
        log.warning("%s", text)
        printer.notice(text, 0.0)

    return notify


def _run_text(args, conf: Settings, store: HistoryStore, routine: Routine, resume: Resume | None) -> int:
    inbox: queue.Queue = queue.Queue()
    printer = Printer(as_json=args.json)
    TypedInput(inbox, vocabulary("en")).start()
    resumed = False
    if resume:
        printer.notice(_resume_question(resume), 0.0)
        resumed = _wait_for_resume_answer(inbox)
    engine, recorder = _start_engine(conf, args, store, routine, resume, resumed, printer)
    voice = SilentVoice(inbox)
    runner = Runner(engine, voice, inbox, printer=printer, time_scale=args.time_scale, recorder=recorder,
                    on_action=_progress_answerer(store, voice, printer))
    return _finish(runner, store, recorder, voice, printer)


def _run_voice(args, conf: Settings, store: HistoryStore, routine: Routine, resume: Resume | None) -> int:
    from voice_coach.factory import make_voice_io
    from voice_coach.simulate import prompts
    from voice_coach.voice_runner import VoiceRunner, drain

    printer = Printer(as_json=args.json)
    try:
        io = make_voice_io(conf, listen=not args.no_listen, output_device=args.output_device,
                           input_device=args.input_device)
    except DeviceError as exc:
        raise DeviceError(f"{exc}\nTo run the session without a speaker, add --text "
                          "(the coach's words are printed and you type the commands).") from None
    try:
        io.speaker.prepare(prompts(routine, ask_pain=conf.session.ask_pain and not args.no_pain))
        TypedInput(io.inbox, vocabulary("en")).start()
        mic_missing = _mic_missing_at_start(io, printer)
        resumed = False
        if resume:
            question = _resume_question(resume)
            printer.notice(question, 0.0)
            io.speaker.say(question, "resume-question")
            resumed = _wait_for_resume_answer(io.inbox)
            io.speaker.stop()
            drain(io.inbox)
        engine, recorder = _start_engine(conf, args, store, routine, resume, resumed, printer)
        engine.mic_lost = mic_missing
        runner = VoiceRunner(engine, io, printer=printer, time_scale=args.time_scale, recorder=recorder)
        runner.on_action = _progress_answerer(store, runner.speaker_voice, printer)
        code = _finish(runner, store, recorder, runner.voice, printer)
        io.speaker.wait_idle(30.0)
        if runner.latencies:
            log.info("command latencies (s): %s", ", ".join(f"{x:.3f}" for x in runner.latencies))
        return code
    finally:
        io.close()


def _mic_missing_at_start(io, printer: Printer) -> bool:
    """Say so when there is no microphone, and go on with typed commands (and the speaker)."""
    if io.listener is None:
        return False
    from voice_coach.factory import MicStatus

    deadline = time.monotonic() + 1.0
    kept = []
    missing = False
    while time.monotonic() < deadline and not missing:
        try:
            item = io.inbox.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if isinstance(item, MicStatus) and item.state == "lost":
            missing = True
            text = "I cannot find a microphone, so type your commands. I will listen as soon as one is plugged in."
            printer.notice(f"{text} ({item.message})", 0.0)
            io.speaker.say(text, "no-mic")
        else:
            kept.append(item)
    for item in kept:
        io.inbox.put(item)
    return missing


def _progress_answerer(store: HistoryStore, voice, printer: Printer):
    """Answers "how am I doing?" from the history (the engine itself knows no history)."""
    counter = iter(range(1, 1_000_000))

    def on_action(action: act.Action) -> None:
        if isinstance(action, act.ReportProgress):
            try:
                text = how_am_i_doing(store, now_utc())
            except StorageError as exc:
                log.warning("cannot read the history: %s", exc)
                text = "I cannot read your history right now, so I cannot say. Let's carry on."
            printer.show(act.Say(text=text, key="", kind="feedback"), 0.0)
            voice.say(text, f"progress-{next(counter)}")

    return on_action


def run_session(routine: Routine, conf: Settings, io, history: HistoryStore, *, time_scale: float = 1.0,
                printer: Printer | None = None) -> SessionResult:
    """One hands-free session on edges that already exist (``serve`` keeps them between sessions)."""
    from voice_coach.simulate import prompts
    from voice_coach.voice_runner import VoiceRunner

    printer = printer or Printer()
    io.speaker.prepare(prompts(routine, ask_pain=conf.session.ask_pain))  # in the background
    engine = SessionEngine(routine, ask_pain=conf.session.ask_pain, reprompts=reprompts(conf, time_scale))
    recorder = HistoryRecorder.begin(history, routine)
    runner = VoiceRunner(engine, io, printer=printer, time_scale=time_scale, recorder=recorder)
    runner.on_action = _progress_answerer(history, runner.speaker_voice, printer)
    _finish(runner, history, recorder, runner.voice, printer)  # a StorageError here: serve logs it, goes on
    try:
        record = history.session(recorder.session_id) if recorder.session_id is not None else None
    except StorageError:
        record = None
    return SessionResult(engine.end_reason, recorder.session_id, record.steps_done if record else 0)


def _finish(runner: Runner, store: HistoryStore, recorder: HistoryRecorder, voice, printer: Printer) -> int:
    try:
        reason = runner.run()
    finally:  # e.g. a shutdown: the engine ended without its own "end" reaching the store
        recorder.end(runner.engine.end_reason or "stopped")
    if reason == "finished" and not recorder.pending:
        try:
            advice = advice_to_give(store, now_utc())
        except StorageError as exc:
            log.warning("cannot read the history for advice: %s", exc)
            advice = None
        if advice:
            printer.show(act.Say(text=advice, key="", kind="feedback"), runner.now())
            voice.say(advice, "advice")
    recorder.finish()
    return 0 if reason in ("finished", "stopped", "red_flag") else 1

