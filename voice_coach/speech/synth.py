"""Text -> PCM with pyttsx3 (espeak-ng on Linux), never through pyttsx3's own playback.

pyttsx3's ``save_to_file`` + ``runAndWait`` writes a 22,050 Hz mono 16-bit WAV. Two known traps:
``runAndWait`` may return before the file is complete, so we wait for the ``finished-utterance``
callback *and* check the WAV is whole; and on some Linux machines a later ``runAndWait`` never
returns (pyttsx3 #126). One engine serves the whole process (espeak initialises once per process),
behind a lock. Each synthesis runs in a short-lived worker thread joined with a deadline; if
pyttsx3 hangs or breaks, that worker is abandoned and this module switches, for the rest of the
process, to the documented fallback: the ``espeak-ng`` program (same engine, same voices).
"""

from __future__ import annotations

import atexit
import io
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import wave
from dataclasses import dataclass

import numpy as np

from voice_coach.errors import UserError

log = logging.getLogger(__name__)

SYNTH_RATE = 22050  # what espeak-ng produces

_lock = threading.Lock()
_engine = None
_finished = threading.Event()
_broken: str | None = None  # why pyttsx3 was given up, once it was
_voice_cache: dict[str, str] = {}


@dataclass(frozen=True)
class Voice:
    id: str
    name: str
    languages: tuple[str, ...]


class _DropSavedNotice(io.TextIOBase):
    """stdout proxy that drops pyttsx3's "Audio saved to ..." line.

    The espeak driver prints it from espeak's own synthesis thread (retrieval mode is
    asynchronous), so we filter that line by content and let everything else through.
    """

    def __init__(self, target):
        self._target = target
        self._eat_newline: set[int] = set()

    def write(self, s):
        ident = threading.get_ident()
        if s.startswith("Audio saved to "):
            self._eat_newline.add(ident)
            return len(s)
        if s == "\n" and ident in self._eat_newline:
            self._eat_newline.discard(ident)
            return len(s)
        return self._target.write(s)

    def flush(self):
        self._target.flush()


def _get_engine():
    global _engine
    if _engine is None:
        try:
            import pyttsx3
        except ImportError as exc:
            raise UserError(f"pyttsx3 is not installed ({exc}); run scripts/setup") from None
        try:
            _engine = pyttsx3.init()
        except (RuntimeError, OSError) as exc:
            raise UserError(
                f"the speech engine did not start ({exc}). Install espeak-ng: "
                "sudo apt-get install espeak-ng libespeak-ng1"
            ) from None
        _engine.connect("finished-utterance", lambda name=None, completed=True: _finished.set())
        atexit.register(_drop_engine)
    return _engine


def _drop_engine() -> None:
    """Let the engine go while modules still exist (pyttsx3's __del__ fails at interpreter teardown)."""
    global _engine
    _engine = None


def voices() -> list[Voice]:
    """The voices the engine offers."""
    with _lock:
        eng = _get_engine()
        return [Voice(v.id, v.name, tuple(v.languages or ())) for v in eng.getProperty("voices")]


def default_voice() -> str:
    with _lock:
        return str(_get_engine().getProperty("voice") or "")


def resolve_voice(spec: str) -> str:
    """A voice id for ``spec`` (an id, a name, or a fragment of either); '' -> the engine default."""
    spec = (spec or "").strip()
    if spec in _voice_cache:
        return _voice_cache[spec]
    if not spec:
        found = _voice_cache[spec] = _initial_default()
        return found
    low = spec.lower()
    vs = voices()
    for pick in (
        lambda v: v.id.lower() == low or v.name.lower() == low,
        lambda v: v.id.lower().endswith("/" + low),
        lambda v: low in v.id.lower() or low in v.name.lower(),
    ):
        hits = [v for v in vs if pick(v)]
        if hits:
            _voice_cache[spec] = hits[0].id
            return hits[0].id
    some = ", ".join(v.id for v in vs if "en" in v.id.split("/")[-1][:2])[:200]
    raise UserError(f"no voice matches speech.voice = '{spec}'. English voices include: {some} "
                    "(see 'espeak-ng --voices' for all)")


_default_id: str | None = None


def _initial_default() -> str:
    """The engine's voice before we ever changed it (later, the engine keeps our last choice)."""
    global _default_id
    if _default_id is None:
        _default_id = default_voice() or "gmw/en"
    return _default_id


def _read_wav(path: str) -> tuple[np.ndarray, int]:
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"unexpected sample width {w.getsampwidth()}")
        n = w.getnframes()
        raw = w.readframes(n)
        rate, ch = w.getframerate(), w.getnchannels()
    x = np.frombuffer(raw, dtype="<i2").astype(np.int16)
    if x.size != n * ch:
        raise ValueError(f"incomplete WAV: {x.size} of {n * ch} samples")
    if ch > 1:
        x = x.reshape(-1, ch).mean(axis=1).astype(np.int16)
    return x, rate


def _synth_pyttsx3(text: str, voice: str, rate: int, out_path: str) -> None:
    """Runs in a worker thread, holding the lock: one synthesis at a time per process."""
    eng = _get_engine()
    if voice:
        eng.setProperty("voice", voice)
    # Set twice: measured here, a single rate change was often applied one utterance late (the
    # previous rate was used); set twice, 75 of 75 random voice/rate renders matched espeak-ng -s.
    eng.setProperty("rate", int(rate))
    eng.setProperty("rate", int(rate))
    eng.setProperty("volume", 1.0)  # volume is applied at playback, so cached audio serves any volume
    _finished.clear()
    eng.save_to_file(text, out_path)
    old = sys.stdout
    sys.stdout = _DropSavedNotice(old)
    try:
        eng.runAndWait()
        # The real end of synthesis: the callback fired (from espeak's thread, after the file
        # was written) and the file is a whole WAV.
        if not _finished.wait(5.0):
            raise RuntimeError("pyttsx3 never reported finished-utterance")
    finally:
        if isinstance(sys.stdout, _DropSavedNotice):
            sys.stdout = old
    _read_wav(out_path)


def _synth_espeak_cli(text: str, voice: str, rate: int, out_path: str) -> None:
    exe = shutil.which("espeak-ng")
    if not exe:
        raise UserError("speech synthesis failed and espeak-ng is missing: sudo apt-get install espeak-ng")
    cmd = [exe, "-s", str(int(rate)), "-w", out_path]
    if voice:
        cmd += ["-v", voice]
    subprocess.run(cmd + ["--", text], check=True, capture_output=True, timeout=60)


def trim_silence(x: np.ndarray, rate: int, keep_tail_s: float = 0.05, floor: int = 8) -> np.ndarray:
    """Drop espeak's end-of-utterance pause (~0.3-0.4 s) but a short tail: it only delays "finished"
    (and so the listener and the next prompt)."""
    loud = np.flatnonzero(np.abs(x) > floor)
    if loud.size == 0:
        return x[:0]
    return x[: min(x.size, int(loud[-1]) + 1 + int(keep_tail_s * rate))]


def synthesize(text: str, voice: str, rate: int, timeout: float | None = None) -> tuple[np.ndarray, int]:
    """Render ``text`` to mono int16 PCM at the engine's rate (22,050 Hz). Not cached: see render()."""
    global _broken
    fd, path = tempfile.mkstemp(prefix="voice-coach-", suffix=".wav")
    os.close(fd)
    try:
        if _broken is None:
            deadline = timeout if timeout is not None else 10.0 + len(text) / 20.0
            result: list[BaseException | None] = []

            def work():
                try:
                    with _lock:
                        _synth_pyttsx3(text, voice, rate, path)
                    result.append(None)
                except BaseException as exc:  # reported to the caller below
                    result.append(exc)

            worker = threading.Thread(target=work, name="voice-coach-synth", daemon=True)
            worker.start()
            worker.join(deadline)
            if not result:
                _broken = f"pyttsx3 did not finish within {deadline:.0f} s (pyttsx3 #126)"
            elif isinstance(result[0], UserError):
                raise result[0]
            elif result[0] is not None:
                if isinstance(result[0], ValueError) and "voice" in str(result[0]).lower():
                    raise UserError(f"the voice '{voice}' cannot be used: {result[0]}") from None
                _broken = f"pyttsx3 failed: {result[0]!r}"
            else:
                x, sr = _read_wav(path)
                x = trim_silence(x, sr)
                if x.size or not any(ch.isalnum() for ch in text):
                    return x, sr
                # pyttsx3 #419: an utterance silently rendered as nothing. Never skip a prompt:
                # say this one with the espeak-ng program (same engine and voices).
                log.warning("pyttsx3 rendered %r as silence; using the espeak-ng program for it", text[:40])
            if _broken:
                log.warning("%s; using the espeak-ng program from now on", _broken)
        _synth_espeak_cli(text, voice, rate, path)
        x, sr = _read_wav(path)
        return trim_silence(x, sr), sr
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass


def fallback_reason() -> str | None:
    """Why pyttsx3 was given up in this process (None while it works)."""
    return _broken
