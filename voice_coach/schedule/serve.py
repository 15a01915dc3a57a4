"""What ``voice-coach serve`` does when a schedule fires: the always-on speaker's logic.

:class:`ServeCore` receives everything it talks to (the scheduler, the voice I/O, the history,
the routine finder, the session runner), so tests drive it with a real APScheduler on a real SQLite
store and a scripted inbox. It owns no threads: the scheduler's listener only *queues* events, and
one loop handles them one at a time, which is what makes "one session at a time" and "a reminder
due during a session waits for its end" true by construction.

Idle, the loop blocks on the voice inbox with a timeout of ``poll_s`` (30 s): what is heard there
is a request only when it starts with the wake word ("coach, ice timer 15 minutes";
:mod:`~voice_coach.schedule.talk`), anything else is dropped. The scheduler's listener wakes the
loop through the same inbox. Each timeout makes the scheduler re-read the job store (CLI changes
from other processes), so neither CPU nor memory grows while it waits.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobExecutionEvent

from voice_coach.errors import UserError
from voice_coach.schedule.parse import minutes_words
from voice_coach.schedule.store import DEFAULT_POLL_S, ROUND_GRACE_S, SESSION_GRACE_S, ScheduleBook
from voice_coach.schedule.talk import Conversation
from voice_coach.session.commands import Command

log = logging.getLogger(__name__)

ANSWERS = frozenset({Command.START, Command.YES, Command.LATER, Command.SKIP, Command.NO, Command.STOP})
ROUND_END = frozenset({Command.STOP, Command.SKIP, Command.NEXT, Command.YES})


@dataclass(frozen=True)
class ServeConfig:
    poll_s: float = DEFAULT_POLL_S  # how often the job store is re-read when nothing happens
    answer_timeout_s: float = 60.0  # how long an announcement waits for start/later/skip
    snooze_s: float = 15 * 60  # "later"
    max_auto_snoozes: int = 2  # no answer: ask again later this many times, then record it as missed
    session_grace_s: float = SESSION_GRACE_S  # a queued session older than this is not offered
    round_grace_s: float = ROUND_GRACE_S
    ice_min_gap_s: float = 50 * 60  # a round starting sooner than this after the last is skipped
    alert_repeats: int = 6  # the end-of-ice alert repeats until heard, at most this often
    alert_interval_s: float = 20.0
    echo_margin_s: float = 0.4  # speech heard up to this long after we stopped talking is our echo
    time_scale: float = 1.0  # rounds, ice spacing and session timers run this many times faster (demos, tests)


@dataclass(frozen=True)
class Due:
    """A schedule entry fired: ``payload`` is the job's kwargs, ``due`` its scheduled time."""

    job_id: str
    payload: dict[str, Any]
    due: datetime


@dataclass(frozen=True)
class Missed:
    """APScheduler dropped a run: later than its grace time (e.g. the device was off)."""

    job_id: str
    payload: dict[str, Any] | None
    due: datetime


_RELOAD = object()
_STOP = object()
WAKE = object()  # put into the voice inbox: "look at the events queue" (the loop waits on the inbox)


@dataclass(frozen=True)
class Request:
    """Something asked between sessions, with the wake word (see voice_coach.schedule.intents)."""

    intent: Any
    text: str


def spoken_title(title: str) -> str:
    """"Evening back relief" -> "evening back relief" (reads naturally after "your")."""
    if len(title) > 1 and title[0].isupper() and not title[1].isupper():
        return title[0].lower() + title[1:]
    return title


class ServeCore:
    """The serve loop's decisions. Collaborators are injected; see the module docstring.

    A session that fires while serve is busy waits in the queue; it is also written to the store as
    a pending marker (:meth:`ScheduleBook.mark_pending`) and cleared once offered or recorded, so a
    stop or crash in between never loses it: the next start offers it (or records it as missed).
    """

    def __init__(self, scheduler, io, *, settings, history, find_routine: Callable[[str], Any],
                 run_session: Callable[..., Any], config: ServeConfig = ServeConfig(),
                 stop_heard: Callable[[], Any] | None = None, save_settings: Callable[[Any], Any] | None = None,
                 list_routines: Callable[[], list[tuple[str, str]]] | None = None):
        self.scheduler = scheduler
        self.book = ScheduleBook(scheduler=scheduler)
        self.io = io
        self.settings = settings
        self.history = history
        self.find_routine = find_routine
        self.run_session = run_session
        self.config = config
        self.events: queue.Queue = queue.Queue()
        self._payloads: dict[str, dict[str, Any]] = {}
        self._stopping = threading.Event()
        self._stop_heard = stop_heard
        self._quiet_since = 0.0
        self._last_ice: float | None = None
        self._undecided = False
        self.busy = False
        self.sessions_run = 0
        self.talk = Conversation(self, list_routines=list_routines, save_settings=save_settings)

    # -- wiring --------------------------------------------------------------------------------
    def attach(self) -> None:
        """Listen to the scheduler; call after ``scheduler.start(paused=True)``, before resume()."""
        self.scheduler.add_listener(self._on_event, EVENT_JOB_EXECUTED | EVENT_JOB_MISSED | EVENT_JOB_ERROR)
        self.refresh()
        for job_id, payload, due in self.book.pending():  # fired before a stop, never dealt with
            log.info("%s due at %s was not dealt with before serve stopped", payload.get("routine"), due)
            self.events.put(Due(job_id, payload, due))
        self._hear_requests()

    def _hear_requests(self) -> None:
        """Between sessions the recognizer listens for requests ("coach, start foam roller")."""
        listener = getattr(self.io, "listener", None)
        if listener is not None:
            listener.set_allowed(frozenset(), False, self.talk.phrases())

    def _hear_commands(self, accept: frozenset[Command] | None) -> None:
        listener = getattr(self.io, "listener", None)
        if listener is not None:
            listener.set_allowed(accept, False)

    def refresh(self) -> None:
        """Remember every job's payload: a missed one-off job is already gone when its event comes."""
        for job in self.scheduler.get_jobs():
            self._payloads[job.id] = dict(job.kwargs)
        if len(self._payloads) > 500:  # bounded: forget entries that no longer exist
            live = {job.id for job in self.scheduler.get_jobs()}
            self._payloads = {k: v for k, v in self._payloads.items() if k in live}

    def _on_event(self, event: JobExecutionEvent) -> None:
        """Runs in a scheduler thread: only queue, never act here."""
        due = event.scheduled_run_time
        if event.code == EVENT_JOB_EXECUTED and isinstance(event.retval, dict):
            self._keep(event.job_id, event.retval, due)
            self.events.put(Due(event.job_id, event.retval, due))
        elif event.code == EVENT_JOB_MISSED:
            payload = self._payloads.get(event.job_id)
            if payload is None:
                job = self.scheduler.get_job(event.job_id)
                payload = dict(job.kwargs) if job else None
            if payload is not None:
                self._keep(event.job_id, payload, due)
            self.events.put(Missed(event.job_id, payload, due))
        elif event.code == EVENT_JOB_ERROR:
            log.error("schedule entry %s failed: %r", event.job_id, event.exception)
        self._wake()

    def _wake(self) -> None:
        self.io.inbox.put(WAKE)

    def _keep(self, job_id: str, payload: dict[str, Any], due: datetime) -> None:
        """Write a fired session to the store until it is dealt with (rounds are not made up)."""
        if payload.get("kind") != "session":
            return
        try:
            self.book.mark_pending(job_id, payload, due)
        except Exception:  # noqa: BLE001 - the queued event still gets handled
            log.exception("could not keep %s due at %s in the store", payload.get("routine"), due)

    def reload(self) -> None:
        """Re-read the job store now (SIGHUP from the CLI)."""
        self.events.put(_RELOAD)
        self._wake()

    def stop(self) -> None:
        """Stop soon: wake the loop, and end a running session or round as if "stop" was said."""
        self._stopping.set()
        self.events.put(_STOP)
        self._wake()
        if self._stop_heard is not None:
            self.io.inbox.put(self._stop_heard())

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    # -- the loop ------------------------------------------------------------------------------
    def _next(self, timeout: float):
        """The next schedule event, or a request heard meanwhile; queue.Empty after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.events.get_nowait()
            except queue.Empty:
                pass
            left = deadline - time.monotonic()
            if left <= 0 or self.stopping:
                raise queue.Empty
            try:
                item = self.io.inbox.get(timeout=left)
            except queue.Empty:
                raise queue.Empty from None
            request = self._request(item)
            if request is not None:
                return request

    def _request(self, item) -> Request | None:
        """A wake-word request in what was heard; None for anything else (our own echo, a TV)."""
        text = getattr(item, "text", None)
        if not isinstance(text, str):
            return None
        ended_at = getattr(item, "ended_at", None)
        if ended_at is not None and ended_at < self._quiet_since + self.config.echo_margin_s:
            return None
        intent = self.talk.understand(text, ended_at if ended_at is not None else time.monotonic())
        if intent is None:
            log.debug("heard %r: no request", text)
            return None
        return Request(intent, text)

    def run(self) -> None:
        while not self.stopping:
            try:
                item = self._next(self.config.poll_s)
            except queue.Empty:
                self.tick()
                continue
            if item is _STOP:
                break
            if item is _RELOAD:
                log.info("re-reading the schedule")
                self.tick()
                continue
            self.handle(item)

    def run_pending(self, timeout: float, limit: int | None = None) -> int:
        """Handle events until none comes for ``timeout`` s or ``limit`` were handled (tests, benches)."""
        count = 0
        while not self.stopping and (limit is None or count < limit):
            try:
                item = self._next(timeout)
            except queue.Empty:
                return count
            if item is _STOP:
                continue
            if item is _RELOAD:
                self.tick()
                continue
            self.handle(item)
            count += 1
        return count

    def tick(self) -> None:
        self.scheduler.wakeup()
        try:
            self.refresh()
        except Exception as exc:  # noqa: BLE001 - a store that cannot be read now must not end serve
            log.error("could not re-read the schedule store (%s); trying again at the next poll", exc)
        self._drain()

    def handle(self, item: Due | Missed | Request) -> None:
        """Act on one event; a failure is logged and the daemon goes on."""
        try:
            if isinstance(item, Request):
                self.talk.act(item.intent)
            elif isinstance(item, Missed):
                self._on_missed(item)
            elif item.payload.get("kind") == "session":
                self._session(item)
            elif item.payload.get("kind") in ("ice", "roll"):
                self._round(item)
            elif item.payload.get("kind") in ("timer", "reminder"):
                self.talk.due(item.payload, (_now() - item.due).total_seconds())
            else:
                log.warning("ignoring schedule entry %s of unknown kind %r", item.job_id, item.payload.get("kind"))
        except Exception:  # noqa: BLE001 - one bad entry must not end the always-on service
            log.exception("handling schedule entry %s failed", getattr(item, "job_id", item))
        finally:
            self._hear_requests()

    # -- sessions ------------------------------------------------------------------------------
    def _session(self, due: Due) -> None:
        """Offer it; then its pending marker goes, unless serve stopped before an answer."""
        self._undecided = False
        try:
            self._offer(due)
        finally:
            if not self._undecided:
                self._clear_pending(due.job_id, due.due)

    def _clear_pending(self, job_id: str, due: datetime) -> None:
        try:
            self.book.clear_pending(job_id, due)
        except Exception:  # noqa: BLE001 - at worst it is offered once more after a restart
            log.exception("could not clear the pending marker of %s", job_id)

    def _offer(self, due: Due) -> None:
        payload = due.payload
        routine_id = payload.get("routine") or ""
        first_due = _first_due(payload, due.due)
        late = _now() - due.due
        if late > timedelta(seconds=self.config.session_grace_s):
            log.warning("%s was due at %s and waited too long; recorded as missed", routine_id, due.due)
            self._record_missed(routine_id, first_due)
            return
        try:
            routine = self.find_routine(routine_id)
        except UserError as exc:
            log.error("scheduled routine %r cannot be loaded: %s", routine_id, exc)
            self._record_missed(routine_id, first_due)
            return
        title = spoken_title(routine.title)
        if late > timedelta(minutes=5) and not payload.get("snoozes"):
            at = first_due.astimezone(_zone(payload))
            text = f"Your {title} was due at {at:%H:%M}. Would you like to do it now? Say start, later, or skip."
        else:
            text = f"It's time for your {title}. Say start, later, or skip."
        log.info("announcing %s (entry %s)", routine.id, due.job_id)
        answer = self._ask(text, ANSWERS, self.config.answer_timeout_s)
        if self.stopping:
            self._undecided = True  # stopped before an answer: offered again after the restart
            return
        if answer in (Command.START, Command.YES):
            self._run(routine)
        elif answer == Command.LATER:
            self._snooze(payload, first_due)
            self._say(f"Okay. I'll remind you in {minutes_words(self.config.snooze_s / 60)}.")
        elif answer in (Command.SKIP, Command.NO, Command.STOP):
            log.info("%s skipped", routine.id)
            self._record_missed(routine.id, first_due)
            self._say("Okay, skipping it this time.")
        elif int(payload.get("snoozes", 0)) < self.config.max_auto_snoozes:
            log.info("no answer for %s; asking again later", routine.id)
            self._snooze(payload, first_due)
        else:
            log.info("no answer for %s after %s reminders; recorded as missed", routine.id, payload.get("snoozes"))
            self._record_missed(routine.id, first_due)

    def _run(self, routine) -> None:
        self.busy = True
        try:
            log.info("session %s starting", routine.id)
            result = self.run_session(routine, self.settings, self.io, self.history, time_scale=self.config.time_scale)
            self.sessions_run += 1
            log.info("session %s ended: %s", routine.id, getattr(result, "reason", result))
        except UserError as exc:
            log.error("session %s could not run: %s", routine.id, exc)
        finally:
            self.busy = False
            self._drain()

    def _snooze(self, payload: dict[str, Any], first_due: datetime) -> None:
        at = _now() + timedelta(seconds=self.config.snooze_s)
        new = {**payload, "first_due": first_due.isoformat()}
        entry = self.book.add_snooze(new, at, int(payload.get("snoozes", 0)) + 1)
        self._payloads[entry.id] = entry.payload
        log.info("snoozed %s to %s (entry %s)", payload.get("routine"), entry.next_run, entry.id)

    def _on_missed(self, missed: Missed) -> None:
        payload = missed.payload or {}
        if payload.get("kind") == "session":
            log.warning("%s due at %s was missed (the service was off or busy)", payload.get("routine"), missed.due)
            self._record_missed(payload.get("routine") or "", _first_due(payload, missed.due))
            self._clear_pending(missed.job_id, missed.due)
        else:
            log.info("round of entry %s due at %s was missed; not made up", missed.job_id, missed.due)

    def _record_missed(self, routine_id: str, due: datetime) -> None:
        try:
            self.history.record_missed(routine_id, due)
        except Exception:  # noqa: BLE001 - a full disk must not stop the reminders
            log.exception("could not record the missed session %s", routine_id)

    # -- ice and rolling rounds ----------------------------------------------------------------
    def _round(self, due: Due) -> None:
        p = due.payload
        kind, region, minutes = p["kind"], p.get("region") or "back", float(p.get("minutes") or 10)
        late = (_now() - due.due).total_seconds()
        if late > self.config.round_grace_s:
            log.info("%s round due at %s is %.0f s late; not made up", kind, due.due, late)
            return
        if kind == "ice":
            now = time.monotonic()
            if self._last_ice is not None and now - self._last_ice < self.config.ice_min_gap_s / self.config.time_scale:
                log.warning("ice round skipped: the last one began %.0f min ago (ice at most about once an hour)",
                            (now - self._last_ice) / 60)
                return
            self._last_ice = now
            text = (f"Time to ice your {region} for {minutes_words(minutes)}. Put a thin cloth between the ice "
                    "and your skin, and take it off early if the skin goes numb or white. Say stop when it is off.")
        else:
            text = (f"Time for a foam-rolling round: {minutes_words(minutes)} on your {region}. Roll slowly, "
                    "and stay off the lower spine. Say stop when you are done.")
        log.info("%s round: %s for %g min", kind, region, minutes)
        answer = self._ask(text, ROUND_END, minutes * 60 / self.config.time_scale)
        if self.stopping:
            return
        if answer is not None:
            self._say("Ice off. Well done." if kind == "ice" else "Round done. Well done.")
        elif kind == "ice":
            self._ice_alert(region)
        else:
            self._chime()
            self._say("Time is up for this rolling round. Well done.")

    def _ice_alert(self, region: str) -> None:
        """Loud and repeated: ice left on past its limit harms the skin."""
        self._hear_commands(None)  # any word acknowledges it
        for _ in range(self.config.alert_repeats):
            self._chime()
            self._say(f"Time is up. Take the ice off your {region} now.")
            if self._listen(self.config.alert_interval_s, None) is not None or self.stopping:
                if not self.stopping:
                    self._say("Thank you.")
                return
        log.warning("the end-of-ice alert was not acknowledged")

    # -- voice helpers -------------------------------------------------------------------------
    def _say(self, text: str) -> None:
        log.info("saying: %s", text)
        self.io.speaker.say(text)
        self.io.speaker.wait_idle(120)
        self._quiet_since = time.monotonic()

    def _chime(self) -> None:
        try:
            self.io.speaker.chime("alert")
        except Exception:  # noqa: BLE001 - the spoken alert still follows
            log.exception("alert chime failed")

    def _ask(self, text: str, accept: frozenset[Command], timeout: float) -> Command | None:
        self._hear_commands(accept)
        self._drain()
        self._say(text)
        log.info("waiting up to %.0f s for %s", timeout, "/".join(sorted(c.value for c in accept)))
        return self._listen(timeout, accept)

    def _listen(self, timeout: float, accept: frozenset[Command] | None) -> Command | None:
        """The next command in ``accept`` (None = any), or None at the timeout or when stopping.

        Speech that ended before our own voice stopped (plus an echo margin) is ignored: the
        announcement itself says "start", and the microphone hears it.
        """
        deadline = time.monotonic() + timeout
        while not self.stopping:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                item = self.io.inbox.get(timeout=remaining)
            except queue.Empty:
                return None
            ended_at = getattr(item, "ended_at", None)
            if ended_at is not None and ended_at < self._quiet_since + self.config.echo_margin_s:
                log.debug("ignoring %r heard while the coach was speaking", getattr(item, "text", item))
                continue
            command = getattr(item, "command", item)
            if isinstance(command, Command) and (accept is None or command in accept):
                return command
            log.debug("ignoring %r while waiting", getattr(item, "text", item))
        return None

    def _drain(self) -> int:
        dropped = 0
        while True:
            try:
                self.io.inbox.get_nowait()
            except queue.Empty:
                return dropped
            dropped += 1


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _zone(payload: dict[str, Any]) -> ZoneInfo:
    try:
        return ZoneInfo(payload.get("tz") or "UTC")
    except Exception:  # noqa: BLE001
        return ZoneInfo("UTC")


def _first_due(payload: dict[str, Any], fallback: datetime) -> datetime:
    """A snoozed reminder keeps the time the session was first due."""
    text = payload.get("first_due")
    return datetime.fromisoformat(text) if text else fallback
