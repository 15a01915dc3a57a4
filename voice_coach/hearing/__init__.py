"""Speech in: capture -> VAD -> command recognizer (Vosk or faster-whisper), one interface.

``make_recognizer(settings.hearing)`` builds the engine; :class:`Listener` runs it live on a
microphone; :func:`recognize_wav` runs it on files.
"""

from voice_coach.hearing.types import CommandRecognizer, Heard
from voice_coach.hearing.factory import make_recognizer
from voice_coach.hearing.wav import recognize_wav

__all__ = ["CommandRecognizer", "Heard", "Listener", "make_recognizer", "recognize_wav"]


def __getattr__(name):  # the Listener pulls in sounddevice (PortAudio scan): import it on demand
    if name == "Listener":
        from voice_coach.hearing.listener import Listener

        return Listener
    raise AttributeError(name)
