"""The Speaker: a queue of utterances played one by one, stoppable at any moment from any thread.

Why it is built this way (measured, see the shared audio notes):
- pyttsx3's own playback cannot be interrupted and leaves ``aplay`` behind, so text is rendered to
  PCM first (``render``, cached) and played through a ``sounddevice.OutputStream`` of our own.
- PortAudio is not thread-safe: one thread (the speaker thread) opens, starts and closes every
  stream. ``stop()`` only sets an Event; the stream callback sees it within one block and raises
  ``CallbackAbort``, which drops what is buffered, so the room is silent within a few ms.
- "finished" is sent from the stream's finished-callback after the stream drained. Some host APIs
  (ALSA through PulseAudio) drop the last buffer-full on a callback stop, so every utterance is
  followed by a little more than one output latency of silence: the last real sample has left the
  device before "finished" is reported. Listeners gate on this event, never on an estimate.
- One stream per utterance (opening one costs ~2 ms here): between utterances no stream is open.
- Sentence by sentence: the stream starts as soon as the first sentence is rendered; a render
  thread appends the rest to a feed the callback reads (deque appends/pops need no lock). A stop
  never waits for a render: the callback aborts at once and the render thread gives up after the
  sentence it is on.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from voice_coach import audio
from voice_coach.errors import UserError
from voice_coach.settings import SpeechSettings
from voice_coach.speech import chimes
from voice_coach.speech.events import ERROR, FINISHED, STARTED, STOPPED, PlaybackEvent
from voice_coach.speech.engines import engine_for
from voice_coach.speech.render import cache_for, render, sentences

log = logging.getLogger(__name__)

SILENT_DB = -120.0
RATE_STEP, RATE_MIN, RATE_MAX = 20, 80, 320  # words per minute
VOLUME_STEP, VOLUME_MIN, VOLUME_MAX = 0.1, 0.1, 1.0
TAIL_MARGIN_S = 0.03  # silence beyond one output latency, so no real sample is cut at the end


class _Feed:
    """One utterance's samples (float32, device rate) as they are rendered.

    The render side appends pieces and then sets ``complete``; the stream callback pops them.
    """

    def __init__(self, first: np.ndarray | None = None):
        self.pieces: deque[np.ndarray] = deque()
        self.complete = False
        self.error = ""
        self.cancel = threading.Event()
        if first is not None:
            self.pieces.append(first)


@dataclass(frozen=True)
class _Item:
    key: str
    kind: str  # "speech" | "chime"
    payload: str  # the text, or the chime kind


def _background_priority(step: int = 5) -> None:
    """Lower this thread's CPU priority (Linux: threads have their own nice value), so a render in
    the background never starves the stream callback of the utterance that is playing."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + step))
    except (AttributeError, OSError):  # not Linux, or not allowed: a render still works
        pass


def rms_db(x: np.ndarray) -> float:
    """RMS level in dBFS of float samples in [-1, 1]; SILENT_DB for silence or nothing."""
    if x.size == 0:
        return SILENT_DB
    ms = float(np.mean(np.square(x, dtype=np.float64)))
    return max(SILENT_DB, 10.0 * math.log10(ms)) if ms > 0 else SILENT_DB


class Speaker:
    """Speak prompts and chimes through one output device. See the module doc for the design."""

    def __init__(
        self,
        settings: SpeechSettings,
        *,
        device: str | int | None = None,
        on_event: Callable[[PlaybackEvent], None] | None = None,
        language: str = "en",
    ):
        spec = device if device is not None else settings.output_device
        self.device = audio.resolve_output(spec)  # DeviceError when there is none
        self.language = language
        self.engine = engine_for(settings, language)  # loads the voice once per process
        self.rate = audio.open_rate(self.device, self.engine.sample_rate, "output")
        self._settings = settings
        self._cache = cache_for(settings)
        self._prep_errors: set[str] = set()  # each cause is logged once, not once per sentence
        self._on_event = on_event
        self._wpm = int(settings.rate)
        self._volume = float(settings.volume)
        self._counter = itertools.count(1)
        self._cv = threading.Condition()
        self._queue: deque[_Item] = deque()
        self._dropped: list[_Item] = []  # removed by stop(); reported "stopped" by the speaker thread
        self._current: _Item | None = None
        self._abort = threading.Event()
        self._closed = False
        self._speaking = False
        self._level = SILENT_DB
        # (time.monotonic(), dBFS) of each block handed to the device: the echo monitor reads the
        # level at the moment a microphone block was captured, however late it gets to look
        self.played_levels: deque[tuple[float, float]] = deque(maxlen=8192)  # ~1 min
        self._prep_queue: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._prep_thread: threading.Thread | None = None
        self._renderers: list[threading.Thread] = []
        self._prepared: dict[str, None] = {}  # every text given to prepare(), in order
        self._thread = threading.Thread(target=self._run, name="voice-coach-speaker", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------------------ public API
    def say(self, text: str, key: str | None = None) -> str:
        """Queue ``text``; returns at once with the key its events will carry."""
        return self._enqueue(_Item(key or f"say-{next(self._counter)}", "speech", str(text)))

    def chime(self, kind: str = "step") -> str:
        """Queue a short generated chime: 'step', 'timer', 'command' or 'alert' (loud)."""
        if kind not in chimes.KINDS:
            raise ValueError(f"unknown chime {kind!r}; the kinds are {', '.join(chimes.KINDS)}")
        return self._enqueue(_Item(f"chime-{kind}-{next(self._counter)}", "chime", kind))

    def prepare(self, texts: Iterable[str]) -> None:
        """Render ``texts`` into the cache in a background thread (at the current rate and voice)."""
        for t in texts:
            if t and t.strip():
                self._prep_queue.put(t)
                self._prepared.setdefault(t, None)
        with self._cv:
            if self._closed or (self._prep_thread and self._prep_thread.is_alive()):
                return
            self._prep_thread = threading.Thread(target=self._prepare_loop, name="voice-coach-prepare",
                                                 daemon=True)
            self._prep_thread.start()

    def stop(self) -> None:
        """Cut the current utterance and drop the queue. Safe from any thread.

        Blocks (at most 0.5 s) until the stream is aborted, except when called from an event
        handler (which runs on the speaker thread).
        """
        with self._cv:
            self._dropped.extend(self._queue)
            self._queue.clear()
            self._abort.set()
            current = self._current
            self._cv.notify_all()
            if current is not None and threading.current_thread() is not self._thread:
                self._cv.wait_for(lambda: self._current is not current, timeout=0.5)

    @property
    def speaking(self) -> bool:
        """True from the first sample until the finished/stopped event."""
        return self._speaking

    def level_db(self) -> float:
        """RMS dBFS of what is being played right now; -120 when silent."""
        return self._level if self._speaking else SILENT_DB

    @property
    def words_per_minute(self) -> int:
        return self._wpm

    @property
    def volume(self) -> float:
        return self._volume

    def adjust_rate(self, step: int) -> int:
        """Slower (<0) or faster (>0) by ``step`` notches, from the next utterance; returns wpm.

        The prepared prompts are rendered again at the new rate, in the background.
        """
        wpm = int(min(RATE_MAX, max(RATE_MIN, self._wpm + int(step) * RATE_STEP)))
        changed, self._wpm = wpm != self._wpm, wpm
        if changed and self._prepared and not self._closed:
            self.prepare(list(self._prepared))
        return self._wpm

    def adjust_volume(self, step: int) -> float:
        """Quieter (<0) or louder (>0) by ``step`` notches, at once (also mid-utterance)."""
        self._volume = round(min(VOLUME_MAX, max(VOLUME_MIN, self._volume + int(step) * VOLUME_STEP)), 2)
        return self._volume

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until nothing is queued or playing and every event is out; False on timeout."""
        with self._cv:
            return self._cv.wait_for(
                lambda: not self._queue and self._current is None and not self._dropped, timeout
            )

    def close(self) -> None:
        """Stop, and end the speaker's threads; no stream or thread is left behind. Idempotent."""
        with self._cv:
            if self._closed:
                return
            self._closed = True
        self.stop()
        with self._cv:
            self._cv.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)
        prep = self._prep_thread
        if prep is not None and prep is not threading.current_thread():
            prep.join(timeout=30)
        for worker in list(self._renderers):
            worker.join(timeout=30)

    def __enter__(self) -> Speaker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------------------ internals
    def _enqueue(self, item: _Item) -> str:
        with self._cv:
            if self._closed:
                raise RuntimeError("this Speaker is closed")
            self._queue.append(item)
            self._cv.notify_all()
        return item.key

    def _emit(self, key: str, kind: str, at: float | None = None, detail: str = "") -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(PlaybackEvent(key, kind, time.monotonic() if at is None else at, detail))
        except Exception:  # a listener's bug must not kill the speaker
            log.exception("on_event handler failed for %s %s", key, kind)

    def _emit_dropped(self) -> None:
        with self._cv:
            dropped, self._dropped = self._dropped, []
        for item in dropped:
            self._emit(item.key, STOPPED)
        if dropped:
            with self._cv:
                self._cv.notify_all()

    def _prepare_loop(self) -> None:
        _background_priority()
        while not self._closed:
            try:
                text = self._prep_queue.get_nowait()
            except queue.Empty:
                return
            try:
                render(text, self._settings, rate=self._wpm, cache=self._cache, language=self.language,
                       background=True)
            except Exception as exc:  # logged once per cause; say() will report it as an error event
                first = str(exc) not in self._prep_errors
                self._prep_errors.add(str(exc))
                log.log(logging.WARNING if first else logging.DEBUG, "could not prepare %r: %s", text[:40], exc)

    def _run(self) -> None:
        while True:
            with self._cv:
                self._cv.wait_for(lambda: self._queue or self._dropped or self._closed)
                if self._dropped:
                    item = None
                elif self._queue:
                    item = self._queue.popleft()
                    self._current = item
                    self._abort.clear()  # a stop() before this point was for earlier items
                else:  # closed and nothing left
                    return
            if item is None:
                self._emit_dropped()
                continue
            try:
                self._perform(item)
            finally:
                self._speaking = False
                self._level = SILENT_DB
                with self._cv:
                    self._current = None
                    self._cv.notify_all()
            self._emit_dropped()

    def _to_device(self, x: np.ndarray, sr: int) -> np.ndarray:
        if sr != self.rate:
            x = audio.resample(x, sr, self.rate)
        return x.astype(np.float32) / 32768.0

    def _feed_for(self, item: _Item) -> tuple[_Feed, float | None]:
        """The utterance's feed (its first piece rendered) and a fixed gain, or None for the volume.

        The 'alert' chime ignores the volume: an ice limit must be heard.
        """
        if item.kind == "chime":
            feed = _Feed(self._to_device(chimes.chime(item.payload, self.rate), self.rate))
            feed.complete = True
            return feed, (1.0 if item.payload == "alert" else None)
        pieces = sentences(item.payload, self._settings, rate=self._wpm, cache=self._cache,
                           language=self.language)
        feed = _Feed()
        for x, sr in pieces:  # the first non-empty piece, here; the rest in a render thread
            if x.size:
                feed.pieces.append(self._to_device(x, sr))
                break
        else:
            feed.complete = True
            return feed, None
        worker = threading.Thread(target=self._render_rest, args=(pieces, feed), daemon=True,
                                  name="voice-coach-render")
        self._renderers = [t for t in self._renderers if t.is_alive()] + [worker]
        worker.start()
        return feed, None

    def _render_rest(self, pieces, feed: _Feed) -> None:
        _background_priority()
        try:
            for x, sr in pieces:
                if feed.cancel.is_set():
                    break
                if x.size:
                    feed.pieces.append(self._to_device(x, sr))
        except Exception as exc:  # reported by _play as an error event, after what was rendered
            log.warning("could not render the rest of an utterance: %s", exc)
            feed.error = f"could not render: {exc}"
        finally:
            pieces.close()  # a cancelled utterance is not cached
            feed.complete = True

    def _perform(self, item: _Item) -> None:
        try:
            feed, fixed_gain = self._feed_for(item)
        except UserError as exc:
            self._emit(item.key, ERROR, detail=str(exc))
            return
        except Exception as exc:  # a synthesis bug: report, keep serving the queue
            log.exception("could not render %s", item.key)
            self._emit(item.key, ERROR, detail=f"could not render: {exc}")
            return
        try:
            if self._abort.is_set():
                self._emit(item.key, STOPPED)
            elif not feed.pieces:
                self._emit(item.key, FINISHED)
            else:
                self._play(item, feed, fixed_gain)
        finally:
            feed.cancel.set()

    def _play(self, item: _Item, feed: _Feed, fixed_gain: float | None) -> None:
        sd = audio._sd()
        done = threading.Event()
        # pad: zeros after the last real sample (set once the stream's latency is known)
        state = {"first": None, "aborted": False, "drained": False, "pad": 0, "cur": None, "pos": 0,
                 "last_cb": time.monotonic()}

        def callback(outdata, frames, time_info, status):  # PortAudio's thread: no locks, no I/O
            state["last_cb"] = time.monotonic()
            if self._abort.is_set():
                outdata.fill(0)
                state["aborted"] = True
                raise sd.CallbackAbort
            out = outdata[:, 0]
            gain = self._volume if fixed_gain is None else fixed_gain
            filled = 0
            complete = feed.complete  # read before looking at the pieces: none can follow then
            while filled < frames:
                cur, pos = state["cur"], state["pos"]
                if cur is None or pos >= cur.size:
                    if not feed.pieces:
                        break
                    state["cur"], state["pos"] = feed.pieces.popleft(), 0
                    continue
                n = min(frames - filled, cur.size - pos)
                np.multiply(cur[pos : pos + n], gain, out=out[filled : filled + n])
                filled += n
                state["pos"] = pos + n
            out[filled:] = 0.0
            if filled and state["first"] is None:
                state["first"] = time.monotonic()
                self._speaking = True
            self._level = rms_db(out[:filled])
            self.played_levels.append((time.monotonic(), self._level))
            if complete and not feed.pieces and (state["cur"] is None or state["pos"] >= state["cur"].size):
                state["pad"] -= frames - filled  # the tail of silence; a render gap never counts
                if state["pad"] <= 0:
                    state["drained"] = True
                    raise sd.CallbackStop

        try:
            stream = sd.OutputStream(
                device=self.device.index, samplerate=self.rate, channels=1, dtype="float32",
                latency="high", callback=callback, finished_callback=done.set,
            )
        except (sd.PortAudioError, ValueError) as exc:
            self._emit(item.key, ERROR, detail=f"output device {self.device.index} "
                       f"'{self.device.name}' could not be opened: {exc}")
            return
        try:
            state["pad"] = int(math.ceil((float(stream.latency) + TAIL_MARGIN_S) * self.rate))
            stream.start()
            state["last_cb"] = time.monotonic()
            started_sent = False
            abort_seen = None
            while True:
                finished = done.wait(0.005 if not started_sent else 0.02)
                if not started_sent and state["first"] is not None:
                    self._emit(item.key, STARTED, at=state["first"])
                    started_sent = True
                if finished:
                    break
                now = time.monotonic()
                if self._abort.is_set():
                    abort_seen = abort_seen or now
                    if now - abort_seen > 0.15:  # callbacks stalled: abort from this (owning) thread
                        stream.abort(ignore_errors=True)
                        state["aborted"] = True
                        break
                elif now - state["last_cb"] > 3.0:
                    stream.abort(ignore_errors=True)
                    self._emit(item.key, ERROR, detail=f"output device '{self.device.name}' "
                               "stopped responding (unplugged?)")
                    return
            self._speaking = False
            self._level = SILENT_DB
            if state["aborted"]:
                self._emit(item.key, STOPPED)
            elif not state["drained"]:  # PortAudio ended the stream itself: the device went away
                self._emit(item.key, ERROR, detail=f"output device '{self.device.name}' stopped "
                           "mid-utterance (unplugged, or the sound server went away)")
            elif feed.error:
                self._emit(item.key, ERROR, detail=feed.error)
            else:
                self._emit(item.key, FINISHED)
        except sd.PortAudioError as exc:
            self._emit(item.key, ERROR, detail=f"output device '{self.device.name}' failed: {exc}")
        finally:
            stream.close(ignore_errors=True)
