"""The commands a person can give, independent of language and of how they were given."""

from __future__ import annotations

import enum


class Command(enum.Enum):
    NEXT = "next"
    BACK = "back"
    PAUSE = "pause"
    RESUME = "resume"
    REPEAT = "repeat"
    SKIP = "skip"
    STOP = "stop"
    READY = "ready"  # "ready", "done", "I'm ready": go on where a step waits; resume when paused
    YES = "yes"
    NO = "no"
    TIME_LEFT = "time left"
    HELP = "help"
    SLOWER = "slower"
    FASTER = "faster"
    LOUDER = "louder"
    QUIETER = "quieter"
    NUMBER = "number"  # a pain rating 0-10; the value travels beside the command
    START = "start"  # serve: begin an announced session
    LATER = "later"  # serve: snooze an announced session
    NEW = "new"  # start over instead of resuming an interrupted session
    PROGRESS = "how am i doing"


# Commands that are always safe to act on, even while the coach is speaking (barge-in).
SAFE_WHILE_SPEAKING = frozenset({Command.PAUSE, Command.STOP})
