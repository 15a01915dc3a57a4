"""The one place that builds the real edges (speaker, listener) from the settings.

Everything they report lands in one inbox queue: the listener's :class:`~voice_coach.hearing.Heard`
utterances and :class:`MicStatus` changes, the speaker's :class:`~voice_coach.speech.PlaybackEvent`
s. Whoever is in charge (a session's runner, the ``serve`` loop) reads that queue. Tests hand in the
virtual room's devices through the same arguments a user would give on the command line.
"""

from __future__ import annotations

import logging
import queue
import time
from dataclasses import dataclass, field

from voice_coach.echo import EchoMonitor
from voice_coach.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MicStatus:
    """The microphone went away ("lost") or works again ("back")."""

    state: str
    message: str = ""


@dataclass(frozen=True)
class TalkOver:
    """A voice rose above the coach's echo while it spoke; the speaker has already been stopped."""

    at: float  # time.monotonic()


@dataclass(frozen=True)
class VoiceIO:
    """The edges of a hands-free session. ``listener`` is None when listening is off."""

    speaker: object  # voice_coach.speech.Speaker
    listener: object | None  # voice_coach.hearing.Listener
    inbox: queue.Queue = field(default_factory=queue.Queue)
    echo: EchoMonitor | None = None

    def close(self) -> None:
        """Stop listening and speaking; no thread, stream or process is left behind."""
        if self.listener is not None:
            try:
                self.listener.stop()
            except Exception:  # closing must never hide the reason we are closing
                log.exception("closing the listener")
        try:
            self.speaker.close()
        except Exception:
            log.exception("closing the speaker")


def make_speaker(settings: Settings, inbox: queue.Queue, device: str | int | None = None):
    """The coach's voice; its playback events go to ``inbox``. DeviceError when there is no speaker."""
    from voice_coach.speech import Speaker

    return Speaker(settings.speech, device=device, on_event=inbox.put)


def make_listener(settings: Settings, inbox: queue.Queue, *, device: str | int | None = None,
                  echo: EchoMonitor | None = None):
    """A started listener whose utterances and device changes go to ``inbox``."""
    from voice_coach.hearing import Listener

    listener = Listener(settings.hearing, inbox.put, lambda state, message: inbox.put(MicStatus(state, message)),
                        device=device)
    if echo is not None:
        listener.block_filter = echo.block
    return listener.start()


def make_voice_io(settings: Settings, *, listen: bool = True, output_device: str | int | None = None,
                  input_device: str | int | None = None) -> VoiceIO:
    """Speaker and (if ``listen``) listener, wired to one inbox, with barge-in on talk-over."""
    inbox: queue.Queue = queue.Queue()
    speaker = make_speaker(settings, inbox, output_device)
    if not listen:
        return VoiceIO(speaker, None, inbox)

    def talkover() -> None:  # the listener's thread
        # Tell whoever is in charge first, so the speaker's "stopped" events that follow are known
        # to be a talk-over's (the cut sentence is held, not taken as said), then fall silent.
        inbox.put(TalkOver(time.monotonic()))
        speaker.stop()

    echo = EchoMonitor(speaker.played_levels, on_talkover=talkover)
    try:
        listener = make_listener(settings, inbox, device=input_device, echo=echo)
    except BaseException:
        speaker.close()
        raise
    return VoiceIO(speaker, listener, inbox, echo)
