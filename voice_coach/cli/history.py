"""Sub-commands ``history`` (list, export, delete) and ``report``: the person's record stays on the device.

Reading never creates a history file; a damaged or too-new file is reported and left untouched.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from voice_coach import paths
from voice_coach.cli.invocation import command
from voice_coach.errors import UserError
from voice_coach.history import HistoryStore, export, progress
from voice_coach.history.records import SessionRecord
from voice_coach.history.timefmt import now_local, parse_date, parse_since
from voice_coach.wording import plural


def register(sub) -> None:
    """Add ``history`` (with ``export`` and ``delete``) and ``report``."""
    p = sub.add_parser("history", help="past sessions, pain ratings and weekly averages; export or delete them",
                       description="List past sessions with minutes, completion and pain before/after.")
    p.add_argument("--since", default="30d", help="period: 30d, 12w, 6m, 1y, all, or a date YYYY-MM-DD (default 30d)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="a JSON list of sessions")
    fmt.add_argument("--csv", action="store_true", help="CSV, one session a row")
    p.set_defaults(func=_list)
    actions = p.add_subparsers(dest="history_action", metavar="[export | delete]")

    e = actions.add_parser("export", help="write the whole history as JSON or CSV")
    e.add_argument("--out", type=Path, help="file to write (default: standard output)")
    e.add_argument("--format", choices=("json", "csv"), help="default: from --out's suffix, else json")
    e.add_argument("--since", dest="export_since", default="all", help="period to export (default all)")
    e.set_defaults(func=_export)

    d = actions.add_parser("delete", help="delete sessions, notes and missed sessions before a date")
    d.add_argument("--before", required=True, help="a date YYYY-MM-DD (local midnight) or an ISO 8601 time")
    d.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    d.set_defaults(func=_delete)

    r = sub.add_parser("report", help="a one-page progress summary (PNG, PDF or HTML) to print or send",
                       description="Write a one-page progress report; the format follows the file suffix.")
    r.add_argument("--since", default="90d", help="period: 90d, 12w, 6m, all, or a date (default 90d)")
    r.add_argument("--out", type=Path, required=True, help="report.png, report.pdf or report.html")
    r.set_defaults(func=_report)


# ---- shared --------------------------------------------------------------------------------------


def _open_existing(readonly: bool = True) -> HistoryStore | None:
    """The store, or None when no history was ever written (reading must not create the file).

    Readers open it read-only: they never write, checkpoint a WAL or delete anything.
    """
    path = paths.history_db()
    if not path.exists():
        return None
    store = HistoryStore.open(path, readonly=readonly)
    if store.upgraded_from is not None:
        print(
            f"voice-coach: upgraded the history file from format {store.upgraded_from} to the current one; "
            f"a copy of the old file is at {store.backup_path}",
            file=sys.stderr,
        )
    return store


def _write_out(out: Path | None, text: str) -> None:
    if out is None:
        sys.stdout.write(text)
        return
    if not out.parent.is_dir():
        raise UserError(f"The folder {out.parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _day(dt: datetime) -> str:
    return f"{dt:%a} {dt.day:2d} {dt:%b %Y}"


def _val(x: float | int | None) -> str:
    if x is None:
        return "-"
    return str(x) if isinstance(x, int) else f"{x:.1f}"


# ---- history -------------------------------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    now = now_local()
    since = parse_since(args.since, now)
    store = _open_existing()
    records: list[SessionRecord] = []
    recent: list[SessionRecord] = []
    anything = False
    if store is not None:
        with store:
            records = store.sessions(since=since)
            if not (args.json or args.csv):
                start = now - progress.ADVICE_WINDOW
                recent = store.sessions(since=min(since, start) if since else None)
                anything = bool(records) or bool(store.sessions())
    if args.json:
        sys.stdout.write(export.sessions_json(records))
        return 0
    if args.csv:
        sys.stdout.write(export.sessions_csv(records))
        return 0
    if not records:
        if anything and since is not None:
            print(f"No sessions since {_day(since).strip()}; try --since all.")
        else:
            print(f"No sessions recorded yet. Start one with: {command()} run")
        return 0
    print(_table(records, since))
    print()
    print(_weeks_table(progress.weekly(records)))
    print()
    print(progress.summary_sentence(recent, now))
    if progress.advice_due(recent, now):
        print()
        print(progress.ADVICE_TEXT)
    return 0


def _table(records: list[SessionRecord], since: datetime | None) -> str:
    head = f"Sessions since {_day(since).strip()}: {len(records)}" if since else f"All sessions: {len(records)}"
    width = max(7, min(32, max(len(r.title) for r in records)))
    lines = [head, "", f"{'date':<22}{'routine':<{width + 2}}{'min':>6}  {'steps':>6}  {'pain':<9}ended"]
    for r in records:
        pain = f"{_val(r.pain_before)} -> {_val(r.pain_after)}"
        title = r.title if len(r.title) <= width else r.title[: width - 1] + "…"
        done = f"{r.steps_done}/{r.steps_total}"
        lines.append(
            f"{_day(r.started)} {r.started:%H:%M}  {title:<{width + 2}}{r.minutes:6.1f}  {done:>6}  {pain:<9}"
            f"{r.end_reason or 'not ended'}"
        )
    return "\n".join(lines)


def _weeks_table(weeks: list[progress.WeekStats]) -> str:
    lines = ["Weekly averages (weeks start on Monday)",
             f"{'week of':<16}{'sessions':>9}{'minutes':>9}{'pain before':>13}{'pain after':>12}"]
    for w in weeks:
        lines.append(
            f"{w.start.day:2d} {w.start:%b %Y}     {w.sessions:>9}{w.minutes:9.1f}"
            f"{_val(w.pain_before):>13}{_val(w.pain_after):>12}"
        )
    return "\n".join(lines)


def _export(args: argparse.Namespace) -> int:
    now = now_local()
    since = parse_since(args.export_since, now)
    kind = args.format or ("csv" if args.out is not None and args.out.suffix.lower() == ".csv" else "json")
    store = _open_existing()
    records, missed, notes = [], [], []
    if store is not None:
        with store:
            records, missed, notes = store.sessions(since=since), store.missed(since), store.notes(since)
    text = export.sessions_csv(records) if kind == "csv" else export.export_json(records, missed, notes, now)
    _write_out(args.out, text)
    if args.out is not None:
        print(f"Exported {plural(len(records), 'session')} to {args.out}", file=sys.stderr)
    return 0


def _delete(args: argparse.Namespace) -> int:
    now = now_local()
    before = parse_date(args.before, now)
    if before > now + timedelta(days=1):
        raise UserError(f"{args.before} is in the future; give a date in the past to delete what came before it")
    store = _open_existing(readonly=False)
    if store is None:
        print("There is no history to delete.")
        return 0
    with store:
        counts = store.count_before(before)
        when = before.isoformat(timespec="minutes")
        if counts.total == 0:
            print(f"Nothing is recorded before {when}.")
            return 0
        what = (f"{plural(counts.sessions, 'session')}, {plural(counts.notes, 'other note')} and "
                f"{plural(counts.missed, 'missed-session record')}")
        if not args.yes:
            if not sys.stdin.isatty():
                raise UserError(
                    f"Would delete {what} from before {when}. Not deleting without confirmation: "
                    "run this in a terminal to be asked, or add --yes."
                )
            answer = input(f"Delete {what} from before {when}? This cannot be undone. [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                print("Nothing deleted.")
                return 1
        store.delete_before(before)
        copies = store.remove_backups()  # a pre-upgrade copy still holds what was just deleted
    print(f"Deleted {what} from before {when}.")
    for copy in copies:
        print(f"Also removed {copy}, the copy kept from a format upgrade, which still held them.")
    return 0


# ---- report --------------------------------------------------------------------------------------


def _report(args: argparse.Namespace) -> int:
    from voice_coach.history import report

    now = now_local()
    since = parse_since(args.since, now)
    if report.FORMATS.get(args.out.suffix.lower()) is None:
        raise UserError(f"Cannot write a report as '{args.out.name}'; use a file ending in .png, .pdf or .html")
    store = _open_existing()
    records, missed, notes = [], [], []
    if store is not None:
        with store:
            start = now - progress.ADVICE_WINDOW
            records = store.sessions(since=min(since, start) if since else None)
            missed, notes = store.missed(since), store.notes(since)
    shown = [r for r in records if since is None or r.started >= since]
    if not shown and not missed:
        period = f"since {_day(since).strip()}" if since else "yet"
        raise UserError(f"No sessions recorded {period}; nothing to report.", exit_code=1)
    data = report.write_report(records, missed, args.out, since, now, notes=notes)
    print(f"Wrote {args.out}: {plural(data.sessions, 'session')}, {data.minutes:.0f} minutes of care"
          + (", with advice to see a clinician" if data.advice else ""))
    return 0
