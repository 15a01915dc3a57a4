"""Short chimes, generated here (no sound files to ship or download).

Each kind is distinct by ear: a rising two-note "step", a three-beep "timer", a soft tick when a
command is taken, and a loud alternating "alert" for ice limits.
"""

from __future__ import annotations

import numpy as np

KINDS = ("step", "timer", "command", "alert")


def _tone(freq: float, dur: float, rate: int, amp: float, decay: float = 6.0) -> np.ndarray:
    t = np.arange(int(dur * rate)) / rate
    env = np.exp(-decay * t / dur)
    attack = np.minimum(1.0, t / 0.005)  # 5 ms fade-in: no click
    release = np.minimum(1.0, (dur - t) / 0.01)  # 10 ms fade-out
    return amp * env * attack * release * np.sin(2 * np.pi * freq * t)


def _gap(dur: float, rate: int) -> np.ndarray:
    return np.zeros(int(dur * rate))


def chime(kind: str, rate: int = 22050) -> np.ndarray:
    """The chime ``kind`` as mono int16 at ``rate``. Unknown kinds raise ValueError."""
    if kind == "step":
        parts = [_tone(660, 0.14, rate, 0.35), _tone(880, 0.22, rate, 0.35)]
    elif kind == "timer":
        parts = [_tone(1000, 0.12, rate, 0.4, 3), _gap(0.08, rate)] * 2 + [_tone(1000, 0.2, rate, 0.4, 3)]
    elif kind == "command":
        parts = [_tone(1200, 0.06, rate, 0.2, 4)]
    elif kind == "alert":
        parts = [_tone(880, 0.18, rate, 0.9, 1.5), _tone(1320, 0.18, rate, 0.9, 1.5)] * 3
    else:
        raise ValueError(f"unknown chime {kind!r}; the kinds are {', '.join(KINDS)}")
    x = np.concatenate(parts)
    return np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)
