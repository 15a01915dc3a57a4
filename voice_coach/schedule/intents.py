"""What a person can ask the always-on speaker between sessions, parsed from one transcript.

Pure and language-bound (English): text in, an :class:`Intent` or None out. Every request must
start with the wake word ("coach, start foam roller"), so a microphone that is always open never
acts on a TV or a conversation in the room. Durations are the small spoken numbers people use
("thirty minutes", "1 minute", "an hour and a half"); a tiny parser for 0-99 does that job (the
number libraries parse far more than this needs and would be one more dependency to keep).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from voice_coach.vocabulary import normalise

_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
          "sixteen seventeen eighteen nineteen").split()
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}
_SECONDS = {"second": 1, "seconds": 1, "sec": 1, "secs": 1, "minute": 60, "minutes": 60, "min": 60, "mins": 60,
            "hour": 3600, "hours": 3600}
_WHAT = {"ice": "ice", "icing": "ice", "cold": "ice", "heat": "heat", "rolling": "rolling", "roller": "rolling",
         "foam roller": "rolling", "massage": "massage", "massager": "massage", "stretch": "stretch",
         "stretching": "stretch", "rest": "rest", "break": "rest"}
_FILLER = r"(?: please| now| for me| thanks| thank you)*"
_NAMES = "|".join(sorted(_WHAT, key=len, reverse=True))


@dataclass(frozen=True)
class Intent:
    """One request. ``kind``: start | next_session | timer | reminder | stop_timer | time_left |
    louder | quieter | help. ``name``: the routine as said (start), or what a timer/reminder is for."""

    kind: str
    name: str = ""
    seconds: float | None = None


def spoken_number(words: list[str]) -> int | None:
    """0-99 from number words or digits ("twenty five", "25", "a", "an"); None if it is not one."""
    if len(words) == 1 and words[0].isdigit():
        return int(words[0])
    if len(words) == 1 and words[0] in ("a", "an", "one"):
        return 1
    if len(words) == 1 and words[0] in _UNITS:
        return _UNITS.index(words[0])
    if words and words[0] in _TENS:
        rest = words[1:]
        if not rest:
            return _TENS[words[0]]
        if len(rest) == 1 and rest[0] in _UNITS[1:10]:
            return _TENS[words[0]] + _UNITS.index(rest[0])
    return None


def parse_duration(text: str) -> float | None:
    """Seconds in "30 minutes", "one hour and thirty minutes", "half an hour", "an hour and a half"."""
    norm = normalise(text).replace(" and a half", " half")
    if norm in ("half an hour", "half hour"):
        return 1800.0
    if norm in ("quarter of an hour", "a quarter of an hour", "quarter hour"):
        return 900.0
    total, number, seen = 0.0, [], False
    for word in norm.replace(" and ", " ").split():
        if word in _SECONDS:
            value = spoken_number(number)
            if value is None:
                return None
            total += value * _SECONDS[word]
            number, seen = [], True
        elif word == "half" and seen and not number:
            total += 1800.0 if total % 3600 == 0 else 30.0  # "an hour and a half", "a minute and a half"
        else:
            number.append(word)
    return total if seen and not number and total > 0 else None


def _what(text: str) -> str:
    text = text.strip()
    return _WHAT.get(text, text)


_PATTERNS: list[tuple[str, re.Pattern]] = [(kind, re.compile(rx + _FILLER + "$")) for kind, rx in [
    ("time_left", r"(?:how (?:long|much time)(?: is)? (?:left|remaining)|how much longer|time left)"
                  r"(?: on (?:the |my )?(?:\w+ )?timer)?"),
    ("time_left", r"how long(?: is)? left on (?:the |my )?(?:\w+ )?timer"),
    ("stop_timer", rf"(?:stop|cancel|end|clear)(?: the| my| all)?(?: (?P<name>{_NAMES}))? (?:timer|reminder)s?"),
    ("timer", rf"(?:set |start )?(?:an? |the |my )?(?:(?P<name>{_NAMES}) )?timer(?: for)? (?P<dur>.+)"),
    ("timer", rf"(?:set |start )?(?:an? |the |my )?(?P<dur>.+?) (?:(?P<name>{_NAMES}) )?timer"),
    ("reminder", r"remind me (?:to )?(?P<name>.+?) in (?P<dur>.+)"),
    ("reminder", r"remind me in (?P<dur>.+?) to (?P<name>.+)"),
    ("next_session", r"(?:whats|what is|what s) next|(?:whats|what is|when is|whens) (?:my|the) next (?:session|one)"
                     r"|next session|when do i have my next session"),
    ("louder", r"(?:louder|loud|speak up|volume up|turn it up|a bit louder)"),
    ("quieter", r"(?:quieter|quiet|softer|volume down|turn it down|a bit quieter)"),
    ("help", r"(?:help|what can i say|what can you do)"),
    ("start", r"(?:start|begin|run|do|play)(?: the| my| a)? (?P<name>.+?)(?: routine| session)?"),
]]


def parse_intent(text: str, wake_word: str = "coach") -> Intent | None:
    """The request in ``text`` ("Coach, ice timer 15 minutes."), or None: no wake word, or no request."""
    norm = normalise(text)
    wake = normalise(wake_word)
    for lead in ("hey ", "ok ", "okay ", ""):
        if wake and norm.startswith(lead + wake + " "):
            norm = norm[len(lead + wake) + 1:]
            break
    else:
        return None
    norm = re.split(rf"\s+{re.escape(wake)}(?:\s|$)", norm)[0]  # Whisper repeating itself: "... left, coach"
    for kind, pattern in _PATTERNS:
        m = pattern.match(norm)
        if not m:
            continue
        groups = m.groupdict()
        if "dur" in groups:
            seconds = parse_duration(groups["dur"])
            if seconds is None:
                continue
            return Intent(kind, _what(groups.get("name") or ""), seconds)
        name = (groups.get("name") or "").strip()
        return Intent(kind, _what(name) if kind == "stop_timer" else name)
    return None


def request_phrases(routine_ids: Iterable[str], wake_word: str = "coach") -> list[str]:
    """The canonical form of each request, for a recognizer to listen for between sessions
    (Whisper is prompted with them: without, "coach" came out as "go" in every request tried)."""
    wake = normalise(wake_word) or "coach"
    starts = [f"start {rid.replace('-', ' ')}" for rid in routine_ids]
    fixed = ["ice timer fifteen minutes", "timer ten minutes", "remind me to ice in thirty minutes", "whats next",
             "when is my next session", "how long left", "stop the timer", "louder", "quieter", "help"]
    return [f"{wake}, {p}" for p in starts + fixed]  # with the comma: Whisper keeps the wake word more often


def match_routine(name: str, routines: Iterable[tuple[str, str]]) -> str | None:
    """The id of the routine called ``name`` (its id or title, said loosely), or None if none or several fit.

    "foam roller" finds "foam-roller" ("Foam roller for the upper back, with optional blocks");
    "ice" finds "ice-rollerball" if no other routine starts with that word.
    """
    said = _words(name)
    if not said:
        return None
    exact, starts, inside = [], [], []
    for rid, title in routines:
        for known in (_words(rid.replace("-", " ")), _words(title)):
            if known == said:
                exact.append(rid)
            elif known[:len(said)] == said:
                starts.append(rid)
            elif _contains(known, said):
                inside.append(rid)
    for found in (exact, starts, inside):
        if len(set(found)) == 1:
            return found[0]
        if found:
            return None
    return None


def _words(text: str) -> list[str]:
    return [w for w in normalise(text).split() if w not in ("the", "my", "a", "routine", "session")]


def _contains(words: list[str], part: list[str]) -> bool:
    return any(words[i:i + len(part)] == part for i in range(len(words) - len(part) + 1))
