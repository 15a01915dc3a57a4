"""Drive a real ``voice-coach run`` in the virtual room: read its JSON event stream, speak to it.

The coach runs as its own process (speaker and microphone are the room's default devices); the
"person" is a second player that plays synthesized words into the room.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import roomkit


class CoachProcess:
    def __init__(self, *args: str, env: dict | None = None, stderr_path: Path | None = None):
        self.stderr_path = stderr_path
        self._err = open(stderr_path, "w") if stderr_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "voice_coach", "-v", "run", *args, "--json"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._err, text=True,
            env={**os.environ, **(env or {})})
        self.t0 = time.monotonic()
        self.events: list[dict] = []
        self._cv = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            event = json.loads(line)
            event["_at"] = time.monotonic()
            with self._cv:
                self.events.append(event)
                self._cv.notify_all()
        with self._cv:
            self._cv.notify_all()

    def wait_for(self, predicate, timeout: float = 90.0, after: int = 0) -> dict:
        """The first event (from index ``after``) that satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                for e in self.events[after:]:
                    if predicate(e):
                        return e
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._more()):
                    tail = "\n".join(json.dumps(e)[:160] for e in self.events[-12:])
                    raise AssertionError(f"the coach never did what was expected; its last events:\n{tail}"
                                         f"\n{self.log_tail()}")
                self._cv.wait(min(left, 0.5))

    def _more(self) -> bool:
        return False

    def mark(self) -> int:
        with self._cv:
            return len(self.events)

    def quiet(self, timeout: float = 90.0, settle: float = 0.6) -> None:
        """Wait until everything the coach said has been played out and it has said nothing new
        for ``settle`` seconds (a person waits for the coach to finish before speaking)."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                said = {e["key"] for e in self.events if e["type"] == "say" and e.get("key", "").startswith("u")}
                done = {e["key"] for e in self.events if e["type"] == "spoken"}
                last = self.events[-1]["_at"] if self.events else self.t0
                if said <= done and time.monotonic() - last >= settle:
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the coach is still speaking {sorted(said - done)}")
                self._cv.wait(min(left, 0.1))

    def of_type(self, kind: str) -> list[dict]:
        with self._cv:
            return [e for e in self.events if e["type"] == kind]

    def log_tail(self, lines: int = 15) -> str:
        if not self.stderr_path or not Path(self.stderr_path).exists():
            return ""
        text = Path(self.stderr_path).read_text(errors="replace").splitlines()
        return "stderr:\n" + "\n".join(l for l in text if not l.startswith(("DEBUG", "ALSA")))[-3000:]

    def close(self, timeout: float = 30.0) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise
        finally:
            if self._err is not subprocess.DEVNULL:
                self._err.close()


class Person:
    """The person on the floor: says words into the room with a synthetic voice."""

    def __init__(self, folder: Path, voice: str = "en-us", speed: int = 150):
        self.folder = folder
        self.voice = voice
        self.speed = speed

    def wav(self, text: str) -> Path:
        path = self.folder / f"{self.voice}-{self.speed}-{text.replace(' ', '_')}.wav"
        if not path.exists():
            roomkit.espeak_wav(text, path, voice=self.voice, speed=self.speed)
        return path

    def say(self, text: str) -> float:
        """Play ``text`` into the room; returns the time.monotonic() at which the word's sound
        ended (espeak-ng ends its files with a stretch of silence, which is left out)."""
        path = self.wav(text)
        roomkit.play_into_room(path)
        return time.monotonic() - trailing_silence(path)


class RecordedPerson(Person):
    """Real people instead of a synthetic voice: each ``say(word)`` plays the next recording of
    ``word`` from ``clips`` (a folder laid out like ../shared/speech-dev: WORD/*.wav), so every
    try is another speaker or take; words with no recording are said by the synthetic voice."""

    def __init__(self, folder: Path, clips: Path, voice: str = "en-us", speed: int = 150):
        super().__init__(folder, voice, speed)
        self.clips = Path(clips)
        self._turn: dict[str, int] = {}
        self.said: list[tuple[str, str]] = []  # (word, file played), in order

    def recordings(self, text: str) -> list[Path]:
        return sorted((self.clips / text).glob("*.wav")) if (self.clips / text).is_dir() else []

    def wav(self, text: str) -> Path:
        """The recording ``say(text)`` played last (the first one before any), or the synthetic voice."""
        clips = self.recordings(text)
        if not clips:
            return super().wav(text)
        return self.ended(clips[max(0, self._turn.get(text, 0) - 1) % len(clips)])

    def say(self, text: str) -> float:
        if self.recordings(text):
            self._turn[text] = self._turn.get(text, 0) + 1
        path = self.wav(text)
        self.said.append((text, str(path)))
        roomkit.play_into_room(path)
        return time.monotonic() - trailing_silence(path)

    def ended(self, clip: Path) -> Path:
        """The clip with its recording noise after the last word replaced by 0.3 s of silence, so that
        the end of the word can be read off the room (the clip's start is left as it is)."""
        out = self.folder / f"real-{clip.parent.name}-{clip.name}"
        if not out.exists():
            x, rate = roomkit.read_wav(clip)
            db = roomkit.window_db(x, rate, 10.0)
            loud = np.flatnonzero(db > db.max() - 30.0)
            end = min(x.size, (int(loud[-1]) + 4) * rate // 100)  # 30 ms after the last loud window
            y = np.concatenate([np.asarray(x[:end], np.float64), np.zeros(int(0.3 * rate))])
            roomkit.write_wav(out, y, rate)
        return out


def trailing_silence(path: Path, threshold_db: float = -50.0) -> float:
    """Seconds of silence at the end of a WAV file."""
    samples, rate = roomkit.read_wav(path)
    x = np.abs(np.asarray(samples, dtype=np.float64))  # in [-1, 1]
    loud = np.nonzero(x > 10 ** (threshold_db / 20))[0]
    return (x.size - (loud[-1] + 1 if loud.size else 0)) / rate
