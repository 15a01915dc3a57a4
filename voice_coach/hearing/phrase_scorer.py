"""Rank the phrases that are allowed right now by Whisper's own scores, and reject by a margin.

A free transcript followed by an exact match throws away what the decoder knows: real people's
"five" comes out as "Bye." and their "no" as "Nope.", although the model gave the allowed word
nearly as much probability. So every allowed phrase is scored against the audio (teacher-forced
through the decoder: log P(its tokens) + log P(the transcript ends there)) and the best one wins
when it is (a) nearly as likely as the model's own free transcript and (b) likely enough at all:
a phrase the transcript itself spelled needs less (``transcript_floor``) than one it did not.
Both thresholds are measured on the negatives of the real-speech development set and the
synthetic narration (docs/benchmarks.md, "Speech in"), so "bird" or a sentence stays nothing.

The scorer is engine-independent arithmetic over a :class:`TokenScorer` (what the decoder can
say about token sequences); ``whisper_decoder.py`` provides the CTranslate2 one.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Callable, Protocol, Sequence


@dataclass(frozen=True)
class ScorerOptions:
    """The rejection rule, in nats (natural-log probability)."""

    margin: float = 2.0  # the best allowed phrase may be this much less likely than the free transcript
    floor: float = -4.0  # ... and must itself be at least this likely (e^-4 = 1.8%)
    transcript_floor: float | None = None  # the floor when the free transcript is that phrase (None: floor)
    first_token_floor: float = -10.0  # phrases whose first token is less likely than this are not scored
    max_candidates: int = 3  # score at most this many forms (those with the likeliest first tokens)


@dataclass(frozen=True)
class Ranked:
    phrase: str
    score: float  # log P(phrase, then the end of the transcript)


@dataclass(frozen=True)
class Verdict:
    """What the scorer made of one utterance."""

    text: str  # the free (greedy) transcript, for logs and "Sorry?"
    phrase: str | None  # the allowed phrase taken, or None (rejected / nothing allowed fits)
    free_score: float | None  # log P of the free transcript's words (None: it was empty)
    ranked: tuple[Ranked, ...]  # best first
    reason: str = ""  # why ``phrase`` is None: "no candidate", "below floor", "margin"

    @property
    def best(self) -> Ranked | None:
        return self.ranked[0] if self.ranked else None


class TokenScorer(Protocol):
    """What the decoder offers the scorer (implemented over CTranslate2 in whisper_decoder.py)."""

    def free(self) -> tuple[str, Sequence[float], list[int], float | None]:
        """The greedy transcript, log P(first token) over the vocabulary, the transcript's word
        tokens (no trailing punctuation) and their score as :meth:`sequence_scores` gives it."""

    def forms(self, phrase: str) -> list[list[int]]:
        """The token sequences that spell ``phrase`` ("Five", "five", "5")."""

    def sequence_scores(self, sequences: Sequence[Sequence[int]]) -> list[float]:
        """log P(tokens) + log P(end | tokens) for each sequence, in one batched decoder pass."""


def _logaddexp(a: float, b: float) -> float:
    if a < b:
        a, b = b, a
    return a + math.log1p(math.exp(b - a)) if b > -math.inf else a


def rank(decoder: TokenScorer, phrases: Sequence[str], options: ScorerOptions = ScorerOptions(),
         says_allowed: Callable[[str], bool] | None = None) -> Verdict:
    """Score ``phrases`` against the utterance the decoder holds and apply the rejection rule.

    ``says_allowed(clause)``: is the free transcript's first clause itself an allowed utterance
    (the caller's parser: "Or back," "Uh, next.", "And I'm one,")? The phrases are scored alone, so
    a filler in front costs them the margin; such a transcript is taken when it is as likely as a
    transcript that spelled the phrase needs to be.
    """
    verdict = _rank(decoder, phrases, options)
    floor = options.floor if options.transcript_floor is None else options.transcript_floor
    if verdict.phrase is not None or says_allowed is None or verdict.free_score is None or verdict.free_score < floor:
        return verdict
    clause = CLAUSE_END.split(verdict.text, maxsplit=1)[0].strip()
    return replace(verdict, phrase=clause, reason="") if clause and says_allowed(clause) else verdict


CLAUSE_ENDS = (".", "!", "?", ",")  # what ends a clause: in a transcript, and as the decoder's tokens
CLAUSE_END = re.compile("[" + re.escape("".join(CLAUSE_ENDS)) + "]")


def _rank(decoder: TokenScorer, phrases: Sequence[str], options: ScorerOptions) -> Verdict:
    text, first, free_tokens, free_score = decoder.free()
    candidates: list[tuple[str, list[int]]] = []
    for phrase in dict.fromkeys(phrases):
        for form in decoder.forms(phrase):
            if form and first[form[0]] > options.first_token_floor:
                candidates.append((phrase, form))
    candidates.sort(key=lambda c: -first[c[1][0]])
    candidates = candidates[: options.max_candidates]
    # the form the free transcript already spelled is scored by the same pass: no decoder work
    to_score = [form for _, form in candidates if not (free_score is not None and form == free_tokens)]
    scored = dict(zip(map(tuple, to_score), decoder.sequence_scores(to_score))) if to_score else {}
    by_phrase: dict[str, float] = {}
    spelled: set[str] = set()  # phrases the free transcript spelled out itself
    for phrase, form in candidates:
        score = scored.get(tuple(form), free_score)
        by_phrase[phrase] = _logaddexp(by_phrase.get(phrase, -math.inf), score)  # "Five" or "five" or "5"
        if free_score is not None and form == free_tokens:
            spelled.add(phrase)
    ranked = tuple(sorted((Ranked(p, round(s, 3)) for p, s in by_phrase.items()), key=lambda r: -r.score))
    if not ranked:
        return Verdict(text, None, free_score, ranked, "no candidate")
    best = ranked[0]
    floor = options.floor
    if best.phrase in spelled and options.transcript_floor is not None:
        floor = options.transcript_floor
    if best.score < floor:
        return Verdict(text, None, free_score, ranked, "below floor")
    if free_score is not None and best.score < free_score - options.margin:
        return Verdict(text, None, free_score, ranked, "margin")
    return Verdict(text, best.phrase, free_score, ranked)
