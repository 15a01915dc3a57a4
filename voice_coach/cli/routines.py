"""``voice-coach routines list | show NAME | check FILE...``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from voice_coach import routines
from voice_coach.routines import Routine


def register(sub) -> None:
    p = sub.add_parser("routines", help="list, show and check routines")
    rsub = p.add_subparsers(dest="routines_command", metavar="ACTION", required=True)
    ls = rsub.add_parser("list", help="the routines you can run")
    ls.add_argument("--json", action="store_true", help="one JSON list of objects")
    ls.set_defaults(func=_list)
    show = rsub.add_parser("show", help="a routine's steps")
    show.add_argument("name", help="a routine id or a path to a .toml file")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=_show)
    check = rsub.add_parser("check", help="check routine files; prints file:line: messages")
    check.add_argument("files", nargs="+", type=Path)
    check.set_defaults(func=_check)


def _summary(r: Routine) -> dict:
    return {
        "id": r.id, "title": r.title, "minutes": r.minutes, "audience": r.audience,
        "regions": list(r.regions), "tools": list(r.tools), "steps": len(r.steps), "builtin": r.builtin,
        "path": str(r.path) if r.path else None,  # JSON escapes control characters itself
    }


def _step_json(s) -> dict:
    return {
        "id": s.id, "title": s.title, "kind": s.kind, "who": s.who, "say": s.say, "duration": s.duration,
        "sides": list(s.sides), "sets": s.sets, "rest": s.rest, "optional": s.optional,
        "total_seconds": s.total_seconds, "cues": [{"offsets": list(c.offsets), "say": c.say} for c in s.cues],
    }


def _list(args) -> int:
    found = sorted(routines.load_all(), key=lambda r: r.id)
    if args.json:
        print(json.dumps([_summary(r) for r in found], indent=2))
        return 0
    for r in found:
        origin = "built-in" if r.builtin else routines.printable(str(r.path))
        print(f"{r.id:24} {r.minutes:>4.0f} min  {r.title}  ({origin})")
    return 0


def _show(args) -> int:
    r = routines.find(args.name)
    if args.json:
        print(json.dumps({**_summary(r), "description": r.description, "sources": list(r.sources),
                          "step_list": [_step_json(s) for s in r.steps]}, indent=2))
        return 0
    print(f"{r.title} ({r.id}), about {r.minutes:.0f} minutes, for {'a partner' if r.audience == 'partner' else 'you'}")
    if r.description:
        print(r.description)
    if r.tools:
        print("Tools: " + ", ".join(r.tools))
    if r.regions:
        print("Regions: " + ", ".join(r.regions))
    for i, s in enumerate(r.steps, 1):
        timing = "waits for 'next'" if s.duration is None else _timing(s)
        print(f"{i:2}. {s.title} [{s.kind}{', optional' if s.optional else ''}] {timing}")
    if r.sources:
        print("Sources:")
        for src in r.sources:
            print(f"  - {src}")
    return 0


def _timing(s) -> str:
    text = f"{s.duration:g} s"
    if s.sets > 1:
        text = f"{s.sets} x {text}" + (f", {s.rest:g} s rest" if s.rest else "")
    if s.sides:
        text += " per side (" + ", ".join(s.sides) + ")"
    return text


def _check(args) -> int:
    failed = False
    for path in args.files:
        routine, problems = routines.check_file(path)
        if routine is not None:
            problems = problems + _simulation_problems(routine, path)
            if any(p.severity == "error" for p in problems):
                routine = None
        for problem in problems:
            print(problem, file=sys.stderr if problem.severity == "error" else sys.stdout)
        if routine is None:
            failed = True
        else:
            print(f"{routines.printable(str(path))}: ok ({routine.id}, {len(routine.steps)} steps"
                  f"{', ' + str(len(problems)) + ' warning(s)' if problems else ''})")
    return 1 if failed else 0


def _simulation_problems(routine: Routine, path: Path) -> list[routines.Problem]:
    """A routine passes the check only if a whole session of it simulates to its end."""
    from voice_coach.simulate import simulate

    try:
        simulate(routine)
    except RuntimeError as exc:
        return [routines.Problem(path, 1, f"the routine cannot be run to its end ({exc}); "
                                          "make it shorter or simpler")]
    return []
