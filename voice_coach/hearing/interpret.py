"""Turn a transcript into a command: exact whole-phrase match only, within what is allowed now.

Shared by every engine so "next week" is never "next" and a number only counts when one was
asked for, whichever recognizer wrote the text.
"""

from __future__ import annotations

from voice_coach.session.commands import Command
from voice_coach.vocabulary import Vocabulary, normalise


def interpret(
    text: str,
    vocab: Vocabulary,
    allowed: frozenset[Command] | None,
    numbers: bool,
    wake_word: str = "",
) -> tuple[Command, int | None] | None:
    """The command in ``text``, or None when it is not exactly one allowed phrase."""
    norm = normalise(text)
    if wake_word:
        wake = normalise(wake_word)
        if not norm.startswith(wake + " "):
            return None
        norm = norm[len(wake) + 1 :]
    parsed = vocab.parse(norm)
    if parsed is None:
        return None
    command, number = parsed
    if command is Command.NUMBER:
        return parsed if numbers else None
    if allowed is not None and command not in allowed:
        return None
    return parsed


def capitalised_prompt(phrases: list[str], wake_word: str = "", sep: str = ", ") -> str:
    """Whisper's ``initial_prompt`` in the measured form: "Next, Back, Pause, ... Ten."

    Capitalised, comma separated, with a final period: that form gave 94% on real speech where
    the same words in lower case without the period gave 72%.
    """
    seen: list[str] = []
    for p in ([wake_word] if wake_word else []) + phrases:
        p = p.strip()
        if p and p not in seen:
            seen.append(p)
    cap = lambda p: " ".join("I" if w == "i" else w for w in (p[:1].upper() + p[1:]).split())  # noqa: E731
    return sep.join(cap(p) for p in seen) + "."
