"""One utterance through Whisper on CTranslate2: features, encoder, greedy transcript, phrase scores.

faster-whisper's ``transcribe`` always encodes a 30 s window and only returns text. For a command
of one second we call its CTranslate2 model directly, so that we can (a) choose the window
(``window_s``: the encoder's cost grows with it; docs/benchmarks.md measures what a shorter one
costs in accuracy), (b) encode once and run both the greedy transcript and the scoring of the
allowed phrases (:mod:`voice_coach.hearing.phrase_scorer`) on the same encoder output.
"""

from __future__ import annotations

import math
import time
from typing import Sequence

import numpy as np

from voice_coach.hearing.phrase_scorer import CLAUSE_END, CLAUSE_ENDS



def _log_softmax(logits) -> np.ndarray:
    x = np.asarray(logits, dtype=np.float64)
    top = float(x.max())
    return x - top - math.log(float(np.exp(x - top).sum()))


def _without_repeats(text: str) -> str:
    """ "Five, Five, Five" -> "Five.": a short window makes Whisper repeat its last clause."""
    clauses = [c.strip() for c in CLAUSE_END.split(text) if c.strip()]
    if len(clauses) > 1 and len(set(c.lower() for c in clauses)) == 1:
        return clauses[0] + "."
    return text


class WhisperDecoder:
    """Holds one encoded utterance and answers the phrase scorer's questions about it."""

    def __init__(self, model, tokenizer, feature_extractor, *, window_s: float = 30.0,
                 max_new_tokens: int = 10, spellings: dict[str, str] | None = None):
        self.model = model  # ctranslate2.models.Whisper
        self.tokenizer = tokenizer  # faster_whisper.tokenizer.Tokenizer
        self.fe = feature_extractor
        self.window_s = window_s
        self.max_new_tokens = max_new_tokens
        self._max_new = max_new_tokens  # for the utterance loaded now
        self.spellings = spellings or {}  # phrase -> another way Whisper writes it ("five" -> "5")
        self._end_tokens = [tokenizer.encode(p)[0] for p in CLAUSE_ENDS] + [tokenizer.eot]
        self._forms: dict[str, list[list[int]]] = {}
        self._enc = None
        self._enc_np: np.ndarray | None = None
        self._start: list[int] = []
        self._free: tuple[str, np.ndarray, list[int], float | None, float] | None = None
        self.timing: dict[str, float] = {}  # seconds spent on the last utterance, by stage

    # -- one utterance -------------------------------------------------------------------------
    def load(self, audio: np.ndarray, prompt: str, window_s: float | None = None,
             max_new_tokens: int | None = None) -> None:
        """Encode ``audio`` (float32, 16 kHz) once; ``prompt`` primes the decoder (the allowed phrases).

        ``window_s`` and ``max_new_tokens`` override the decoder's own for this utterance.
        """
        import ctranslate2

        t0 = time.perf_counter()
        window_s = window_s or self.window_s
        n = int(window_s * 16000)
        audio = audio[:n]
        if len(audio) < n:  # pad with digital silence, as Whisper's own 30 s windows are padded
            audio = np.concatenate([audio, np.zeros(n - len(audio), np.float32)])
        feats = self.fe(audio, padding=0)[:, : int(round(window_s * 100))]
        features = ctranslate2.StorageView.from_array(np.ascontiguousarray(feats[None], dtype=np.float32))
        t1 = time.perf_counter()
        self._enc = self.model.encode(features, to_cpu=True)
        self.timing = {"features": t1 - t0, "encoder": time.perf_counter() - t1, "decoder": 0.0, "scoring": 0.0}
        self._enc_np = None
        t = self.tokenizer
        self._start = ([t.sot_prev] + t.encode(" " + prompt.strip()) if prompt.strip() else []) + list(t.sot_sequence) + [t.no_timestamps]
        self._free = None
        self._max_new = max_new_tokens or self.max_new_tokens

    def free(self) -> tuple[str, np.ndarray, list[int], float | None]:
        """The greedy transcript, log P(first token) over the vocabulary, and the tokens of its first
        clause (up to the first full stop, comma, ! or ?) with their score as :meth:`sequence_scores`
        gives it, read off the same pass.

        The first clause is what competes with the allowed phrases: in a short window Whisper does
        not see the audio end and repeats itself ("Five, Five, Five"), and a command is one clause.
        """
        if self._free is None:
            t0 = time.perf_counter()
            r = self.model.generate(self._enc, [self._start], beam_size=1, max_length=len(self._start) + self._max_new,
                                    return_scores=True, return_no_speech_prob=True, return_logits_vocab=True,
                                    suppress_blank=True)[0]
            eot = self.tokenizer.eot
            ids = [i for i in r.sequences_ids[0] if i < eot]
            steps = r.logits[0] if r.logits else []
            first = _log_softmax(steps[0]) if steps else np.full(1, -math.inf)
            words = []
            for tok in ids:
                if tok in self._end_tokens:
                    break
                words.append(tok)
            score = None
            if words and len(steps) > len(words):
                score = sum(_log_softmax(steps[k])[tok] for k, tok in enumerate(words))
                score += self._end_score(steps[len(words)])
            text = _without_repeats(self.tokenizer.decode(ids).strip())
            self._free = (text, first, words, None if score is None else float(score), float(r.no_speech_prob))
            self.timing["decoder"] = self.timing.get("decoder", 0.0) + time.perf_counter() - t0
        return self._free[:4]

    def _end_score(self, logits) -> float:
        after = _log_softmax(logits)
        return math.log(sum(math.exp(after[e]) for e in self._end_tokens))

    @property
    def no_speech_prob(self) -> float | None:
        return self._free[4] if self._free else None

    def forms(self, phrase: str) -> list[list[int]]:
        if phrase not in self._forms:
            t = self.tokenizer
            spelled = [phrase[:1].upper() + phrase[1:], phrase]
            if phrase in self.spellings:
                spelled.append(self.spellings[phrase])
            out: list[list[int]] = []
            for s in spelled:
                toks = t.encode(" " + " ".join("I" if w == "i" else w for w in s.split()))
                if toks not in out:
                    out.append(toks)
            self._forms[phrase] = out
        return self._forms[phrase]

    def sequence_scores(self, sequences: Sequence[Sequence[int]]) -> list[float]:
        """Teacher-forced: log P(each token) + log P(a full stop, comma, ! ? or the end) after them.

        One decoder pass per distinct length, so no sequence runs on for another one's steps.
        """
        t0 = time.perf_counter()
        out: dict[int, float] = {}
        by_len: dict[int, list[int]] = {}
        for i, seq in enumerate(sequences):
            by_len.setdefault(len(seq), []).append(i)
        for length, idx in by_len.items():
            for i, score in zip(idx, self._score_group([sequences[i] for i in idx], length)):
                out[i] = score
        self.timing["scoring"] = self.timing.get("scoring", 0.0) + time.perf_counter() - t0
        return [out[i] for i in range(len(sequences))]

    def _score_group(self, sequences: list[Sequence[int]], length: int) -> list[float]:
        import ctranslate2

        if self._enc_np is None:
            self._enc_np = np.asarray(self._enc)
        batch = ctranslate2.StorageView.from_array(np.ascontiguousarray(np.repeat(self._enc_np, len(sequences), 0)))
        # CTranslate2 counts part of a forced prefix against max_length: this much room leaves every
        # sequence at least one step after its own tokens (checked: lengths 1-5)
        results = self.model.generate(batch, [self._start + list(s) for s in sequences], beam_size=1,
                                      max_length=len(self._start) + 2 * length + 2, return_logits_vocab=True,
                                      suppress_blank=True)  # as in free(): the same distributions
        out = []
        for seq, r in zip(sequences, results):
            steps = r.logits[0]
            score = sum(_log_softmax(steps[k])[tok] for k, tok in enumerate(seq))
            if len(steps) > len(seq):
                score += self._end_score(steps[len(seq)])
            out.append(float(score))
        return out
