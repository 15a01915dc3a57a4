"""The routine library: built-in routines shipped in the package, plus the user's own files.

A user's routine with the same id as a built-in one takes its place, so a person can adapt a
built-in routine by copying it into their folder.
"""

from __future__ import annotations

import difflib
import logging
from importlib import resources
from pathlib import Path

from voice_coach import paths
from voice_coach.errors import UserError
from voice_coach.routines.loader import Problem, RoutineError, check_file, load_file, parse_duration, printable
from voice_coach.routines.model import ICE_LIMIT_S, Cue, Routine, Step

__all__ = [
    "Cue", "ICE_LIMIT_S", "Problem", "Routine", "RoutineError", "Step",
    "builtin_files", "check_file", "find", "load_all", "load_file", "parse_duration", "printable",
]

log = logging.getLogger(__name__)


def builtin_files() -> list[Path]:
    folder = resources.files("voice_coach.routines") / "builtin"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".toml"))


def _user_files() -> list[Path]:
    folder = paths.user_routines_dir()
    return sorted(folder.glob("*.toml")) if folder.is_dir() else []


def load_all() -> list[Routine]:
    """Every usable routine: built-ins, then the user's (a broken user file is logged and left out)."""
    found: dict[str, Routine] = {}
    for path in builtin_files():
        routine = load_file(path, builtin=True)
        found[routine.id] = routine
    for path in _user_files():
        try:
            routine = load_file(path)
        except RoutineError as exc:
            log.warning("left out the routine file %s (run 'voice-coach routines check' on it):\n%s",
                        printable(str(path)), exc)
            continue
        except Exception:  # noqa: BLE001 - one user file must never break every command
            log.exception("left out the routine file %s: checking it failed", printable(str(path)))
            continue
        found[routine.id] = routine
    return list(found.values())


def find(name: str) -> Routine:
    """A routine by id, or by path to a ``.toml`` file. Unknown names get a did-you-mean."""
    candidate = Path(name).expanduser()
    if name.endswith(".toml") or candidate.is_file() or "/" in name:
        if not candidate.exists():
            raise UserError(f"no routine file {candidate}")
        return load_file(candidate)
    routines = {r.id: r for r in load_all()}
    if name in routines:
        return routines[name]
    close = difflib.get_close_matches(name, routines, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise UserError(f"no routine called '{name}'.{hint} Known routines: {', '.join(sorted(routines))} "
                    "(see 'voice-coach routines list')")
