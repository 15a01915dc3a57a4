"""Audio devices: discovery, choice by name or index, a rate each device accepts, resampling.

Shared by speech (the speaker) and hearing (the microphone). Everything a user can fix (no device,
a name that matches nothing, PortAudio missing) is a :class:`~voice_coach.errors.DeviceError`
whose message lists what *is* there, so nobody has to read a traceback.

PortAudio scans devices once, when it is initialised (at ``import sounddevice``): a device plugged
in later, or a ``PULSE_SERVER`` set later, is seen only after :func:`rescan`.

Resampling uses PyAV's ``AudioResampler`` (FFmpeg's libswresample, a proper band-limited
resampler), which faster-whisper already brings in; no hand-written filter.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from voice_coach import native_logs
from voice_coach.errors import DeviceError

log = logging.getLogger(__name__)

Kind = Literal["input", "output"]


@dataclass(frozen=True)
class DeviceInfo:
    index: int
    name: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    hostapi: str

    def to_dict(self) -> dict:
        return asdict(self)


def _sd():
    """Import sounddevice lazily: a missing PortAudio library becomes a clear DeviceError."""
    native_logs.install()  # before PortAudio starts: ALSA/JACK chatter goes to the log
    try:
        import sounddevice
    except OSError as exc:  # sounddevice raises OSError when libportaudio cannot be loaded
        raise DeviceError(
            f"PortAudio is not available ({exc}). Install it: sudo apt-get install libportaudio2"
        ) from None
    return sounddevice


def rescan() -> None:
    """Re-initialise PortAudio so hot-plugged devices and a changed PULSE_SERVER are seen.

    Uses sounddevice's ``_terminate``/``_initialize`` (the documented way to re-scan). Do not call
    it while any stream of this process is open: PortAudio closes them all.
    """
    sd = _sd()
    sd._terminate()
    sd._initialize()


def list_devices() -> list[DeviceInfo]:
    """Every device PortAudio sees, in index order."""
    sd = _sd()
    try:
        hostapis = [h["name"] for h in sd.query_hostapis()]
        raw = sd.query_devices()
    except sd.PortAudioError as exc:
        raise DeviceError(f"cannot list audio devices: {exc}") from None
    return [
        DeviceInfo(
            index=int(d["index"]),
            name=str(d["name"]),
            max_input_channels=int(d["max_input_channels"]),
            max_output_channels=int(d["max_output_channels"]),
            default_samplerate=float(d["default_samplerate"]),
            hostapi=hostapis[d["hostapi"]] if 0 <= d["hostapi"] < len(hostapis) else str(d["hostapi"]),
        )
        for d in raw
    ]


def _channels(dev: DeviceInfo, kind: Kind) -> int:
    return dev.max_input_channels if kind == "input" else dev.max_output_channels


def _describe(devices: list[DeviceInfo], kind: Kind) -> str:
    usable = [d for d in devices if _channels(d, kind) > 0]
    if not usable:
        return f"PortAudio sees no {kind} device at all"
    return f"{kind} devices: " + ", ".join(f"{d.index} '{d.name}'" for d in usable)


def _default_index(kind: Kind) -> int:
    sd = _sd()
    pair = sd.default.device
    idx = pair[0] if kind == "input" else pair[1]
    if idx is None or idx < 0:
        try:  # PortAudio's own default when sounddevice has none set
            idx = int(sd.query_devices(kind=kind)["index"])
        except (sd.PortAudioError, ValueError, KeyError):
            return -1
    return int(idx)


def _resolve(spec: str | int | None, kind: Kind) -> DeviceInfo:
    devices = list_devices()
    usable = [d for d in devices if _channels(d, kind) > 0]
    hint = f"({_describe(devices, kind)}); run 'voice-coach devices' to see them"
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        idx = _default_index(kind)
        for d in usable:
            if d.index == idx:
                return d
        if usable:  # no declared default, but something usable exists: take the first
            return usable[0]
        raise DeviceError(f"no {kind} device found {hint}. Connect a "
                          f"{'microphone' if kind == 'input' else 'speaker or headphones'} and try again.")
    text = str(spec).strip()
    if isinstance(spec, int) or text.lstrip("-").isdigit():
        idx = int(text)
        for d in devices:
            if d.index == idx:
                if _channels(d, kind) > 0:
                    return d
                raise DeviceError(f"device {idx} '{d.name}' has no {kind} channels {hint}")
        raise DeviceError(f"no {kind} device with index {idx} {hint}")
    low = text.lower()
    ranked = sorted(
        (d for d in usable if low in d.name.lower()),
        key=lambda d: (d.name.lower() != low, not d.name.lower().startswith(low), d.index),
    )
    if ranked:
        return ranked[0]
    raise DeviceError(f"no {kind} device found matching '{text}' {hint}")


def resolve_output(spec: str | int | None) -> DeviceInfo:
    """The output device for ``spec``: an index, a name fragment, or ''/None for the default."""
    return _resolve(spec, "output")


def resolve_input(spec: str | int | None) -> DeviceInfo:
    """The input device for ``spec``: an index, a name fragment, or ''/None for the default."""
    return _resolve(spec, "input")


def open_rate(device: DeviceInfo, wanted: int, kind: Kind) -> int:
    """A sample rate ``device`` accepts: ``wanted`` if it can, else its default (callers resample).

    Many USB microphones and Pi codecs only do 44.1/48 kHz (PortAudio error -9997).
    """
    sd = _sd()
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    for rate in (int(wanted), int(round(device.default_samplerate))):
        try:
            check(device=device.index, samplerate=rate, channels=1, dtype="int16")
            return rate
        except (sd.PortAudioError, ValueError) as exc:
            log.debug("device %s refuses %s Hz: %s", device.index, rate, exc)
    raise DeviceError(
        f"{kind} device {device.index} '{device.name}' accepts neither {wanted} Hz nor its default "
        f"{device.default_samplerate:g} Hz (mono, 16-bit); run 'voice-coach devices'"
    )


# ---------------------------------------------------------------------------------------- resampling

_FORMATS = {np.dtype(np.int16): "s16", np.dtype(np.float32): "flt"}


class StreamResampler:
    """Resample a stream chunk by chunk (keeps filter state between chunks), mono int16 or float32."""

    def __init__(self, from_rate: int, to_rate: int, dtype: np.dtype | type = np.int16):
        import av

        self.from_rate, self.to_rate = int(from_rate), int(to_rate)
        self.dtype = np.dtype(dtype)
        if self.dtype not in _FORMATS:
            raise ValueError(f"unsupported sample type {self.dtype}; use int16 or float32")
        self._fmt = _FORMATS[self.dtype]
        self._av = av
        self._r = av.AudioResampler(format=self._fmt, layout="mono", rate=self.to_rate)

    def _collect(self, frames) -> np.ndarray:
        parts = [f.to_ndarray().reshape(-1) for f in frames]
        return np.concatenate(parts).astype(self.dtype, copy=False) if parts else np.zeros(0, self.dtype)

    def process(self, chunk: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(np.asarray(chunk, dtype=self.dtype).reshape(1, -1))
        if x.shape[1] == 0:
            return np.zeros(0, self.dtype)
        frame = self._av.AudioFrame.from_ndarray(x, format=self._fmt, layout="mono")
        frame.sample_rate = self.from_rate
        return self._collect(self._r.resample(frame))

    def flush(self) -> np.ndarray:
        """The samples still held in the filter; call once at the end of the stream."""
        return self._collect(self._r.resample(None))


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample a whole mono signal (int16 or float32; the type is kept). Length scales exactly."""
    x = np.asarray(samples)
    if x.dtype not in _FORMATS:
        x = x.astype(np.float32)
    if int(from_rate) == int(to_rate) or x.size == 0:
        return x.copy()
    r = StreamResampler(from_rate, to_rate, x.dtype)
    y = np.concatenate([r.process(x), r.flush()])
    want = int(round(x.size * int(to_rate) / int(from_rate)))
    if y.size < want:  # very short inputs: the filter may hold back a few samples
        y = np.concatenate([y, np.zeros(want - y.size, y.dtype)])
    return y[:want]
