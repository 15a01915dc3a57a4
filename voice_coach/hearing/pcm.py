"""Audio in any form -> 16 kHz mono int16 PCM, with libswresample (via PyAV, which faster-whisper
already depends on) rather than hand-written filters."""

from __future__ import annotations

from pathlib import Path

import av

from voice_coach.errors import UserError
from voice_coach.hearing.types import SAMPLE_RATE


def read_audio(path: str | Path) -> bytes:
    """Decode a WAV (any rate, mono or stereo; other formats PyAV reads work too) to 16 kHz PCM."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    out: list[bytes] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise UserError(f"{path}: has no audio")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(audio=0):
                out.extend(f.to_ndarray().tobytes() for f in resampler.resample(frame))
            out.extend(f.to_ndarray().tobytes() for f in resampler.resample(None))
    except UserError:
        raise
    except Exception as exc:  # PyAV raises many types for broken or non-audio files
        raise UserError(f"{path}: cannot read it as audio ({exc.__class__.__name__}: {exc})") from None
    return b"".join(out)
