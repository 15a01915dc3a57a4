"""Vosk in grammar mode: the vocabulary's phrases that the model knows, plus ``[unk]``.

A grammar forces any speech onto its words, so ``[unk]`` (when the model has it), the utterance
length limit of the segmenter and the exact-phrase check are what reject other speech. The grammar
string is always built with ``json.dumps``: a malformed one crashes the process inside vosk.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from pathlib import Path

from voice_coach.errors import UserError
from voice_coach.hearing.base import Decoded, SegmentingRecognizer
from voice_coach.hearing.types import SAMPLE_RATE
from voice_coach.vocabulary import Vocabulary

log = logging.getLogger(__name__)
_MODELS: dict[str, object] = {}
_LOCK = threading.Lock()


class VoskUnavailable(UserError):
    """libvosk.so cannot load here (e.g. a minimal arm64 Debian lacks libatomic.so.1)."""


def _native_hint(exc: OSError) -> str:
    """What to do about a failed load of libvosk.so, from the loader's message."""
    missing = re.search(r"(lib[\w+.-]+?\.so[\d.]*): cannot open shared object file", str(exc))
    if missing and missing.group(1).startswith("libatomic"):
        return "install libatomic1 (sudo apt install libatomic1)"
    if missing:
        return f"the system lacks {missing.group(1)}: install the Debian package that has it"
    return "reinstall the vosk package (pip install --force-reinstall vosk)"


def import_vosk():
    """``import vosk``, whose import loads libvosk.so: a load failure becomes one clear line."""
    try:
        import vosk
    except OSError as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise VoskUnavailable(f"Vosk's native library could not load: {_native_hint(exc)} [{detail}]") from None
    return vosk


def load_model(path: Path):
    """Load (once per process) the Vosk model at ``path``."""
    vosk = import_vosk()
    vosk.SetLogLevel(-1)
    key = str(Path(path).resolve())
    with _LOCK:
        if key not in _MODELS:
            try:
                _MODELS[key] = vosk.Model(key)
            except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
                raise UserError(f"could not load the Vosk model in {path}: {exc}. "
                                "Point hearing.model_path at an unpacked Vosk model folder.") from None
        return _MODELS[key]


class VoskRecognizer(SegmentingRecognizer):
    engine = "vosk"

    def __init__(self, model_path: Path, vocab: Vocabulary, **kwargs):
        super().__init__(vocab, **kwargs)
        vosk = import_vosk()
        self.model_path = Path(model_path)
        self._model = load_model(self.model_path)
        self._known: dict[str, bool] = {}
        self.grammar = self._grammar()
        self._rec = vosk.KaldiRecognizer(self._model, SAMPLE_RATE, json.dumps(self.grammar, ensure_ascii=False))
        self._rec.SetWords(True)
        self._parts: list[dict] = []

    def _has(self, word: str) -> bool:
        if word not in self._known:
            self._known[word] = self._model.vosk_model_find_word(word) >= 0
        return self._known[word]

    def _grammar(self) -> list[str]:
        phrases = [p for p in self.phrases() if all(self._has(w) for w in p.split())]
        missing = [p for p in self.phrases() if p not in phrases]
        if missing:
            log.info("Vosk model lacks the words of %s; they cannot be recognised", ", ".join(missing))
        if self.wake_word and all(self._has(w) for w in self.wake_word.split()):
            phrases = phrases + [f"{self.wake_word} {p}" for p in phrases]
        if self._has("[unk]"):
            phrases.append("[unk]")
        return phrases

    def _allowed_changed(self) -> None:
        self.grammar = self._grammar()
        if self.grammar:
            self._rec.SetGrammar(json.dumps(self.grammar, ensure_ascii=False))
        self._discard()

    def _begin(self, pcm: bytes) -> None:
        self._rec.Reset()
        self._parts = []
        self._audio(pcm)

    def _audio(self, pcm: bytes) -> None:
        if self._rec.AcceptWaveform(pcm):
            self._parts.append(json.loads(self._rec.Result()))

    def _finish(self) -> Decoded:
        self._parts.append(json.loads(self._rec.FinalResult()))
        parts, self._parts = self._parts, []
        if not self.grammar:
            return Decoded(None)
        text = " ".join(p.get("text", "") for p in parts).strip()
        words = [w for p in parts for w in p.get("result", [])]
        conf = min((w.get("conf", 1.0) for w in words), default=None)
        return Decoded(text or None, round(conf, 3) if conf is not None else None)

    def _discard(self) -> None:
        self._rec.Reset()
        self._parts = []
