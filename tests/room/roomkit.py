"""Helpers for tests in the virtual room (scripts/virtual-room): hear what was played, play as a person.

- :class:`RoomRecorder` records the room's microphone (a real PortAudio input) in the background.
- :func:`play_into_room` is a *second* player, a separate ``paplay`` process: the person speaking.
- :func:`espeak_wav` makes test speech; :func:`rms_db`, :func:`segments`, :func:`first_silence_after`
  measure levels and find sound and silence in a recording.

Timing: ``time_of_sample(i)`` is on the ``time.monotonic()`` clock. It is estimated from the arrival
time of each recorded block (the smallest arrival delay seen is taken as the capture delay), so it
is never earlier than the true moment the sound was in the room: a "silence within X ms after t"
check based on it is conservative.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
import wave
from pathlib import Path

import numpy as np

SILENT_DB = -120.0
ROOM_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "virtual-room"


def rms_db(x: np.ndarray) -> float:
    """RMS level in dBFS of float samples in [-1, 1] (int16 is scaled); -120 for silence."""
    x = np.asarray(x)
    if x.dtype == np.int16:
        x = x.astype(np.float32) / 32768.0
    if x.size == 0:
        return SILENT_DB
    ms = float(np.mean(np.square(x, dtype=np.float64)))
    return max(SILENT_DB, 10 * np.log10(ms)) if ms > 0 else SILENT_DB


def window_db(x: np.ndarray, rate: int, window_ms: float = 10.0) -> np.ndarray:
    """RMS dBFS of consecutive windows of ``window_ms`` (the last partial window is dropped)."""
    x = np.asarray(x, dtype=np.float32)
    n = max(1, int(rate * window_ms / 1000))
    k = x.size // n
    if k == 0:
        return np.zeros(0)
    ms = np.mean(np.square(x[: k * n].reshape(k, n), dtype=np.float64), axis=1)
    with np.errstate(divide="ignore"):
        return np.maximum(SILENT_DB, 10 * np.log10(np.where(ms > 0, ms, 1e-30)))


def segments(
    x: np.ndarray, rate: int, threshold_db: float = -45.0, window_ms: float = 10.0, min_gap_ms: float = 150.0
) -> list[tuple[int, int]]:
    """(start, end) sample indices of sounds louder than ``threshold_db``; gaps shorter than
    ``min_gap_ms`` (pauses between words) do not split a sound."""
    db = window_db(x, rate, window_ms)
    n = max(1, int(rate * window_ms / 1000))
    loud = np.flatnonzero(db > threshold_db)
    if loud.size == 0:
        return []
    gap = max(1, int(min_gap_ms / window_ms))
    out, start, prev = [], loud[0], loud[0]
    for w in loud[1:]:
        if w - prev > gap:
            out.append((int(start * n), int((prev + 1) * n)))
            start = w
        prev = w
    out.append((int(start * n), int((prev + 1) * n)))
    return out


def first_silence_after(
    x: np.ndarray, rate: int, start: int = 0, threshold_db: float = -50.0, window_ms: float = 5.0,
    hold_ms: float = 100.0,
) -> int | None:
    """Index of the first window at or after ``start`` that begins a quiet stretch (every window
    below ``threshold_db``) lasting ``hold_ms`` or to the end of the recording; None if never."""
    n = max(1, int(rate * window_ms / 1000))
    seg = np.asarray(x)[start:]
    db = window_db(seg, rate, window_ms)
    hold = max(1, int(hold_ms / window_ms))
    quiet = db <= threshold_db
    for w in range(db.size):
        if quiet[w] and quiet[w : w + hold].all():
            return start + w * n
    return None


class RoomRecorder:
    """Record the room's microphone in the background (16 kHz mono), with monotonic timestamps.

    ``audio`` is float32 in [-1, 1]. Use as a context manager or call start()/stop().
    """

    def __init__(self, rate: int = 16000, device: int | str | None = None, blocksize: int = 160):
        self.rate = rate
        self.device = device
        self.blocksize = blocksize
        self._blocks: list[np.ndarray] = []
        self._arrivals: list[tuple[float, int]] = []  # (monotonic time at callback, samples so far)
        self._count = 0
        self._lock = threading.Lock()
        self._stream = None
        self.status_flags: list[str] = []

    def _callback(self, indata, frames, time_info, status):
        now = time.monotonic()
        if status:
            self.status_flags.append(str(status))
        with self._lock:
            self._blocks.append(indata[:, 0].copy())
            self._count += frames
            self._arrivals.append((now, self._count))

    def start(self) -> RoomRecorder:
        import sounddevice as sd

        dev = self.device
        if isinstance(dev, str) and dev:
            from voice_coach.audio import resolve_input

            dev = resolve_input(dev).index
        self._stream = sd.InputStream(
            device=dev, samplerate=self.rate, channels=1, dtype="float32", blocksize=self.blocksize,
            latency="high", callback=self._callback,
        )
        self._stream.start()
        deadline = time.monotonic() + 30  # generous: only "does it deliver at all" (a loaded machine is slow)
        while not self._arrivals:  # the first block proves the room is delivering audio
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the room microphone delivered nothing in 30 s; is the keep-alive "
                                   "running? (scripts/virtual-room status)")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None

    def __enter__(self) -> RoomRecorder:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def audio(self) -> np.ndarray:
        with self._lock:
            return np.concatenate(self._blocks) if self._blocks else np.zeros(0, np.float32)

    def _offset(self) -> float:
        with self._lock:
            arr = np.array(self._arrivals, dtype=np.float64)
        if arr.size == 0:
            raise RuntimeError("nothing recorded yet")
        return float(np.min(arr[:, 0] - arr[:, 1] / self.rate))

    def time_of_sample(self, i: int) -> float:
        """When sample ``i`` was in the room, on the time.monotonic() clock (never too early)."""
        return self._offset() + i / self.rate

    def sample_at(self, t: float) -> int:
        """The index of the sample recorded at monotonic time ``t`` (inverse of time_of_sample)."""
        return max(0, int(round((t - self._offset()) * self.rate)))

    def wait_for_samples(self, t: float, timeout: float = 30.0) -> None:
        """Block until audio up to monotonic time ``t`` has been recorded."""
        deadline = time.monotonic() + timeout
        while self._count < self.sample_at(t) and time.monotonic() < deadline:
            time.sleep(0.01)


def _need(tool: str, package: str) -> str:
    exe = shutil.which(tool)
    if not exe:
        raise RuntimeError(f"{tool} is missing: sudo apt-get install {package}")
    return exe


def write_wav(path: str | Path, samples: np.ndarray, rate: int) -> Path:
    x = np.asarray(samples)
    if x.dtype != np.int16:
        x = np.clip(np.round(x.astype(np.float64) * 32767), -32768, 32767).astype(np.int16)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(rate))
        w.writeframes(x.astype("<i2").tobytes())
    return Path(path)


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """(float32 mono samples in [-1, 1], rate)."""
    with wave.open(str(path), "rb") as w:
        rate, ch, n = w.getframerate(), w.getnchannels(), w.getnframes()
        x = np.frombuffer(w.readframes(n), dtype="<i2").astype(np.float32) / 32768.0
    if ch > 1:
        x = x.reshape(-1, ch).mean(axis=1)
    return x, rate


def play_into_room(wav_path_or_array, rate: int | None = None, blocking: bool = True):
    """Play into the room from a separate process (``paplay``), as a person in the room would.

    Takes a WAV path, or an array (float in [-1, 1] or int16) with its ``rate``. Blocking: returns
    the finished CompletedProcess. Non-blocking: returns the running Popen (wait() or terminate()).
    """
    paplay = _need("paplay", "pulseaudio-utils")
    tmp = None
    if isinstance(wav_path_or_array, (str, Path)):
        path = str(wav_path_or_array)
    else:
        if rate is None:
            raise ValueError("give the rate of the samples")
        fd, tmp = tempfile.mkstemp(prefix="room-", suffix=".wav")
        os.close(fd)
        write_wav(tmp, wav_path_or_array, rate)
        path = tmp
    cmd = [paplay, "--latency-msec=20", "--client-name=room-person", path]
    if blocking:
        try:
            return subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        finally:
            if tmp:
                os.unlink(tmp)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if tmp:  # paplay opened the file at start; unlink after it has it
        threading.Thread(target=lambda: (proc.wait(), os.unlink(tmp)), daemon=True).start()
    return proc


def espeak_wav(text: str, path: str | Path, voice: str = "en-us", speed: int = 160) -> Path:
    """Synthesize ``text`` with the espeak-ng program into a 22,050 Hz WAV (test speech)."""
    exe = _need("espeak-ng", "espeak-ng")
    subprocess.run([exe, "-v", voice, "-s", str(speed), "-w", str(path), "--", text],
                   check=True, capture_output=True, timeout=60)
    return Path(path)
