"""The persistent schedule: APScheduler 3 with a SQLite job store, shared by the CLI and ``serve``.

Two processes use the same store. ``serve`` runs the scheduler; the CLI opens its own scheduler
*started paused* (a paused scheduler writes jobs to the store but never runs them) and closes it
again. APScheduler 3 does not watch the database, so serve would only see a change at its next
computed wake-up: serve therefore re-reads the store every ``poll`` seconds (default 30), and the CLI
sends serve a SIGHUP after each change (pid file ``serve.pid`` in the data folder) so it re-reads
at once. See :func:`notify_serve`.

Deliberate job defaults (pitfalls: the default grace of 1 s drops a job missed while the machine was
off; ``coalesce=False`` runs a missed job many times after a restart):
- ``coalesce=True``: any number of missed runs collapse into one;
- ``misfire_grace_time``: a session may still be offered up to an hour late, an ice or rolling
  round only ten minutes late (a late round would crowd the next one);
- ``max_instances=1``.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.job import Job
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED, BaseScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from voice_coach import paths
from voice_coach.errors import UserError
from voice_coach.storage import classify
from voice_coach.schedule.jobs import REMIND_REF
from voice_coach.schedule.parse import DAY_NAMES, local_zone_name
from voice_coach.schedule.plans import IntervalPlan, check_no_clash, check_plan
from voice_coach.schedule.triggers import DailyTrigger

log = logging.getLogger(__name__)

SESSION_GRACE_S = 3600  # a session missed by up to an hour is still offered (once)
ROUND_GRACE_S = 600  # an ice/rolling round more than 10 minutes late is dropped
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": SESSION_GRACE_S}
DEFAULT_POLL_S = 30.0


class SharedJobStore(SQLAlchemyJobStore):
    """SQLAlchemyJobStore that tolerates a job removed by another process mid-run.

    The scheduler thread reads due jobs, then writes back their next run time; if ``schedule
    remove`` deleted the row in between, the stock store raises JobLookupError inside the
    scheduler's loop, which kills its thread. Here that is logged and ignored. A write the disk
    refuses (full, read-only, locked) becomes one clear StorageError instead of a SQLAlchemy traceback.
    """

    def __init__(self, path: Path):
        super().__init__(url=f"sqlite:///{path}")
        self.path = path

    def start(self, scheduler, alias) -> None:
        with _storage_errors(self.path, "open the schedule"):
            super().start(scheduler, alias)

    def add_job(self, job: Job) -> None:
        with _storage_errors(self.path, "write to the schedule"):
            super().add_job(job)

    def update_job(self, job: Job) -> None:
        try:
            with _storage_errors(self.path, "write to the schedule"):
                super().update_job(job)
        except JobLookupError:
            log.info("job %s was removed by another process while it ran", job.id)

    def remove_job(self, job_id: str) -> None:
        try:
            with _storage_errors(self.path, "write to the schedule"):
                super().remove_job(job_id)
        except JobLookupError:
            log.debug("job %s was already removed", job_id)


@contextmanager
def _storage_errors(path: Path, doing: str):
    from sqlalchemy.exc import DBAPIError

    try:
        yield
    except DBAPIError as exc:
        raise classify(exc.orig or exc, path, doing) from None


class ServeScheduler(BackgroundScheduler):
    """BackgroundScheduler that does not run jobs while it shuts down.

    In 3.11 ``shutdown()`` sets the state to stopped and then wakes the loop, which runs one more
    ``_process_jobs()`` (it only checks for *paused*): a job due at that moment is submitted to the
    already-closed executor, fails, and still has its next run time moved on, so it is lost.
    """

    def _process_jobs(self):
        if self.state == STATE_STOPPED:
            return None
        return super()._process_jobs()


class EditingScheduler(BaseScheduler):
    """A scheduler that only edits the store: no thread, never runs or advances a job.

    The CLI uses it while serve runs in another process; a BackgroundScheduler started paused is
    not enough (see :class:`ServeScheduler`: on shutdown it would fire due jobs itself).
    """

    def wakeup(self) -> None:
        pass

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)

    def _process_jobs(self):
        return None


def make_scheduler(db_path: Path | None = None, *, zone: str | None = None, editing: bool = False) -> BaseScheduler:
    """A not-yet-started scheduler on the SQLite store (created if missing).

    ``editing=True``: an :class:`EditingScheduler` for the CLI; else the :class:`ServeScheduler`.
    """
    db_path = Path(db_path or paths.schedule_db())
    try:
        paths.secure_user_folders()
        paths.private_file(db_path)  # 0600 before SQLAlchemy creates it with the umask's mode
    except OSError as exc:
        if not db_path.exists():
            raise classify(exc, db_path, "create the schedule") from None
    cls = EditingScheduler if editing else ServeScheduler
    return cls(
        jobstores={"default": SharedJobStore(db_path)},
        executors={"default": {"type": "threadpool", "max_workers": 2}},
        job_defaults=dict(JOB_DEFAULTS),
        timezone=ZoneInfo(zone or local_zone_name()),
    )


@dataclass(frozen=True)
class Entry:
    """One schedule entry as the CLI shows it."""

    id: str
    kind: str  # session | ice | roll
    routine: str | None
    tz: str
    next_run: datetime | None  # in the entry's own zone
    paused: bool
    when: str  # human summary, e.g. "daily 20:00 mon,wed,fri"
    payload: dict[str, Any] = field(default_factory=dict, compare=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "routine": self.routine, "kind": self.kind, "tz": self.tz,
            "next_run": self.next_run.isoformat() if self.next_run else None,
            "paused": self.paused, "when": self.when,
            **{k: self.payload[k] for k in ("region", "minutes", "at", "days") if k in self.payload},
        }


def entry_of(job: Job) -> Entry:
    payload = dict(job.kwargs)
    zone = ZoneInfo(payload.get("tz") or "UTC")
    nxt = job.next_run_time.astimezone(zone) if job.next_run_time else None
    return Entry(id=job.id, kind=payload.get("kind", "?"), routine=payload.get("routine"), tz=zone.key,
                 next_run=nxt, paused=job.next_run_time is None, when=payload.get("when", ""), payload=payload)


def next_local(at: time, zone: ZoneInfo, now: datetime | None = None) -> datetime:
    """The next ``at`` on the wall clock of ``zone`` (today if still ahead, else tomorrow)."""
    now = (now or datetime.now(timezone.utc)).astimezone(zone)
    day: date = now.date()
    for _ in range(2):
        candidate = datetime.combine(day, at, tzinfo=zone).astimezone(timezone.utc).astimezone(zone)
        if candidate >= now - timedelta(minutes=1):
            return candidate
        day += timedelta(days=1)
    return candidate


class ScheduleBook:
    """Add, list and change schedule entries in the store.

    With ``scheduler`` (serve's running one) it works on that; without, it opens an
    :class:`EditingScheduler` on the store, which writes and reads jobs but never runs them.
    """

    def __init__(self, db_path: Path | None = None, *, scheduler: BaseScheduler | None = None):
        self._own = scheduler is None
        self.scheduler = scheduler or make_scheduler(db_path, editing=True)
        if self._own:
            self.scheduler.start(paused=True)

    def close(self) -> None:
        if self._own and self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def __enter__(self) -> ScheduleBook:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- reading ------------------------------------------------------------------------------
    def entries(self) -> list[Entry]:
        out = [entry_of(job) for job in self.scheduler.get_jobs()]
        far = datetime.max.replace(tzinfo=timezone.utc)
        return sorted(out, key=lambda e: (e.next_run or far, e.id))

    def get(self, entry_id: str) -> Entry:
        job = self.scheduler.get_job(entry_id)
        if job is None:
            known = ", ".join(e.id for e in self.entries()) or "none"
            raise UserError(f"no schedule entry '{entry_id}'. Entries: {known} (see 'voice-coach schedule list')")
        return entry_of(job)

    def plans(self, kind: str | None = None) -> list[IntervalPlan]:
        return [IntervalPlan.from_payload(e.payload) for e in self.entries()
                if e.kind in ("ice", "roll") and (kind is None or e.kind == kind)]

    # -- writing ------------------------------------------------------------------------------
    def add_session(self, routine_id: str, at: time, *, zone: ZoneInfo,
                    days: tuple[str, ...] = DAY_NAMES) -> Entry:
        """A daily (or some-days) session at ``at`` on the wall clock of ``zone``."""
        days_text = "" if tuple(days) == DAY_NAMES else ",".join(days)
        when = f"daily {at:%H:%M}" + (f" {days_text}" if days_text else "")
        payload = {"kind": "session", "routine": routine_id, "at": f"{at:%H:%M}", "days": days_text,
                   "tz": zone.key, "when": when}
        trigger = DailyTrigger(hour=at.hour, minute=at.minute, day_of_week=",".join(days), timezone=zone)
        job = self.scheduler.add_job(REMIND_REF, trigger, id=_new_id("session"), kwargs=payload,
                                     name=f"{routine_id} {when}", misfire_grace_time=SESSION_GRACE_S)
        return entry_of(self.scheduler.get_job(job.id))

    def add_plan(self, plan: IntervalPlan) -> Entry:
        """An ice or rolling plan; refused (nothing stored) if it breaks a care rule or clashes."""
        check_plan(plan)
        check_no_clash(plan, self.plans(plan.kind))
        zone = plan.start.tzinfo
        payload = {**plan.to_payload(), "tz": getattr(zone, "key", "UTC"), "routine": None,
                   "when": f"{plan.minutes} min every {_span(plan.every)} for {_span(plan.span)}, "
                           f"from {plan.start:%a %H:%M}"}
        trigger = IntervalTrigger(seconds=int(plan.every.total_seconds()), start_date=plan.start.astimezone(timezone.utc),
                                  end_date=plan.last_round.astimezone(timezone.utc), timezone=timezone.utc)
        job = self.scheduler.add_job(REMIND_REF, trigger, id=_new_id(plan.kind), kwargs=payload,
                                     name=plan.describe(), next_run_time=plan.start,
                                     misfire_grace_time=ROUND_GRACE_S)
        return entry_of(self.scheduler.get_job(job.id))

    def add_once(self, routine_id: str, at: datetime, *, zone: ZoneInfo) -> Entry:
        """A one-off session at ``at`` (tests, demos, "remind me in ten minutes")."""
        payload = {"kind": "session", "routine": routine_id, "tz": zone.key,
                   "when": f"once {at.astimezone(zone):%a %H:%M:%S}"}
        job = self.scheduler.add_job(REMIND_REF, DateTrigger(run_date=at), id=_new_id("once"), kwargs=payload,
                                     name=f"{routine_id} once", misfire_grace_time=SESSION_GRACE_S)
        return entry_of(self.scheduler.get_job(job.id))

    def add_snooze(self, payload: dict[str, Any], at: datetime, snoozes: int) -> Entry:
        """A one-off repeat of a session reminder (serve's "later")."""
        new = {**payload, "snoozes": snoozes, "when": f"snoozed to {at.astimezone(ZoneInfo(payload.get('tz') or 'UTC')):%H:%M}"}
        job = self.scheduler.add_job(REMIND_REF, DateTrigger(run_date=at), id=_new_id("snooze"), kwargs=new,
                                     name=f"{payload.get('routine')} snoozed", misfire_grace_time=SESSION_GRACE_S)
        return entry_of(self.scheduler.get_job(job.id))

    def remove(self, entry_id: str) -> Entry:
        entry = self.get(entry_id)
        self.scheduler.remove_job(entry_id)
        return entry

    def pause(self, entry_id: str) -> Entry:
        self.get(entry_id)
        return entry_of(self.scheduler.pause_job(entry_id))

    def resume(self, entry_id: str) -> Entry:
        self.get(entry_id)
        job = self.scheduler.resume_job(entry_id)
        if job is None:  # an interval plan whose last round passed while paused: nothing left to do
            raise UserError(f"'{entry_id}' has no rounds left and was removed")
        return entry_of(job)


def _new_id(kind: str) -> str:
    return f"{kind}-{secrets.token_hex(3)}"


def _span(delta: timedelta) -> str:
    from voice_coach.schedule.parse import format_span

    return format_span(delta)


# -- telling a running serve to re-read the store ---------------------------------------------
def pid_file() -> Path:
    return paths.data_dir() / "serve.pid"


def write_pid_file() -> Path:
    path = paths.private_file(pid_file())
    path.write_text(f"{os.getpid()}\n", encoding="utf-8")
    return path


def remove_pid_file() -> None:
    path = pid_file()
    try:
        if path.read_text(encoding="utf-8").strip() == str(os.getpid()):
            path.unlink()
    except OSError:
        pass


def serve_pid() -> int | None:
    """The pid of a running ``voice-coach serve`` for this user, or None.

    The pid file can be stale (a crash, a reboot): the pid is only trusted if that process's
    command line really is a voice-coach serve, so a recycled pid never gets our signal.
    """
    try:
        pid = int(pid_file().read_text(encoding="utf-8").strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    words = [w.decode(errors="replace") for w in cmdline]
    if "serve" in words and any("voice_coach" in w or "voice-coach" in w for w in words):
        return pid
    return None


def notify_serve() -> bool:
    """SIGHUP a running serve so it re-reads the store now; False if none runs (it will read at start)."""
    pid = serve_pid()
    if pid is None:
        return False
    try:
        os.kill(pid, signal.SIGHUP)
    except OSError:
        return False
    return True
