"""Live listening: capture thread -> bounded queue -> recognizer thread -> ``on_heard``.

The capture callback only copies the block and stamps it with ``time.monotonic()``; resampling,
VAD and decoding run in the recognizer thread (vosk-api #326: record in its own thread). The
device is opened at a rate it accepts and resampled to 16 kHz. A missing or lost microphone is
reported through ``on_status("lost", message)`` and retried every ~2 s, never raised into the
caller's thread; ``on_status("back", ...)`` says it works again.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from dataclasses import replace
from typing import Callable

import numpy as np

from voice_coach.hearing.types import SAMPLE_RATE, CommandRecognizer, Heard
from voice_coach.session.commands import Command
from voice_coach.settings import HearingSettings

log = logging.getLogger(__name__)

BLOCK_S = 0.03  # 30 ms blocks: the segmenter's frame size, so an end is seen within one block
STALL_S = 1.5  # no audio for this long from an open stream = the device is gone
RETRY_S = 2.0
QUEUE_BLOCKS = 200  # ~6 s of audio; when full the oldest block is dropped, never the capture


def _db(block: np.ndarray) -> float:
    if block.size == 0:
        return -96.0
    rms = math.sqrt(float(np.mean(block.astype(np.float32) ** 2)))
    return 20 * math.log10(max(rms, 1.0) / 32768.0)


class Listener:
    """Listen on a microphone and call ``on_heard(Heard)`` for each utterance (from its own thread).

    ``Heard.start``/``end`` are seconds of audio since :meth:`start`; ``Heard.ended_at`` is the
    ``time.monotonic()`` at which the end of the speech was captured.
    """

    def __init__(self, hearing: HearingSettings, on_heard: Callable[[Heard], None],
                 on_status: Callable[[str, str], None] | None = None, *,
                 device: str | int | None = None, recognizer: CommandRecognizer | None = None):
        self.hearing = hearing
        self.on_heard = on_heard
        self.on_status = on_status or (lambda state, message: None)
        self.device = device if device is not None else (hearing.input_device or None)
        self.recognizer = recognizer
        self._q: queue.Queue[tuple[float, np.ndarray, int]] = queue.Queue(QUEUE_BLOCKS)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._started_at: float | None = None
        self._pending_allowed: tuple[frozenset[Command] | None, bool, tuple[str, ...]] | None = None
        self._lock = threading.Lock()
        self._level = -96.0
        self._last_block = 0.0
        self.dropped_blocks = 0
        # Called in the recognizer thread with (capture time, 16 kHz block, level dBFS) before the
        # recognizer sees the block; returns the block to feed (the echo monitor hides the coach's voice).
        # Returning the same array object means "left alone"; a new array is treated as hidden audio.
        self.block_filter: Callable[[float, np.ndarray, float], np.ndarray] | None = None
        self.device_name = ""
        self.rate = 0

    # -- public --------------------------------------------------------------------------------
    def start(self) -> "Listener":
        if self.recognizer is None:
            from voice_coach.hearing.factory import make_recognizer

            self.recognizer = make_recognizer(self.hearing)  # a bad model is a UserError, here
        self._stop.clear()
        self._started_at = time.monotonic()
        self._threads = [threading.Thread(target=self._capture_loop, name="hearing-capture", daemon=True),
                         threading.Thread(target=self._recognize_loop, name="hearing-recognize", daemon=True)]
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=10)
        if self._threads and self._started_at is not None:
            log.info("listened %.0f s and decoded %d utterances (speculative decodes included)",
                     time.monotonic() - self._started_at, getattr(self.recognizer, "decodes", 0))
        self._threads = []

    def set_allowed(self, commands: frozenset[Command] | None, numbers: bool, extra: tuple[str, ...] = ()) -> None:
        """Applied by the recognizer thread before its next block (engines are not thread-safe).
        ``extra``: free phrases to listen for besides the commands (serve's requests between sessions)."""
        with self._lock:
            self._pending_allowed = (commands, numbers, tuple(extra))

    def level_db(self) -> float:
        """The microphone level of the last block, dBFS (for a meter)."""
        return self._level

    def __enter__(self) -> "Listener":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- capture -------------------------------------------------------------------------------
    def _status(self, state: str, message: str) -> None:
        try:
            self.on_status(state, message)
        except Exception:  # a caller's bug must not kill listening
            log.exception("on_status callback failed")

    def _open(self):
        import sounddevice as sd

        from voice_coach import audio

        dev = audio.resolve_input(self.device)
        rate = audio.open_rate(dev, SAMPLE_RATE, "input")

        def callback(indata, frames, time_info, status):  # PortAudio's thread: copy and go
            now = time.monotonic()
            self._last_block = now
            item = (now, indata[:, 0].copy(), rate)
            try:
                self._q.put_nowait(item)
            except queue.Full:
                self.dropped_blocks += 1
                try:
                    self._q.get_nowait()
                    self._q.put_nowait(item)
                except (queue.Empty, queue.Full):
                    pass

        stream = sd.InputStream(device=dev.index, samplerate=rate, channels=1, dtype="int16",
                                blocksize=int(rate * BLOCK_S), latency="low", callback=callback)
        stream.start()
        self.device_name, self.rate = dev.name, rate
        return stream

    def _capture_loop(self) -> None:
        lost = False
        while not self._stop.is_set():
            stream = None
            try:
                stream = self._open()
                self._last_block = time.monotonic()
                self._status("back" if lost else "listening", f"listening on '{self.device_name}' at {self.rate} Hz")
                lost = False
                while not self._stop.wait(0.1):
                    if not stream.active or time.monotonic() - self._last_block > STALL_S:
                        raise RuntimeError("the microphone stopped delivering audio")
            except Exception as exc:  # DeviceError, PortAudioError, a stall: report and retry
                if not self._stop.is_set():
                    lost = True
                    self._status("lost", f"microphone unavailable: {exc}; retrying every {RETRY_S:g} s")
            finally:
                if stream is not None:
                    try:
                        stream.close()
                    except Exception:
                        log.debug("closing the input stream failed", exc_info=True)
            self._stop.wait(RETRY_S)

    # -- recognition ---------------------------------------------------------------------------
    def _recognize_loop(self) -> None:
        from voice_coach.audio import StreamResampler

        from voice_coach.hearing.base import SegmentingRecognizer

        rec = self.recognizer
        takes_hidden = isinstance(rec, SegmentingRecognizer)
        rec.reset()  # stream times count from start()
        resampler, rate_now = None, None
        fed = 0.0  # seconds fed to the recognizer
        while not self._stop.is_set():
            with self._lock:
                pending, self._pending_allowed = self._pending_allowed, None
            if pending is not None:
                rec.set_allowed(*pending)
            try:
                t_capture, block, rate = self._q.get(timeout=0.1)
            except queue.Empty:
                continue
            if rate != rate_now:
                resampler = None if rate == SAMPLE_RATE else StreamResampler(rate, SAMPLE_RATE)
                rate_now = rate
            pcm16 = block if resampler is None else resampler.process(block)
            self._level = _db(block)
            hidden = False
            if self.block_filter is not None and pcm16.size:
                filtered = self.block_filter(t_capture, pcm16, self._level)
                # a filter hands back the very same array when it leaves the block alone; anything
                # else stands in for the coach's own voice: silence that must not make the next
                # command a "run-on" of the coach's sentence
                hidden = filtered is not pcm16
                pcm16 = filtered
            pcm = pcm16.astype(np.int16, copy=False).tobytes()
            fed += len(pcm) / (2 * SAMPLE_RATE)
            t_accept = time.monotonic()
            try:
                heard = rec.accept(pcm, hidden=True) if hidden and takes_hidden else rec.accept(pcm)
            except Exception:
                log.exception("the recognizer failed on a block; resetting it")
                rec.reset()
                fed = 0.0
                continue
            t_done = time.monotonic()
            for h in heard:
                h = replace(h, ended_at=t_capture - max(0.0, fed - h.end),
                            stages=_stages(rec, fed - h.end, t_accept - t_capture, t_done - t_accept))
                try:
                    self.on_heard(h)
                except Exception:
                    log.exception("on_heard callback failed")


def _stages(rec, hangover: float, queued: float, accept: float) -> tuple[tuple[str, float], ...]:
    """Where an utterance's time went before it was handed out (seconds by stage)."""
    out = [("hangover", max(0.0, hangover)), ("queue", max(0.0, queued)), ("recognizer", accept)]
    timing = getattr(getattr(rec, "decoder", None), "timing", None) or {}
    early = " at the pause" if getattr(rec, "decoded_early", False) else ""  # inside the hangover
    out += [(f"{k}{early}", v) for k, v in timing.items()]
    return tuple(out)
