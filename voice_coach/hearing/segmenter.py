"""Cut a 16 kHz PCM stream into utterances: WebRTC VAD gated by an adaptive noise floor.

WebRTC VAD alone calls steady fan or massager noise "speech" and never lets an utterance end, so a
frame only counts as speech when the VAD says so *and* it is clearly louder than the tracked noise
floor. The floor follows the background (quickly down, slowly up) and also adapts while an
over-long utterance is being ignored, so a motor that starts mid-sentence is absorbed within
seconds instead of keeping the coach deaf. Idle cost is one VAD call per 30 ms frame.

Audio marked ``hidden`` is the echo monitor's comfort noise in place of the coach's own voice: it
is silence that neither moves the floor (a -65 dBFS stretch would drag it under a fan, which then
sounds like speech) nor lets earlier speech make a barge-in command a "run-on".
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass

import numpy as np
import webrtcvad

from voice_coach.hearing.types import SAMPLE_RATE, SAMPLE_WIDTH

FRAME_MS = 30
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000
FRAME_BYTES = FRAME_SAMPLES * SAMPLE_WIDTH
FRAME_S = FRAME_MS / 1000
GATE_LOW_HZ = 200.0  # below this, rumble: a fan, a motor, traffic, handling noise


@dataclass(frozen=True)
class SegmenterConfig:
    aggressiveness: int = 2  # webrtcvad 0..3
    on_db: float = 5.0  # a frame that opens an utterance is at least this much above the noise floor
    stay_db: float = 5.0  # inside an utterance, this much above the floor is still speech (hysteresis)
    start_frames: int = 3  # of the last ``start_window`` frames must be speech to open
    start_window: int = 5
    min_speech_frames: int = 4  # shorter blips (clicks, knocks) are dropped
    hangover_ms: int = 210  # trailing non-speech that closes an utterance (shorter cut 3% of real words)
    early_ms: int = 90  # trailing non-speech after which a Pause invites a speculative decode (0: never)
    preroll_ms: int = 300  # audio kept before the opening frames
    max_utterance_s: float = 3.0  # longer speech is not a command: ignored until silence
    floor_rise_s: float = 2.0  # time constant of the floor rising towards louder background
    min_level_db: float = -65.0  # never treat anything quieter than this as speech
    run_on_gap_s: float = 0.6  # speech starting sooner after other (real, not hidden) speech is part of a sentence
    isolated_blips_count: bool = False  # does a lone "too short" blip make the next speech a run-on?
    # an utterance opens on the level above GATE_LOW_HZ (the random low-frequency swells of a fan's
    # pink noise stay under floor + on_db there) and stays open on the full-band level (the voiced
    # tail of a word is mostly low): docs/benchmarks.md, decodes per idle minute
    gate_band: bool = True


@dataclass(frozen=True)
class Begin:
    start: float
    pcm: bytes  # the pre-roll, including the opening frames


@dataclass(frozen=True)
class Audio:
    pcm: bytes


@dataclass(frozen=True)
class Pause:
    """The utterance has been silent for ``early_ms``: it may be over (decode it now, speculatively).

    Sent at most once per silent run, only for utterances that could be a command (long enough,
    no run-on); an :class:`End` with the same ``end`` follows if the silence holds.
    """

    start: float
    end: float  # end of the last speech frame so far
    level_db: float


@dataclass(frozen=True)
class End:
    start: float
    end: float  # end of the last speech frame (seconds of stream)
    level_db: float
    rejected: str = ""  # "" = a candidate command; "too long" / "too short" = drop it


def frame_db(frame: bytes) -> float:
    x = np.frombuffer(frame, dtype=np.int16).astype(np.float32)
    rms = math.sqrt(float(np.mean(x * x))) if len(x) else 0.0
    return 20 * math.log10(max(rms, 1.0) / 32768.0)


_BAND: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def band_db(frame: bytes, low_hz: float = GATE_LOW_HZ) -> float:
    """The frame's level above ``low_hz`` (to 4 kHz): a fan's or a motor's low rumble left out."""
    x = np.frombuffer(frame, dtype=np.int16).astype(np.float32)
    if len(x) not in _BAND:
        f = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
        _BAND[len(x)] = (np.hanning(len(x)).astype(np.float32), (f >= low_hz) & (f <= 4000))
    window, band = _BAND[len(x)]
    power = np.abs(np.fft.rfft(x * window)[band]) ** 2
    rms = math.sqrt(2 * float(power.sum()) / (len(x) * float(np.sum(window ** 2)))) if len(x) else 0.0
    return 20 * math.log10(max(rms, 1.0) / 32768.0)


class Segmenter:
    """Feed PCM with :meth:`feed`; get :class:`Begin`, :class:`Audio` and :class:`End` events."""

    def __init__(self, config: SegmenterConfig | None = None):
        self.config = config or SegmenterConfig()
        self._vad = webrtcvad.Vad(self.config.aggressiveness)
        self.reset()

    def reset(self) -> None:
        c = self.config
        self._buf = b""
        self._frames = 0  # frames consumed so far
        self.floor_db: float | None = None  # full band
        self.floor_band_db: float | None = None  # above GATE_LOW_HZ: what opens an utterance
        self.last_db = -96.0
        self._state = "idle"  # idle | speech | ignoring
        self._recent: collections.deque[tuple[bytes, bool, float]] = collections.deque(
            maxlen=max(c.start_window, c.preroll_ms // FRAME_MS)
        )
        self._start = 0.0
        self._last_speech_end = 0.0
        self._silent_run = 0
        self._speech_frames = 0
        self._energy: list[float] = []
        self._prev_speech_end = -10.0  # end of any earlier speech (utterances, ignored speech)
        self._run_on = False
        self._hidden_at = -10.0  # start of the last frame of hidden (echo-replaced) audio

    @property
    def position(self) -> float:
        """Seconds of audio consumed."""
        return self._frames * FRAME_S

    @property
    def in_speech(self) -> bool:
        return self._state == "speech"

    def feed(self, pcm: bytes, hidden: bool = False) -> list[Begin | Audio | Pause | End]:
        """``hidden``: this audio is comfort noise standing in for the coach's own voice (the echo
        monitor hid it); it is silence that neither moves the noise floor nor counts as speech."""
        self._buf += pcm
        events: list[Begin | Audio | End] = []
        n = len(self._buf) // FRAME_BYTES
        for i in range(n):
            self._step(self._buf[i * FRAME_BYTES : (i + 1) * FRAME_BYTES], events, hidden)
        self._buf = self._buf[n * FRAME_BYTES :]
        return events

    def flush(self) -> list[Begin | Audio | End]:
        """End of stream: close an open utterance as if silence followed."""
        events: list[Begin | Audio | End] = []
        if self._state == "speech":
            events.append(self._close())
        self._state = "idle"
        self._buf = b""
        return events

    # -- internals ---------------------------------------------------------------------------
    def _is_speech(self, frame: bytes, db: float, band: float) -> bool:
        c = self.config
        if self._state == "speech":
            level, floor, margin = db, self.floor_db, c.stay_db
        else:
            level, floor, margin = (band, self.floor_band_db, c.on_db) if c.gate_band else (db, self.floor_db, c.on_db)
        if db < c.min_level_db or level < (floor or -96.0) + margin:
            return False
        return self._vad.is_speech(frame, SAMPLE_RATE)

    def _track_floor(self, db: float, band: float) -> None:
        self.floor_db = self._follow(self.floor_db, db)
        self.floor_band_db = self._follow(self.floor_band_db, band)

    def _follow(self, floor: float | None, db: float) -> float:
        """Down fast, up slowly: the floor is the quiet between sounds."""
        if floor is None:
            return db
        if db < floor:
            return floor + 0.5 * (db - floor)
        return floor + (FRAME_S / self.config.floor_rise_s) * (db - floor)

    def _level(self) -> float:
        if not self._energy:
            return -96.0
        return round(10 * math.log10(max(np.mean([10 ** (e / 10) for e in self._energy]), 1e-12)), 1)

    def _close(self, rejected: str = "") -> End:
        c = self.config
        if not rejected and self._speech_frames < c.min_speech_frames:
            rejected = "too short"
        if not rejected and self._run_on:
            rejected = "run-on"  # a piece of a longer sentence cut at a pause, not a command
        if rejected != "too short" or self._run_on or c.isolated_blips_count:
            # a lone blip (a click, a noise burst) is no sentence that a command could be part of;
            # a short piece right after other speech keeps the sentence going
            self._prev_speech_end = self._last_speech_end
        return End(self._start, self._last_speech_end, self._level(), rejected)

    def _step(self, frame: bytes, events: list, hidden: bool = False) -> None:
        c = self.config
        t0 = self._frames * FRAME_S
        self._frames += 1
        db = frame_db(frame)  # the utterance's level (what the echo monitor compares)
        band = band_db(frame) if c.gate_band else db
        self.last_db = db
        if hidden:
            # the coach was talking: speech before this is no sentence a command could belong to
            self._hidden_at = t0
            speech = False
        else:
            if self.floor_db is None:
                self.floor_db, self.floor_band_db = db, band
            speech = self._is_speech(frame, db, band)

        if self._state == "idle":
            if not speech and not hidden:
                self._track_floor(db, band)
            self._recent.append((frame, speech, db))
            window = list(self._recent)[-c.start_window :]
            if speech and sum(s for _, s, _ in window) >= c.start_frames:
                # open at the first speech frame of the window; keep the pre-roll before it
                frames = list(self._recent)
                first = next(i for i in range(len(frames) - len(window), len(frames)) if frames[i][1])
                self._start = t0 - (len(frames) - 1 - first) * FRAME_S
                self._speech_frames = sum(s for _, s, _ in window)
                self._energy = [d for _, s, d in window if s]
                self._last_speech_end = t0 + FRAME_S
                self._silent_run = 0
                self._state = "speech"
                self._run_on = (self._start - self._prev_speech_end < c.run_on_gap_s
                                and self._prev_speech_end > self._hidden_at)
                self._recent.clear()
                events.append(Begin(self._start, b"".join(f for f, _, _ in frames)))
            return

        if self._state == "speech":
            events.append(Audio(frame))
            if speech:
                self._speech_frames += 1
                self._energy.append(db)
                self._last_speech_end = t0 + FRAME_S
                self._silent_run = 0
            else:
                self._silent_run += 1
                if (c.early_ms and self._silent_run * FRAME_MS >= c.early_ms > (self._silent_run - 1) * FRAME_MS
                        and c.early_ms < c.hangover_ms and self._speech_frames >= c.min_speech_frames
                        and not self._run_on):
                    events.append(Pause(self._start, self._last_speech_end, self._level()))
            if self._silent_run * FRAME_MS >= c.hangover_ms:
                events.append(self._close())
                self._state = "idle"
            elif t0 + FRAME_S - self._start > c.max_utterance_s:
                events.append(self._close("too long"))
                self._state = "ignoring"
                self._silent_run = 0
            return

        # ignoring an over-long utterance until a pause; the floor keeps adapting so that
        # steady noise which opened it is absorbed and the segmenter can close.
        if not hidden:
            self._track_floor(db, band)
        self._silent_run = 0 if speech else self._silent_run + 1
        if speech:
            self._prev_speech_end = t0 + FRAME_S
        if self._silent_run * FRAME_MS >= c.hangover_ms:
            self._state = "idle"
