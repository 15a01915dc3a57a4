"""Telling the person's voice from the coach's own, without echo cancellation hardware.

The coach's voice reaches the microphone. :class:`EchoMonitor` learns how loud it arrives (the
coupling between speaker and microphone, from moments when only the coach is talking) and so knows,
block by block, the level its own echo can explain. Audio no louder than that is hidden from the
recognizer while the coach speaks, so the coach never hears itself; a voice clearly louder than the
echo is *talk-over*: the coach falls silent at once (barge-in) and the recognizer decides what was
said. :class:`CommandGate` then decides, per recognized utterance, whether to act on it now, after
the coach's sentence, or not at all.
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from voice_coach.session.commands import Command

SILENT_DB = -120.0


@dataclass(frozen=True)
class EchoSettings:
    margin_db: float = 5.0  # how much louder than the coach's own echo a voice must be
    talkover_s: float = 0.12  # that long above the echo while the coach speaks = barge-in
    floor_db: float = -50.0  # quieter than this is never talk-over
    window_s: float = 0.25  # the echo of one moment arrives within this time (device latencies)
    initial_coupling_db: float = 0.0  # assume the worst (speaker as loud as at its output) until measured
    noise_db: float = -65.0  # level of the comfort noise that replaces hidden echo


class EchoMonitor:
    """Fed one block of microphone audio at a time (from the listener's thread).

    ``played`` holds (time.monotonic(), dBFS) of each block the speaker handed to its device, so
    a microphone block is compared with what was playing when it was *captured*, even when the
    recognizer thread looks at it late (it lags while Whisper decodes). ``on_talkover`` is called
    (from the listener's thread) when a voice rises above the echo while the coach speaks.
    """

    def __init__(self, played: Sequence[tuple[float, float]], on_talkover: Callable[[], None] | None = None,
                 settings: EchoSettings = EchoSettings()):
        self.played = played
        self.on_talkover = on_talkover
        self.s = settings
        self.coupling_db = settings.initial_coupling_db
        self._measured: collections.deque[float] = collections.deque(maxlen=300)  # ~9 s of coach speech
        self._history: collections.deque[tuple[float, float]] = collections.deque(maxlen=400)  # (t, echo limit)
        self._loud_since: float | None = None
        self._fired = False
        self._lock = threading.Lock()
        self._rng = np.random.default_rng(7)
        self.talkovers = 0

    def _envelope(self, t: float) -> float:
        """The loudest the coach played within the echo's travel time before ``t``."""
        lo = t - self.s.window_s
        for _ in range(3):  # newest first; the speaker's thread may append meanwhile: then look again
            try:
                loudest = SILENT_DB
                for ts, db in reversed(self.played):
                    if ts < lo:
                        break
                    if ts <= t and db > loudest:
                        loudest = db
                return loudest
            except RuntimeError:
                continue
        return max((db for ts, db in list(self.played) if lo <= ts <= t), default=SILENT_DB)

    def echo_limit(self, t: float) -> float:
        """The loudest level the coach's own voice can reach at the microphone around ``t``."""
        env = self._envelope(t)
        if env <= SILENT_DB + 1:
            return SILENT_DB
        return env + self.coupling_db + self.s.margin_db

    def block(self, t: float, samples: np.ndarray, mic_db: float) -> np.ndarray:
        """Look at one block; returns it unchanged (the same array), or comfort noise in its place
        where the coach's own echo explains all of it."""
        with self._lock:
            limit = self.echo_limit(t)
            self._history.append((t, limit))
            if limit <= SILENT_DB:
                self._loud_since, self._fired = None, False
                return samples
            loud = mic_db > limit and mic_db > self.s.floor_db
            if not loud:
                # only the coach: learn how loud its echo arrives, as a high percentile of
                # (microphone - what was played), so quiet gaps between words do not pull it down
                env = self._envelope(t)
                if env > -50:
                    self._measured.append(mic_db - env)
                    if len(self._measured) >= 30:
                        self.coupling_db = min(10.0, float(np.percentile(self._measured, 95)))
                self._loud_since = None
                noise = self._rng.normal(0.0, 32768 * 10 ** (self.s.noise_db / 20), samples.shape)
                return noise.astype(samples.dtype)
            if self._loud_since is None:
                self._loud_since = t
            fire = not self._fired and t - self._loud_since >= self.s.talkover_s
            if fire:
                self._fired = True
                self.talkovers += 1
        if fire and self.on_talkover:
            self.on_talkover()
        return samples

    def overlap(self, start: float, end: float) -> float:
        """Seconds of [start, end] during which the coach's voice could reach the microphone."""
        with self._lock:
            blocks = [ts for ts, lim in self._history if start <= ts <= end and lim > SILENT_DB]
        return len(blocks) * BLOCK_S


BLOCK_S = 0.03  # the listener's block length


@dataclass(frozen=True)
class Verdict:
    action: str  # act | drop | sorry
    why: str = ""


class CommandGate:
    """Decides what to do with one recognized utterance.

    Speech heard while the coach's voice filled the room is dropped: if it had been clearly
    louder than the echo, the echo monitor would have silenced the coach (a talk-over) and the
    utterance would be judged as the answer to that instead. Numbers count only when a rating
    was asked for; speech not understood gets "Sorry?" (the engine says it at most once).
    """

    def __init__(self, min_overlap_s: float = 0.15, min_overlap_share: float = 0.3):
        self.min_overlap_s = min_overlap_s
        self.min_overlap_share = min_overlap_share

    def decide(self, command: Command | None, *, duration: float, echo_overlap: float,
               numbers_expected: bool) -> Verdict:
        if echo_overlap >= min(self.min_overlap_s, self.min_overlap_share * max(duration, 0.0)) and echo_overlap > 0:
            return Verdict("drop", "said while the coach was speaking, and no louder than its echo")
        if command is None:
            return Verdict("sorry", "not understood")
        if command is Command.NUMBER and not numbers_expected:
            return Verdict("drop", "a number, but none was asked for")
        return Verdict("act")
