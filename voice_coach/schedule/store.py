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

A session that fired but was not yet dealt with (serve was busy, e.g. with an ice alert, and then
stopped) is kept as a paused ``pending-...`` entry until serve has offered or recorded it, so it is
offered after a restart (or recorded as missed) instead of vanishing. A row of the store that
cannot be read is reported and kept (the stock store deletes it); a damaged store file is one
clear error.
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
from apscheduler.util import utc_timestamp_to_datetime
from sqlalchemy import and_, null, select
from sqlalchemy.exc import SQLAlchemyError

from voice_coach import paths
from voice_coach.errors import EXIT_IO, UserError
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
PENDING_PREFIX = "pending-"  # a fired session not yet offered (see the module docstring)


def pending_id(job_id: str, due: datetime) -> str:
    return f"{PENDING_PREFIX}{job_id}-{int(due.timestamp())}"


@contextmanager
def store_errors(path: Path | str, doing: str = "use the schedule"):
    """Turn the job store's database errors into one clear line naming the file: the same
    storage.classify verdicts (damaged, full, read-only, locked) and exit codes as the history."""
    from sqlalchemy.exc import DBAPIError

    try:
        yield
    except DBAPIError as exc:
        raise classify(exc.orig or exc, Path(path), doing) from None
    except SQLAlchemyError as exc:
        reason = str(exc).splitlines()[0]
        raise UserError(f"cannot use the schedule file {path} ({reason})", exit_code=EXIT_IO) from None


class KeptRowsJobStore(SQLAlchemyJobStore):
    """SQLAlchemyJobStore that keeps a row it cannot read (the stock one deletes it) and reports it.

    A row that cannot be unpickled (a damaged file, a job written by a newer version) is listed
    in :attr:`unreadable` for ``schedule list`` to report, and left out of the next-run time, so
    the scheduler does not wake for it over and over.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.unreadable: dict[str, str] = {}  # row id -> why it could not be read

    def _get_jobs(self, *conditions):
        """As the stock store, but a row that cannot be read is remembered and kept, never deleted."""
        jobs = []
        selectable = select(self.jobs_t.c.id, self.jobs_t.c.job_state).order_by(self.jobs_t.c.next_run_time)
        selectable = selectable.where(and_(*conditions)) if conditions else selectable
        with self.engine.begin() as connection:
            for row in connection.execute(selectable):
                try:
                    jobs.append(self._reconstitute_job(row.job_state))
                except Exception as exc:  # noqa: BLE001 - a damaged row: report it, keep it
                    if row.id not in self.unreadable:
                        log.error("schedule entry %s cannot be read (%s); it is kept, not run", row.id, exc)
                    self.unreadable[row.id] = f"{type(exc).__name__}: {exc}"
        return jobs

    def get_next_run_time(self):
        """The next due time of a readable row (an unreadable row must not wake the scheduler forever)."""
        selectable = select(self.jobs_t.c.next_run_time).where(self.jobs_t.c.next_run_time != null())
        if self.unreadable:
            selectable = selectable.where(self.jobs_t.c.id.not_in(list(self.unreadable)))
        with self.engine.begin() as connection:
            value = connection.execute(selectable.order_by(self.jobs_t.c.next_run_time).limit(1)).scalar()
        return utc_timestamp_to_datetime(value)

    def lookup_job(self, job_id: str):
        try:
            return super().lookup_job(job_id)
        except SQLAlchemyError:  # the file, not the row: the caller reports it
            raise
        except Exception as exc:  # noqa: BLE001 - the row exists but cannot be read
            self.unreadable[job_id] = f"{type(exc).__name__}: {exc}"
            return None


class SharedJobStore(KeptRowsJobStore):
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
        with store_errors(self.path, "open the schedule"):
            super().start(scheduler, alias)

    def add_job(self, job: Job) -> None:
        with store_errors(self.path, "write to the schedule"):
            super().add_job(job)

    def update_job(self, job: Job) -> None:
        try:
            with store_errors(self.path, "write to the schedule"):
                super().update_job(job)
        except JobLookupError:
            log.info("job %s was removed by another process while it ran", job.id)

    def remove_job(self, job_id: str) -> None:
        try:
            with store_errors(self.path, "write to the schedule"):
                super().remove_job(job_id)
        except JobLookupError:
            log.debug("job %s was already removed", job_id)


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
        self.path = _store_path(self.scheduler)
        if self._own:
            with store_errors(self.path):
                self.scheduler.start(paused=True)

    def close(self) -> None:
        if self._own and self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def __enter__(self) -> ScheduleBook:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()
        if isinstance(exc, SQLAlchemyError):  # a write that failed (read-only, locked, full): one line
            with store_errors(self.path):
                raise exc

    # -- reading ------------------------------------------------------------------------------
    def entries(self) -> list[Entry]:
        """The person's entries (not serve's pending markers), soonest first."""
        with store_errors(self.path):
            jobs = self.scheduler.get_jobs()
        out = [entry_of(job) for job in jobs if not job.id.startswith(PENDING_PREFIX)]
        far = datetime.max.replace(tzinfo=timezone.utc)
        return sorted(out, key=lambda e: (e.next_run or far, e.id))

    def unreadable(self) -> dict[str, str]:
        """Rows of the store that could not be read by the last look (id -> reason); kept as they are."""
        return dict(getattr(self.scheduler._lookup_jobstore("default"), "unreadable", {}))

    def get(self, entry_id: str) -> Entry:
        with store_errors(self.path):
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
        for e in self.entries():
            p = e.payload
            if (e.kind == "session" and (p.get("routine"), p.get("at"), p.get("days"), p.get("tz"))
                    == (routine_id, f"{at:%H:%M}", days_text, zone.key)):
                raise UserError(f"{routine_id} is already scheduled {when} ({zone.key}) as {e.id}; nothing was "
                                f"added (to change it: 'voice-coach schedule remove {e.id}', then add again)")
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
        if self.scheduler.get_job(entry_id) is None and entry_id in self.unreadable():
            with store_errors(self.path):  # an unreadable row: delete it by id, nothing to show
                self.scheduler._lookup_jobstore("default").remove_job(entry_id)
            return Entry(id=entry_id, kind="unreadable", routine=None, tz="UTC", next_run=None, paused=True,
                         when="(could not be read)")
        entry = self.get(entry_id)
        self.scheduler.remove_job(entry_id)
        return entry

    # -- serve's pending markers ----------------------------------------------------------------
    def mark_pending(self, job_id: str, payload: dict[str, Any], due: datetime) -> str:
        """Keep a fired session in the store (paused, never run) until serve has dealt with it."""
        marker = pending_id(job_id, due)
        kwargs = {**payload, "pending_of": job_id}
        self.scheduler.add_job(REMIND_REF, DateTrigger(run_date=due), id=marker, kwargs=kwargs,
                               name=f"{payload.get('routine')} pending", next_run_time=None, replace_existing=True)
        return marker

    def pending(self) -> list[tuple[str, dict[str, Any], datetime]]:
        """Sessions that fired and were never dealt with: (original job id, payload, due time)."""
        out = []
        for job in self.scheduler.get_jobs():
            if job.id.startswith(PENDING_PREFIX):
                payload = {k: v for k, v in job.kwargs.items() if k != "pending_of"}
                out.append((job.kwargs.get("pending_of", job.id), payload, job.trigger.run_date))
        return sorted(out, key=lambda item: item[2])

    def clear_pending(self, job_id: str, due: datetime) -> None:
        try:
            self.scheduler.remove_job(pending_id(job_id, due))
        except JobLookupError:
            pass

    def pause(self, entry_id: str) -> Entry:
        self.get(entry_id)
        return entry_of(self.scheduler.pause_job(entry_id))

    def resume(self, entry_id: str) -> Entry:
        self.get(entry_id)
        job = self.scheduler.resume_job(entry_id)
        if job is None:  # an interval plan whose last round passed while paused: nothing left to do
            raise UserError(f"'{entry_id}' has no rounds left and was removed")
        return entry_of(job)


def _store_path(scheduler: BaseScheduler) -> str:
    store = scheduler._jobstores.get("default") if hasattr(scheduler, "_jobstores") else None
    url = getattr(getattr(store, "engine", None), "url", None)
    return str(url.database) if url is not None and url.database else "(the schedule store)"


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
