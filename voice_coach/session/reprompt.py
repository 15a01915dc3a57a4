"""When and how the coach nudges a person who has not answered: the conversation never stalls.

Pure data and text. The engine starts a silence clock when it falls quiet while waiting for an
answer (a question, or a step that waits for "next"); after ``after_s`` it says a short reminder
of what can be said now, later (every ``again_s``) a shorter one, and after ``limit`` reminders it
pauses and says how to go on, so a session nobody attends falls silent instead of nagging forever.
"""

from __future__ import annotations

from dataclasses import dataclass

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")

GIVE_UP = "I will wait. Say resume when you are ready."


@dataclass(frozen=True)
class Reprompts:
    after_s: float = 20.0  # silence before the first reminder
    again_s: float = 40.0  # silence before each later, shorter one
    limit: int = 3  # reminders (a "Sorry?" with its hint counts) before the coach pauses


def hint(kind: str, level: int, value: int | None = None) -> str:
    """What can be said now, for a question ``kind`` (or "waiting"); ``level`` 1 = brief, 2+ = briefer."""
    brief = level <= 1
    if kind == "waiting":
        return "Say next or ready when you want to go on." if brief else "Say next to go on."
    if kind in ("pain_before", "pain_after"):
        return "Say a number from zero to ten for your pain, or skip." if brief else "Zero to ten, or skip?"
    if kind == "confirm_pain" and brief and value is not None:
        return f"I heard {NUMBER_WORDS[value]}. Is that right? Say yes or no."
    if kind == "safety" and brief:
        return "Please answer yes or no. Say repeat to hear the question again."
    if kind == "optional" and brief:
        return "Say yes to do this step, or no to leave it out."
    if kind == "confirm_stop" and brief:
        return "Do you want to end the session? Say yes or no."
    return "Yes or no?"
