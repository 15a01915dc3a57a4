"""What every engine shares: VAD cutting, the allowed set, and building :class:`Heard`."""

from __future__ import annotations

from voice_coach.hearing.interpret import interpret
from voice_coach.hearing.segmenter import Audio, Begin, End, Segmenter, SegmenterConfig
from voice_coach.hearing.types import Heard
from voice_coach.session.commands import Command
from voice_coach.vocabulary import Vocabulary


class SegmentingRecognizer:
    """Base of the engines: subclasses decode one VAD-cut utterance at a time.

    Subclasses implement ``_begin(pcm)``, ``_audio(pcm)`` and ``_finish() -> (text, confidence)``
    (``_finish`` returns None text for "heard nothing"), and ``_discard()``.
    """

    def __init__(self, vocab: Vocabulary, *, max_utterance_s: float = 3.0, wake_word: str = "",
                 segmenter: SegmenterConfig | None = None):
        self.vocab = vocab
        self.language = vocab.language
        self.wake_word = wake_word
        cfg = segmenter or SegmenterConfig()
        if cfg.max_utterance_s != max_utterance_s:
            from dataclasses import replace

            cfg = replace(cfg, max_utterance_s=max_utterance_s)
        self.segmenter = Segmenter(cfg)
        self.allowed: frozenset[Command] | None = None
        self.numbers = True
        self.extra: tuple[str, ...] = ()  # free phrases besides the commands (serve's requests)
        self._open = False

    # -- CommandRecognizer -------------------------------------------------------------------
    def accept(self, pcm: bytes, hidden: bool = False) -> list[Heard]:
        """``hidden``: the audio is comfort noise in place of the coach's own voice (echo monitor)."""
        return self._handle(self.segmenter.feed(pcm, hidden))

    def flush(self) -> list[Heard]:
        return self._handle(self.segmenter.flush())

    def set_allowed(self, commands: frozenset[Command] | None, numbers: bool, extra: tuple[str, ...] = ()) -> None:
        if commands is not None:
            commands = frozenset(commands)
        extra = tuple(extra)
        if (commands, numbers, extra) != (self.allowed, self.numbers, self.extra):
            self.allowed, self.numbers, self.extra = commands, numbers, extra
            self._allowed_changed()

    def reset(self) -> None:
        if self._open:
            self._discard()
        self._open = False
        self.segmenter.reset()

    @property
    def level_db(self) -> float:
        return self.segmenter.last_db

    # -- for subclasses ------------------------------------------------------------------------
    def phrases(self) -> list[str]:
        return self.vocab.all_phrases(self.allowed, self.numbers) + list(self.extra)

    def _allowed_changed(self) -> None:
        pass

    def _begin(self, pcm: bytes) -> None:
        raise NotImplementedError

    def _audio(self, pcm: bytes) -> None:
        raise NotImplementedError

    def _finish(self) -> tuple[str | None, float | None]:
        raise NotImplementedError

    def _discard(self) -> None:
        raise NotImplementedError

    def _handle(self, events) -> list[Heard]:
        out: list[Heard] = []
        for ev in events:
            if isinstance(ev, Begin):
                self._open = True
                self._begin(ev.pcm)
            elif isinstance(ev, Audio):
                if self._open:
                    self._audio(ev.pcm)
            elif isinstance(ev, End):
                if not self._open:
                    continue
                self._open = False
                if ev.rejected:
                    self._discard()
                    continue
                text, confidence = self._finish()
                if not text:
                    continue
                parsed = interpret(text, self.vocab, self.allowed, self.numbers, self.wake_word)
                if parsed is None and self.wake_word and not self.extra:
                    continue  # not addressed to the coach: stay silent, no "Sorry?"
                command, number = parsed if parsed else (None, None)
                out.append(Heard(command, number, text, round(ev.start, 3), round(ev.end, 3),
                                 confidence, ev.level_db))
        return out
