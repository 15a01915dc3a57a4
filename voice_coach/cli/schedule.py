"""Sub-commands ``schedule ...`` (edit the persistent schedule) and ``serve`` (the always-on daemon).

Every change is checked completely before it touches the job store, so bad input changes nothing.
After a change a running ``serve`` is told to re-read the store (SIGHUP).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

from voice_coach.cli.invocation import command
from voice_coach.cli.numbers import positive
from voice_coach.errors import UserError
from voice_coach.wording import plural


def register(sub) -> None:
    """Add ``schedule`` and ``serve`` to the parser."""
    p = sub.add_parser("schedule", help="daily sessions and ice/rolling reminders",
                       description="Reminders that 'voice-coach serve' announces. Times are wall-clock "
                                   "times in the given zone (default: this machine's).")
    ssub = p.add_subparsers(dest="schedule_command", metavar="ACTION", required=True)

    a = ssub.add_parser("add", help="a daily session at a time of day")
    a.add_argument("routine", metavar="ROUTINE", help="routine id (see 'voice-coach routines list') or .toml file")
    a.add_argument("--daily", required=True, metavar="HH:MM", help="time of day, 24-hour clock")
    a.add_argument("--days", metavar="DAYS", help="only on these days, e.g. mon,wed,fri or weekdays")
    a.add_argument("--tz", metavar="ZONE", help="IANA time zone, e.g. Europe/Berlin (default: local)")
    a.set_defaults(func=_add)

    ls = ssub.add_parser("list", help="entries with their next run")
    ls.add_argument("--json", action="store_true", help="JSON objects (id, routine, kind, tz, next_run, paused)")
    ls.set_defaults(func=_list)

    for name, helptext, func in (("remove", "delete an entry", _remove), ("pause", "stop an entry for now", _pause),
                                 ("resume", "start a paused entry again", _resume)):
        q = ssub.add_parser(name, help=helptext)
        q.add_argument("id", metavar="ID", help="entry id from 'schedule list'")
        q.set_defaults(func=func)

    for kind, helptext in (("ice", "ice rounds (10-20 min, at most about once an hour)"),
                           ("roll", "foam-rolling rounds")):
        q = ssub.add_parser(kind, help=helptext)
        q.add_argument("--every", required=True, metavar="SPAN", help="time between round starts, e.g. 60m or 2h")
        q.add_argument("--for", dest="span", required=True, metavar="SPAN", help="how long the plan lasts, e.g. 4h")
        q.add_argument("--start", metavar="HH:MM", help="first round (default: now)")
        q.add_argument("--minutes", type=int, help="length of one round (ice: 10 default, 10-20; roll: 5 default)")
        q.add_argument("--region", help="body region (ice: 'lower back' by default)")
        q.add_argument("--tz", metavar="ZONE", help="IANA time zone for --start (default: local)")
        q.set_defaults(func=_plan, kind=kind)

    s = sub.add_parser("serve", help="the always-on daemon: announces scheduled sessions and rounds",
                       description="Runs the schedule: announces sessions (say start, later or skip), "
                                   "runs them, and keeps ice rounds safe. Stop with SIGTERM or Ctrl-C.")
    s.add_argument("--poll", type=positive(3600, " s"), default=30.0, metavar="S",
                   help="re-read the schedule every S seconds (the CLI also signals changes at once)")
    s.add_argument("--answer-timeout", type=positive(3600, " s"), default=60.0, metavar="S",
                   help="wait S seconds for an answer")
    s.add_argument("--snooze", type=positive(24 * 60, " min"), default=15.0, metavar="MIN",
                   help="'later' asks again after MIN minutes")
    s.add_argument("--time-scale", type=positive(10_000), default=1.0, metavar="X",
                   help="run ice and rolling rounds, the spacing of ice rounds and session timers X times "
                        "faster, like 'run --time-scale' (demos and tests)")
    s.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    s.set_defaults(func=_serve)


# -- handlers ---------------------------------------------------------------------------------
def _book():
    from voice_coach.schedule.store import ScheduleBook

    return ScheduleBook()


def _after_change() -> None:
    from voice_coach.schedule.store import notify_serve

    if not notify_serve():
        print(f"note: '{command()} serve' is not running; reminders need it (see docs/raspberry-pi.md).")


def _fmt_next(entry) -> str:
    return entry.next_run.strftime("%a %d %b %H:%M %Z") if entry.next_run else "paused"


def _next_phrase(entry) -> str:
    """"next Wed 02 Dec 20:00 CET", or "paused" alone (not "next paused")."""
    return f"next {_fmt_next(entry)}" if entry.next_run else "paused: no next run until resumed"


def _add(args) -> int:
    from voice_coach import routines
    from voice_coach.schedule.parse import parse_clock, parse_days, parse_zone

    at = parse_clock(args.daily)
    days = parse_days(args.days)
    zone = parse_zone(args.tz)
    routine = routines.find(args.routine)
    name = args.routine
    ref = str(Path(name).expanduser().resolve()) if (name.endswith(".toml") or "/" in name) else routine.id
    with _book() as book:
        entry = book.add_session(ref, at, zone=zone, days=days)
    print(f"added {entry.id}: {routine.title} ({routine.id}) {entry.when}, {zone.key}; {_next_phrase(entry)}")
    _after_change()
    return 0


def _plan(args) -> int:
    from voice_coach.schedule.parse import parse_clock, parse_span, parse_zone
    from voice_coach.schedule.plans import DEFAULT_MINUTES, DEFAULT_REGION, IntervalPlan
    from voice_coach.schedule.store import next_local

    every = parse_span(args.every, "--every")
    span = parse_span(args.span, "--for")
    zone = parse_zone(args.tz)
    if args.start:
        start = next_local(parse_clock(args.start), zone)
    else:
        start = datetime.now(timezone.utc).replace(microsecond=0).astimezone(zone)
    region = (args.region or DEFAULT_REGION[args.kind]).strip()
    if not region:
        raise UserError("--region must name a body region, e.g. \"lower back\"")
    minutes = args.minutes if args.minutes is not None else DEFAULT_MINUTES[args.kind]
    plan = IntervalPlan(kind=args.kind, start=start, every=every, span=span, minutes=minutes, region=region)
    with _book() as book:
        entry = book.add_plan(plan)  # checks the care rules and clashes before storing
    rounds = plan.rounds()
    print(f"added {entry.id}: {plan.describe()}; {plural(len(rounds), 'round')}, "
          f"{rounds[0]:%a %H:%M} to {rounds[-1]:%H:%M} {zone.key}")
    _after_change()
    return 0


def _list(args) -> int:
    with _book() as book:
        entries = book.entries()
        unreadable = book.unreadable()
    for entry_id, reason in sorted(unreadable.items()):  # reported and kept, never deleted
        print(f"voice-coach: schedule entry {entry_id} in {book.path} cannot be read ({reason}); it is kept "
              f"but never runs: remove it with '{command()} schedule remove {entry_id}' and add it again",
              file=sys.stderr)
    code = 1 if unreadable else 0
    if args.json:
        print(json.dumps([e.as_json() for e in entries], indent=2))
        return code
    if not entries:
        print(f"no schedule entries; add one with '{command()} schedule add ROUTINE --daily 20:00'")
        return code
    rows = [("ID", "KIND", "WHAT", "WHEN", "ZONE", "NEXT RUN")]
    for e in entries:
        what = e.routine or e.payload.get("region", "")
        rows.append((e.id, e.kind, what, e.when, e.tz, _fmt_next(e)))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    return code


def _change(args, verb: str) -> int:
    with _book() as book:
        entry = getattr(book, verb)(args.id)
    print(f"{verb}d {entry.id}" if verb != "remove" else f"removed {entry.id}", end="")
    print(f" ({entry.routine or entry.kind} {entry.when}); {_next_phrase(entry)}" if verb != "remove"
          else f" ({entry.routine or entry.kind} {entry.when})")
    _after_change()
    return 0


def _remove(args) -> int:
    return _change(args, "remove")


def _pause(args) -> int:
    return _change(args, "pause")


def _resume(args) -> int:
    return _change(args, "resume")


def _serve(args) -> int:
    from voice_coach import settings as settings_mod
    from voice_coach.schedule.daemon import serve
    from voice_coach.schedule.serve import ServeConfig

    config = ServeConfig(poll_s=args.poll, answer_timeout_s=args.answer_timeout, snooze_s=args.snooze * 60,
                         time_scale=args.time_scale)
    from voice_coach import settings_checks

    conf = settings_mod.load()
    settings_checks.check_all(conf)  # a voice that is not there: one line now, not silence later
    return serve(conf, config=config, db_path=args.db, verbosity=args.verbose)
