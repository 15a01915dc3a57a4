"""Speech out: synthesis (Piper, or pyttsx3) -> PCM, a prompt cache, and interruptible playback.

Public API: :class:`Speaker`, :class:`PlaybackEvent`, :func:`render`, :func:`write_wav`.
"""

from voice_coach.speech.cache import PromptCache
from voice_coach.speech.chimes import KINDS as CHIME_KINDS
from voice_coach.speech.events import ERROR, FINISHED, STARTED, STOPPED, PlaybackEvent
from voice_coach.speech.player import Speaker
from voice_coach.speech.render import render, write_wav

__all__ = [
    "CHIME_KINDS",
    "ERROR",
    "FINISHED",
    "STARTED",
    "STOPPED",
    "PlaybackEvent",
    "PromptCache",
    "Speaker",
    "render",
    "write_wav",
]
