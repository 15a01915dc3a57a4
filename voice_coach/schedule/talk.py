"""The always-on speaker answering requests between sessions ("coach, ice timer 15 minutes").

:class:`Conversation` is the part of :class:`~voice_coach.schedule.serve.ServeCore` that acts on a
parsed :class:`~voice_coach.schedule.intents.Intent` and on the timers and reminders it stored
when they come due. It uses the core's voice helpers, job store and settings; it owns no thread.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from voice_coach.errors import UserError
from voice_coach.schedule import timers
from voice_coach.schedule.intents import Intent, match_routine, parse_intent, request_phrases
from voice_coach.schedule.parse import minutes_words
from voice_coach.schedule.plans import ICE_MIN_SPACING
from voice_coach.session.speakable import seconds_in_words
from voice_coach.vocabulary import normalise

log = logging.getLogger(__name__)

WAKE_ALONE_S = 6.0  # "Coach." ... "start foam roller": the request may follow the wake word this late

HELP = ("You can ask me to start a routine by name, what is next, to set a timer such as ice timer fifteen "
        "minutes, to remind you to do something in so many minutes, how long is left, to stop the timer, "
        "and to speak louder or quieter. Start each request with my name.")


class Conversation:
    def __init__(self, core, *, list_routines: Callable[[], list[tuple[str, str]]] | None = None,
                 save_settings: Callable[[Any], Any] | None = None):
        self.core = core
        self.list_routines = list_routines or _all_routines
        self.save_settings = save_settings
        self._ice_starts: list[datetime] = []  # ice begun by voice in this run (timers remember theirs)
        self._woken_at: float | None = None  # when the wake word was heard on its own

    @property
    def wake_word(self) -> str:
        hearing = getattr(self.core.settings, "hearing", None)
        return getattr(hearing, "wake_word", "") or "coach"

    def understand(self, text: str, at: float = 0.0) -> Intent | None:
        """The request in ``text`` heard at ``at`` (monotonic); the wake word said on its own, with
        a pause after it, makes the next utterance within :data:`WAKE_ALONE_S` count as addressed."""
        if normalise(text) == normalise(self.wake_word):
            self._woken_at = at
            return None
        intent = parse_intent(text, self.wake_word)
        if intent is None and self._woken_at is not None and 0 <= at - self._woken_at <= WAKE_ALONE_S:
            intent = parse_intent(f"{self.wake_word} {text}", self.wake_word)
        self._woken_at = None
        return intent

    def phrases(self) -> tuple[str, ...]:
        """What the recognizer listens for between sessions."""
        return tuple(request_phrases([rid for rid, _ in self.list_routines()], self.wake_word))

    # -- requests --------------------------------------------------------------------------------
    def act(self, intent: Intent) -> None:
        log.info("request: %s %s%s", intent.kind, intent.name,
                 f" ({intent.seconds:g} s)" if intent.seconds is not None else "")
        getattr(self, f"_{intent.kind}")(intent)

    def _start(self, intent: Intent) -> None:
        known = self.list_routines()
        rid = match_routine(intent.name, known)
        if rid is None:
            names = ", ".join(_spoken_id(r) for r, _ in known)
            self.core._say(f"I do not know a routine called {intent.name}. You have: {names}.")
            return
        try:
            routine = self.core.find_routine(rid)
        except UserError as exc:
            log.error("routine %s cannot be loaded: %s", rid, exc)
            self.core._say(f"I cannot load the routine {_spoken_id(rid)}.")
            return
        self.core._run(routine)

    def _next_session(self, intent: Intent) -> None:
        now = datetime.now(timezone.utc)
        entries = [e for e in self.core.book.entries() if e.next_run is not None and e.kind != "reminder"
                   and e.kind != "timer"]
        if not entries:
            self.core._say("Nothing is scheduled. You can add sessions with voice-coach schedule add.")
            return
        e = entries[0]
        what = f"your {_routine_title(self.core, e.routine)}" if e.kind == "session" else \
            f"an {'ice' if e.kind == 'ice' else 'foam-rolling'} round"
        self.core._say(f"Next is {what}, {_when(e.next_run, now)}.")

    def _timer(self, intent: Intent) -> None:
        self._store("timer", intent)

    def _reminder(self, intent: Intent) -> None:
        self._store("reminder", intent)

    def _store(self, kind: str, intent: Intent) -> None:
        core, what, seconds = self.core, intent.name, float(intent.seconds or 0)
        now = datetime.now(timezone.utc)
        scale = core.config.time_scale
        if what == "ice":
            start = now if kind == "timer" else now + timedelta(seconds=seconds * scale)
            problem = timers.ice_problem(start, seconds if kind == "timer" else 0.0,
                                         other_starts=self._ice_times(now),
                                         plans=core.book.plans("ice"), spacing=ICE_MIN_SPACING * scale)
            if problem:
                log.info("%s for ice refused: %s", kind, problem)
                core._say(problem)
                return
        entry = timers.add(core.scheduler, kind, what, seconds, now=now, time_scale=scale, tz=_zone_name())
        core.refresh()
        log.info("%s %s stored, due %s (entry %s)", kind, what or "-", entry.due.isoformat(), entry.id)
        if kind == "timer" and what == "ice":
            self._ice_starts.append(now)
            core._last_ice = time.monotonic()
        span = _duration_words(seconds)
        if kind == "timer":
            text = f"{(what + ' timer').capitalize() if what else 'Timer'} set for {span}."
            if what == "ice":
                text += " Keep a thin cloth between the ice and your skin."
        else:
            text = f"Okay. I will remind you to {what} in {span}."
        core._say(text)

    def _ice_times(self, now: datetime) -> list[datetime]:
        """When ice began or will begin: this run's ice timers, stored ones (restart), ice reminders."""
        out = [t for t in self._ice_starts if now - t < timedelta(hours=2)]
        for t in timers.pending(self.core.scheduler):
            if t.what == "ice":
                out.append(t.started if t.kind == "timer" else t.due)
        return out

    def _stop_timer(self, intent: Intent) -> None:
        running = [t for t in timers.pending(self.core.scheduler)
                   if t.kind == "timer" and (not intent.name or t.what == intent.name)]
        if not running:
            self.core._say("There is no timer running.")
            return
        for t in running:
            self.core.book.remove(t.id)
        log.info("timers stopped: %s", ", ".join(t.id for t in running))
        self.core._say("Timer stopped." if len(running) == 1 else f"{len(running)} timers stopped.")

    def _time_left(self, intent: Intent) -> None:
        running = timers.pending(self.core.scheduler, "timer")
        if not running:
            self.core._say("There is no timer running.")
            return
        t = running[0]
        left = max(0.0, (t.due - datetime.now(timezone.utc)).total_seconds()) / self.core.config.time_scale
        name = f"your {t.what} timer" if t.what else "the timer"
        self.core._say(f"{seconds_in_words(left)} left on {name}.")

    def _louder(self, intent: Intent) -> None:
        self._volume(+1)

    def _quieter(self, intent: Intent) -> None:
        self._volume(-1)

    def _volume(self, step: int) -> None:
        """Louder or quieter now, and from now on: the settings file keeps the new volume."""
        core = self.core
        volume = core.io.speaker.adjust_volume(step)
        settings = core.settings
        if hasattr(settings, "speech"):
            core.settings = replace(settings, speech=replace(settings.speech, volume=volume))
            if self.save_settings is not None:
                try:
                    self.save_settings(core.settings)
                except OSError as exc:
                    log.error("could not keep the new volume: %s", exc)
        log.info("volume %.2f", volume)
        core._say("Louder." if step > 0 else "Quieter.")

    def _help(self, intent: Intent) -> None:
        self.core._say(HELP)

    # -- when a timer or reminder is due -------------------------------------------------------
    def due(self, payload: dict[str, Any], late_s: float) -> None:
        kind, what = payload.get("kind"), payload.get("what") or ""
        if kind == "timer" and late_s > timers.ROUND_GRACE_S:
            log.info("timer %s was due %.0f s ago; not said", what, late_s)
            return
        log.info("%s %s due: speaking", kind, what or "-")
        if kind == "timer" and what == "ice":
            self.core._ice_alert("skin")
        elif kind == "timer":
            self.core._chime()
            self.core._say(f"Your {what} timer is done." if what else "Your timer is done.")
        else:
            self.core._chime()
            text = f"This is your reminder to {what}."
            if what == "ice":
                text += " Ten to twenty minutes, with a thin cloth between the ice and your skin."
            self.core._say(text)


def _all_routines() -> list[tuple[str, str]]:
    from voice_coach import routines

    return [(r.id, r.title) for r in routines.load_all()]


def _routine_title(core, routine_id: str | None) -> str:
    from voice_coach.schedule.serve import spoken_title

    try:
        return spoken_title(core.find_routine(routine_id or "").title)
    except UserError:
        return _spoken_id(routine_id or "session")


def _spoken_id(rid: str) -> str:
    return rid.replace("-", " ")


def _duration_words(seconds: float) -> str:
    if seconds % 60 == 0 and seconds < 3600 * 3:
        minutes = seconds / 60
        if minutes % 60 == 0:
            hours = int(minutes // 60)
            return "one hour" if hours == 1 else f"{minutes_words(hours).split()[0]} hours"
        return minutes_words(minutes)
    return seconds_in_words(seconds)


def _when(local: datetime, now: datetime) -> str:
    """"today at 20:00", "tomorrow at 08:30", "on Monday at 20:00" (``local``: in the entry's zone)."""
    today = now.astimezone(local.tzinfo).date()
    if local.date() == today:
        day = "today"
    elif local.date() == today + timedelta(days=1):
        day = "tomorrow"
    else:
        day = f"on {local:%A}"
    return f"{day} at {local:%H:%M}"


def _zone_name() -> str:
    from voice_coach.schedule.parse import local_zone_name

    return local_zone_name()
