"""Load and check routine files, with messages a person can act on: ``path:line: what, and how to fix``.

tomllib keeps no line numbers, so :class:`_Lines` scans the raw text for table headers and keys to
point each problem at the line that causes it.

A routine file is untrusted input: reading and checking it is bounded (file size, nesting, steps,
sides, cues, a floor on ``every`` and a budget of timed moments), special files are refused without
being read, and control characters in the text are refused, so one bad file can only ever be left
out with a message, never hang, exhaust memory or write escape sequences to a terminal.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voice_coach.errors import UserError
from voice_coach.routines.model import AUDIENCES, ICE_LIMIT_S, STEP_KINDS, Cue, Routine, Step

# Words that the recognizer takes as a command when said alone. A prompt that contains one could
# make the coach hear itself. "back", "go", "end", "yes", "no", "again" and "help" are left out:
# they are everyday words in this domain ("lower back") and the recognizer only accepts a command
# said on its own, so warning about them would bury the useful warnings.
RISKY_WORDS = ("next", "stop", "pause", "resume", "repeat", "skip", "previous", "continue")

ROUTINE_KEYS = {
    "id": str, "title": str, "description": str, "audience": str, "tools": list, "regions": list,
    "minutes": (int, float), "sources": list, "language": str,
}
STEP_KEYS = {
    "id": str, "title": str, "say": str, "kind": str, "who": str, "duration": (int, float, str),
    "sides": list, "switch_say": str, "sets": int, "rest": (int, float, str), "rest_say": str,
    "set_say": str, "end_say": str, "optional": bool, "ask": str, "stop_say": str, "cues": list,
    "ice_say": str,
}
CUE_KEYS = {"at": (int, float, str), "every": (int, float, str), "say": str}
MAX_BLOCK_S = 60 * 60
MAX_REST_S = 10 * 60
MAX_SETS = 10
MAX_FILE_BYTES = 256 * 1024  # the largest built-in is 7 KB
MAX_STEPS = 100
MAX_SIDES = 6
MAX_CUES = 10  # cue tables per step
MIN_CUE_EVERY_S = 10.0
MAX_MOMENTS = 2000  # things said or timed in one session (Step.moments summed over the routine)
# Text may hold newlines and tabs; any other control character (an escape sequence, NUL) or a
# bidirectional override could rewrite the terminal or hide text, so it is refused.
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int
    message: str
    severity: str = "error"  # "error" refuses the file; "warning" only informs

    def __str__(self) -> str:
        tag = "" if self.severity == "error" else "warning: "
        return printable(f"{self.path}:{self.line}: {tag}{self.message}")  # names and keys come from the file


class RoutineError(UserError):
    """A routine file that cannot be used; the message lists every problem with its line."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class _Lines:
    """Where each table and key of a TOML file starts, so problems can name a line."""

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(#.*)?$")
    _KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")

    def __init__(self, text: str):
        self.tables: dict[tuple, int] = {(): 1}
        self.keys: dict[tuple, int] = {}
        counters: dict[str, int] = {}
        current: tuple = ()
        step = -1
        for number, line in enumerate(text.splitlines(), start=1):
            header = self._HEADER.match(line)
            if header:
                name = header.group(2).replace('"', "").replace("'", "").strip()
                if header.group(1) == "[[":
                    if name == "steps":
                        step += 1
                        counters.pop("cues", None)
                        current = ("steps", step)
                    elif name == "steps.cues":
                        counters["cues"] = counters.get("cues", -1) + 1
                        current = ("steps", step, "cues", counters["cues"])
                    else:
                        current = (name,)
                else:
                    current = tuple(name.split("."))
                self.tables.setdefault(current, number)
                continue
            key = self._KEY.match(line)
            if key:
                self.keys.setdefault(current + (key.group(1),), number)

    def of(self, table: tuple, key: str | None = None) -> int:
        if key is not None and table + (key,) in self.keys:
            return self.keys[table + (key,)]
        while table and table not in self.tables:
            table = table[:-1]
        return self.tables.get(table, 1)


def parse_duration(value: Any) -> float:
    """Seconds from 90, 90.5, "90s", "10m", "1m30s" or "1h". Raises ValueError with the accepted forms."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text like \"90s\", \"10m\", \"1m30s\"")
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip().lower().replace(" ", "")
    match = re.fullmatch(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?:in)?)?(?:(\d+(?:\.\d+)?)s?)?", text)
    if not text or not match or not any(match.groups()):
        raise ValueError(f"{value!r} is not a duration; write seconds (90) or text like \"90s\", \"10m\", \"1m30s\"")
    h, m, s = (float(g) if g else 0.0 for g in match.groups())
    return h * 3600 + m * 60 + s


class _Checker:
    def __init__(self, path: Path, text: str):
        self.path = path
        self.lines = _Lines(text)
        self.problems: list[Problem] = []

    def error(self, table: tuple, key: str | None, message: str) -> None:
        self.problems.append(Problem(self.path, self.lines.of(table, key), message))

    def warn(self, table: tuple, key: str | None, message: str) -> None:
        self.problems.append(Problem(self.path, self.lines.of(table, key), message, "warning"))

    def keys(self, table: tuple, data: dict, allowed: dict, where: str) -> None:
        for key, value in data.items():
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f" Did you mean '{close[0]}'?" if close else f" Allowed keys: {', '.join(allowed)}."
                self.error(table, key, f"unknown key '{key}' in {where}.{hint}")
            elif not isinstance(value, allowed[key]) or (allowed[key] is int and isinstance(value, bool)):
                self.error(table, key, f"'{key}' in {where} has the wrong type ({type(value).__name__}); "
                                       f"expected {_type_name(allowed[key])}")

    def text(self, table: tuple, data: dict, key: str, where: str, required: bool = True) -> str:
        value = data.get(key)
        if value is None:
            if required:
                self.error(table, None, f"{where} is missing '{key}'; add {key} = \"...\"")
            return ""
        if not isinstance(value, str):
            return ""
        if required and not value.strip():
            self.error(table, key, f"'{key}' in {where} is empty; write what the coach should say")
        return value.strip()

    def duration(self, table: tuple, data: dict, key: str, where: str, limit: float) -> float | None:
        if key not in data:
            return None
        try:
            seconds = parse_duration(data[key])
        except ValueError as exc:
            self.error(table, key, f"'{key}' in {where}: {exc}")
            return None
        if not seconds > 0:  # also refuses nan
            self.error(table, key, f"'{key}' in {where} must be more than 0 seconds (got {data[key]!r}); "
                                   "leave it out for a step that waits for 'next'")
            return None
        if seconds > limit:
            self.error(table, key, f"'{key}' in {where} is {seconds / 60:g} minutes, more than the "
                                   f"{limit / 60:g} minutes allowed; split it into shorter steps")
            return None
        return seconds

    def risky_words(self, table: tuple, key: str, text: str, where: str) -> None:
        words = set(re.findall(r"[a-z']+", text.lower()))
        found = [w for w in RISKY_WORDS if w in words]
        if found:
            self.warn(table, key, f"{where} says {', '.join(repr(w) for w in found)}, a spoken command: the coach "
                                  "could hear itself; rephrase (e.g. 'then' for 'next', 'rest' for 'pause')")


def _bad_character(text: str) -> str | None:
    """The first control or bidi-override character in ``text`` (as U+XXXX), or None."""
    for ch in text:
        if (unicodedata.category(ch) == "Cc" and ch not in "\n\t") or ch in _BIDI:
            return f"U+{ord(ch):04X}"
    return None


def printable(text: str) -> str:
    """``text`` with control and bidi-override characters written as escapes (e.g. a file name)."""
    if _bad_character(text) is None:
        return text
    return "".join(ch.encode("unicode_escape").decode("ascii") if _bad_character(ch) else ch for ch in text)


def _check_characters(c: _Checker, table: tuple, data: dict, where: str) -> None:
    for key, value in data.items():
        texts = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        for text in (t for t in texts if isinstance(t, str)):
            bad = _bad_character(text)
            if bad:
                c.error(table, key, f"'{key}' in {where} contains the control character {bad}; remove it: "
                                    "only printable text, newlines and tabs are allowed")
                break


def _type_name(kind) -> str:
    names = {str: "text in quotes", int: "a whole number", float: "a number", bool: "true or false",
             list: "a list like [\"a\", \"b\"]"}
    if isinstance(kind, tuple):
        return " or ".join(dict.fromkeys(names[k] if k is not str else "text like \"90s\"" for k in kind))
    return names[kind]


def _check_step(c: _Checker, index: int, data: dict, audience: str) -> Step | None:
    table = ("steps", index)
    where = f"step {index + 1}"
    if not isinstance(data, dict):
        c.error(("steps",), None, f"{where} must be a table written as [[steps]]")
        return None
    step_id = data.get("id")
    if not isinstance(step_id, str) or not _ID.match(step_id):
        c.error(table, "id", f"{where} needs an id of lower-case letters, digits and dashes, e.g. id = \"warm-up\"")
        step_id = f"step-{index + 1}"
    else:
        where = f"step '{step_id}'"
    c.keys(table, data, STEP_KEYS, where)
    _check_characters(c, table, data, where)
    title = c.text(table, data, "title", where)
    say = c.text(table, data, "say", where)
    kind = data.get("kind", "instruction")
    if kind not in STEP_KINDS:
        close = difflib.get_close_matches(str(kind), STEP_KINDS, n=1)
        hint = f"Did you mean '{close[0]}'? " if close else ""
        c.error(table, "kind", f"{where} has unknown kind {kind!r}. {hint}Kinds: {', '.join(STEP_KINDS)}")
        kind = "instruction"
    who = data.get("who", audience)
    if who not in AUDIENCES:
        c.error(table, "who", f"{where}: who must be \"self\" or \"partner\", not {who!r}")
        who = audience
    duration = c.duration(table, data, "duration", where, MAX_BLOCK_S)
    rest = c.duration(table, data, "rest", where, MAX_REST_S) or 0.0
    sets = data.get("sets", 1)
    if not isinstance(sets, int) or isinstance(sets, bool) or not 1 <= sets <= MAX_SETS:
        c.error(table, "sets", f"{where}: sets must be a whole number from 1 to {MAX_SETS}")
        sets = 1
    sides = data.get("sides", [])
    if not isinstance(sides, list) or not all(isinstance(s, str) and s.strip() for s in sides):
        c.error(table, "sides", f"{where}: sides is a list of names, e.g. sides = [\"left\", \"right\"]")
        sides = []
    if len(sides) > MAX_SIDES:
        c.error(table, "sides", f"{where} has {len(sides)} sides; at most {MAX_SIDES} are allowed: "
                                "split it into several steps")
        sides = sides[:MAX_SIDES]
    if (sides or sets > 1 or rest) and duration is None and "duration" not in data:
        c.error(table, "duration", f"{where} has sides, sets or rest but no duration; add duration = \"60s\"")
    if rest and sets == 1:
        c.warn(table, "rest", f"{where} has a rest but only one set; the rest is never used")
    if kind == "safety" and not data.get("stop_say"):
        c.error(table, None, f"{where} is a safety check but has no stop_say: add what the coach says "
                             "(and advises) when the answer is yes, before the session ends")
    if kind == "safety" and duration is not None:
        c.error(table, "duration", f"{where} is a safety check, a question: remove its duration")
    if kind == "ice" and duration is not None:
        per_application = duration * sets + rest * (sets - 1)
        if per_application > ICE_LIMIT_S:
            c.error(table, "duration", f"{where} ices for {per_application / 60:g} minutes in one application; "
                                       "a safety rule limits ice to 20 minutes: shorten it to 20m or less")
        if "cloth" not in (say + " " + str(data.get("end_say", ""))).lower():
            c.warn(table, "say", f"{where} is an ice step that never mentions a cloth between ice and skin")
    if kind == "ice" and duration is None and "duration" not in data:
        c.error(table, None, f"{where} is an ice step without a duration; the coach must time ice: "
                             "add duration = \"10m\" (at most 20 minutes)")
    cues = []
    raw_cues = data.get("cues", [])
    if isinstance(raw_cues, list) and len(raw_cues) > MAX_CUES:
        c.error(table + ("cues", 0), None, f"{where} has {len(raw_cues)} cues; at most {MAX_CUES} are allowed "
                                           "(use every = \"3m\" for a repeated cue)")
        raw_cues = []
    if isinstance(raw_cues, list):
        for n, raw in enumerate(raw_cues):
            cue = _check_cue(c, table + ("cues", n), f"cue {n + 1} of {where}", raw, duration)
            if cue:
                cues.append(cue)
    for key in ("say", "switch_say", "rest_say", "set_say", "end_say", "ask", "stop_say", "ice_say"):
        if isinstance(data.get(key), str):
            c.risky_words(table, key, data[key], f"{where} {key}")
    defaults = Step(id="x", title="x", say="x")
    return Step(
        id=step_id, title=title, say=say, kind=kind, who=who, duration=duration,
        sides=tuple(s.strip() for s in sides), sets=sets, rest=rest,
        switch_say=data.get("switch_say", defaults.switch_say), rest_say=data.get("rest_say", defaults.rest_say),
        set_say=data.get("set_say", defaults.set_say), end_say=data.get("end_say", ""),
        optional=bool(data.get("optional", False)), ask=data.get("ask", ""), stop_say=data.get("stop_say", ""),
        cues=tuple(cues), ice_say=data.get("ice_say", ""),
    )


def _check_cue(c: _Checker, table: tuple, where: str, data: Any, duration: float | None) -> Cue | None:
    if not isinstance(data, dict):
        c.error(table, None, f"{where} must be a table written as [[steps.cues]]")
        return None
    c.keys(table, data, CUE_KEYS, where)
    _check_characters(c, table, data, where)
    say = c.text(table, data, "say", where)
    c.risky_words(table, "say", say, where)
    if duration is None:
        c.error(table, None, f"{where} belongs to a step without a duration; cues need a timed step")
        return None
    if ("at" in data) == ("every" in data):
        c.error(table, None, f"{where} needs exactly one of at = \"half\" / \"-10s\" / \"2m\" or every = \"3m\"")
        return None
    if "every" in data:
        every = c.duration(table, data, "every", where, MAX_BLOCK_S)
        if every is None:
            return None
        if every < MIN_CUE_EVERY_S:
            c.error(table, "every", f"{where} every {data['every']!r} is too often; a repeated cue comes at "
                                    f"most every {MIN_CUE_EVERY_S:g} seconds (e.g. every = \"30s\")")
            return None
        count = int((duration - 1e-9) // every)
        if count == 0:
            c.error(table, "every", f"{where} every {data['every']!r} is not shorter than the step's "
                                    f"{duration:g} seconds, so it would never be said; make it shorter")
            return None
        return Cue(tuple(every * k for k in range(1, count + 1)), say)
    at = data["at"]
    if at == "half":
        offset = duration / 2
    else:
        try:
            text = str(at).strip()
            offset = duration - parse_duration(text[1:]) if text.startswith("-") else parse_duration(at)
        except ValueError as exc:
            c.error(table, "at", f"{where}: {exc}; or write \"half\", or \"-10s\" for ten seconds before the end")
            return None
    if not 0 < offset < duration:
        c.error(table, "at", f"{where} at {at!r} falls outside the step's {duration:g} seconds")
        return None
    return Cue((offset,), say)


def check_text(text: str, path: Path, builtin: bool = False) -> tuple[Routine | None, list[Problem]]:
    """Parse and check a routine; returns the routine (None if any error) and every problem found."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_FILE_BYTES:
        return None, [Problem(path, 1, f"the file is {size // 1024} KB, more than the {MAX_FILE_BYTES // 1024} KB "
                                       "a routine may have; split it into shorter routines")]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = int(match.group(1)) if match else 1
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        return None, [Problem(path, line, f"not valid TOML: {msg}. Check quotes, brackets and '=' on this line")]
    except RecursionError:
        return None, [Problem(path, 1, "lists or tables are nested too deeply to read; a routine needs only "
                                       "[routine], [[steps]] and [[steps.cues]] (see docs/routines.md)")]
    c = _Checker(path, text)
    head = data.get("routine")
    if not isinstance(head, dict) or "steps" not in data:
        return None, [Problem(path, 1, "this is not a voice-coach routine: it needs a [routine] table with a "
                                       "title and at least one [[steps]] table; see docs/routines.md")]
    for key in data:
        if key not in ("routine", "steps"):
            close = difflib.get_close_matches(key, ("routine", "steps"), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            c.error((key,), None, f"unknown table '{key}'.{hint} A routine has [routine] and [[steps]]")
    c.keys(("routine",), head, ROUTINE_KEYS, "[routine]")
    _check_characters(c, ("routine",), head, "[routine]")
    title = c.text(("routine",), head, "title", "[routine]")
    description = c.text(("routine",), head, "description", "[routine]", required=False)
    routine_id = head.get("id", path.stem)
    if not isinstance(routine_id, str) or not _ID.match(routine_id):
        c.error(("routine",), "id", "the routine id must be lower-case letters, digits and dashes")
        routine_id = "routine"
    audience = head.get("audience", "self")
    if audience not in AUDIENCES:
        c.error(("routine",), "audience", f"audience must be \"self\" or \"partner\", not {audience!r}")
        audience = "self"
    minutes = head.get("minutes", 0)
    if isinstance(minutes, (int, float)) and not isinstance(minutes, bool) and not 0 <= minutes <= 240:
        c.error(("routine",), "minutes", "minutes (the estimated length) must be between 0 and 240")
    raw_steps = data["steps"]
    if not isinstance(raw_steps, list) or not raw_steps:
        c.error(("steps",), None, "a routine needs at least one step written as [[steps]]")
        raw_steps = []
    if len(raw_steps) > MAX_STEPS:
        c.error(("steps", 0), None, f"the routine has {len(raw_steps)} steps; at most {MAX_STEPS} are allowed: "
                                  "split it into shorter routines")
        raw_steps = []
    steps = [_check_step(c, i, raw, audience) for i, raw in enumerate(raw_steps)]
    moments = sum(s.moments for s in steps if s)
    if moments > MAX_MOMENTS:
        c.error(("steps", 0), None, f"the routine says or times {moments} things (steps x sides x sets x cues), more "
                                  f"than the {MAX_MOMENTS} allowed; use fewer sets, sides or cues, or split it")
    seen: dict[str, int] = {}
    for i, step in enumerate(steps):
        if step is None:
            continue
        if step.id in seen:
            c.error(("steps", i), "id", f"step id '{step.id}' is used twice (also step {seen[step.id] + 1}); "
                                        "ids must be unique")
        seen.setdefault(step.id, i)
    lists = {k: head.get(k, []) for k in ("tools", "regions", "sources")}
    for key, value in lists.items():
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            c.error(("routine",), key, f"{key} must be a list of text, e.g. {key} = [\"...\"]")
    c.problems.sort(key=lambda p: p.line)
    if any(p.severity == "error" for p in c.problems):
        return None, c.problems
    routine = Routine(
        id=routine_id, title=title, description=description, steps=tuple(s for s in steps if s),
        audience=audience, tools=tuple(lists["tools"]), regions=tuple(lists["regions"]),
        minutes=float(minutes or 0), sources=tuple(lists["sources"]), path=path, builtin=builtin,
    )
    return routine, c.problems


class _NotRoutineFile(Exception):
    pass


def read_routine_text(path: Path) -> str:
    """The file's text, bounded: special files (a FIFO, a device) are refused without blocking,
    a file over :data:`MAX_FILE_BYTES` is refused, and a UTF-8 byte-order mark is dropped."""
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise _NotRoutineFile("it is not a regular file (a folder, a pipe or a device); a routine is a .toml file")
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced between the two looks
            raise _NotRoutineFile("it is not a regular file; a routine is a .toml file")
        raw = f.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise _NotRoutineFile(f"the file is larger than the {MAX_FILE_BYTES // 1024} KB a routine may have; "
                              "split it into shorter routines")
    return raw.decode("utf-8-sig")


def check_file(path: Path, builtin: bool = False) -> tuple[Routine | None, list[Problem]]:
    try:
        text = read_routine_text(Path(path))
    except FileNotFoundError:
        return None, [Problem(Path(path), 0, "no such file")]
    except _NotRoutineFile as exc:
        return None, [Problem(Path(path), 0, f"cannot use it: {exc}")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(Path(path), 0, f"cannot read it: {exc}")]
    return check_text(text, Path(path), builtin)


def load_file(path: Path, builtin: bool = False) -> Routine:
    """The routine in ``path``, or :class:`RoutineError` listing what to fix."""
    routine, problems = check_file(path, builtin)
    if routine is None:
        raise RoutineError([p for p in problems if p.severity == "error"])
    return routine
