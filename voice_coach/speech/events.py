"""What the speaker reports. The listener gates on these real events, never on an estimate."""

from __future__ import annotations

from dataclasses import dataclass

STARTED = "started"  # the first sample went to the device
FINISHED = "finished"  # played to the end; sent after the stream drained
STOPPED = "stopped"  # cut by stop() (or dropped from the queue by it before it started)
ERROR = "error"  # could not be played (device lost, bad voice); see detail


@dataclass(frozen=True)
class PlaybackEvent:
    key: str
    kind: str  # STARTED | FINISHED | STOPPED | ERROR
    at: float  # time.monotonic()
    detail: str = ""
