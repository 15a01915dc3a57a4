"""What every engine shares: VAD cutting, the allowed set, early decisions, building :class:`Heard`.

Speed: an utterance is decoded *speculatively* when the segmenter sees its first short silence
(:class:`~voice_coach.hearing.segmenter.Pause`, ~90 ms), so the decode runs while the hangover
(210 ms, what real speech needs: docs/benchmarks.md) is still being waited out; when the silence
holds, the ready result is handed out at the end at once, and if speech resumes it is thrown
away. "pause" and "stop" are safe to act on at once, so they go out at the speculative point.
"""

from __future__ import annotations

from dataclasses import dataclass

from voice_coach.hearing.interpret import interpret
from voice_coach.hearing.segmenter import Audio, Begin, End, Pause, Segmenter, SegmenterConfig
from voice_coach.hearing.types import Heard
from voice_coach.session.commands import SAFE_WHILE_SPEAKING, Command
from voice_coach.vocabulary import Vocabulary


@dataclass(frozen=True)
class Decoded:
    """One engine's reading of an utterance: the transcript, and the phrase it chose, if it ranks."""

    text: str | None  # None: heard nothing
    confidence: float | None = None
    phrase: str | None = None  # the allowed phrase the engine picked by its scores (Whisper)
    ranked: bool = False  # the engine ranked the allowed phrases: ``phrase`` None is its rejection


class SegmentingRecognizer:
    """Base of the engines: subclasses decode one VAD-cut utterance at a time.

    Subclasses implement ``_begin(pcm)``, ``_audio(pcm)``, ``_finish() -> Decoded`` and
    ``_discard()``; an engine that can decode the audio so far without ending the utterance also
    implements ``_peek() -> Decoded`` and gets speculative decoding.
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
        self._spec: tuple[float, Decoded] | None = None  # (speech end it covers, result)
        self._sent_early = False
        self.decodes = 0  # full decodes run (speculative ones included): none in a silent room
        self.decoded_early = False  # the last utterance handed out was decoded at its first pause

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
        self._spec, self._sent_early = None, False
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

    def _finish(self) -> Decoded:
        raise NotImplementedError

    _peek = None  # an engine that can decode without ending the utterance sets a method here

    def _discard(self) -> None:
        raise NotImplementedError

    def _heard(self, decoded: Decoded, start: float, end: float, level_db: float) -> Heard | None:
        """The Heard for a decode, or None when it is to be ignored (wake word missing)."""
        if not decoded.text and not decoded.phrase:
            return None
        parsed = None
        if decoded.phrase is not None:
            parsed = interpret(decoded.phrase, self.vocab, self.allowed, self.numbers, self.wake_word)
        if parsed is None and not decoded.ranked:  # a ranking's rejection stands: no second look at the text
            parsed = interpret(decoded.text or "", self.vocab, self.allowed, self.numbers, self.wake_word)
        if parsed is None and self.wake_word and not self.extra:
            return None  # not addressed to the coach: stay silent, no "Sorry?"
        command, number = parsed if parsed else (None, None)
        return Heard(command, number, decoded.text or decoded.phrase or "", round(start, 3), round(end, 3),
                     decoded.confidence, level_db)

    def _handle(self, events) -> list[Heard]:
        out: list[Heard] = []
        for ev in events:
            if isinstance(ev, Begin):
                self._open = True
                self._spec, self._sent_early = None, False
                self._begin(ev.pcm)
            elif isinstance(ev, Audio):
                if self._open:
                    self._audio(ev.pcm)
            elif isinstance(ev, Pause):
                if not self._open or self._peek is None or self._sent_early:
                    continue
                self.decodes += 1
                decoded = self._peek()
                self._spec = (ev.end, decoded)
                heard = self._heard(decoded, ev.start, ev.end, ev.level_db)
                if heard is not None and heard.command in SAFE_WHILE_SPEAKING:
                    self._sent_early = self.decoded_early = True  # certain and safe: act now, not after the hangover
                    out.append(heard)
            elif isinstance(ev, End):
                if not self._open:
                    continue
                self._open = False
                spec, self._spec = self._spec, None
                if ev.rejected or self._sent_early:
                    self._discard()
                    continue
                self.decoded_early = spec is not None and spec[0] == ev.end
                if self.decoded_early:  # no speech since the speculative decode
                    self._discard()
                    decoded = spec[1]
                else:
                    self.decodes += 1
                    decoded = self._finish()
                heard = self._heard(decoded, ev.start, ev.end, ev.level_db)
                if heard is not None:
                    out.append(heard)
        return out
