"""ALSA's and JACK's own messages go to the log, not into the user's terminal.

PortAudio's ALSA and JACK back ends print from C straight to stderr ("ALSA lib pcm.c:8740:
(snd_pcm_recover) underrun occurred", "jack server is not running or cannot be started"), which
mixes into a session's output. Both libraries let a program install its own message handler
(``snd_lib_error_set_handler``, ``jack_set_error_function``); ours logs at DEBUG, so ``-vv``
shows them. :func:`install` runs once, before PortAudio initialises.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import logging
import re
import threading

log = logging.getLogger("voice_coach.alsa")

# void handler(const char *file, int line, const char *function, int err, const char *fmt, ...)
# The first variadic argument arrives where a sixth fixed one would (x86-64 and arm64 Linux ABIs),
# so a "%s" at the start of fmt ("%s occurred") can be filled in; the rest stays as the template.
_ALSA_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                                 ctypes.c_char_p, ctypes.c_void_p)
_JACK_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_char_p)
_FIRST_CONVERSION = re.compile(r"%[-+ #0-9.]*[a-zA-Z]")
_lock = threading.Lock()
_installed = False
_keep: list = []  # the C side holds only raw pointers: keep the callbacks alive


def _text(b: bytes | None) -> str:
    return b.decode("utf-8", "replace") if b else ""


def _first_is_string(fmt: str) -> re.Match | None:
    m = _FIRST_CONVERSION.search(fmt.replace("%%", "\0\0"))  # same length: the indices still fit
    return m if m and m.group(0) == "%s" else None


def format_alsa(fmt: str, first_arg: bytes | None) -> str:
    """Fill the first conversion of ALSA's template when it is a string ("%s occurred")."""
    m = _first_is_string(fmt)
    if m and first_arg is not None:
        return fmt[:m.start()] + _text(first_arg) + fmt[m.end():]
    return fmt


def _on_alsa(file, line, function, err, fmt, arg):
    try:
        template = _text(fmt)
        first = ctypes.string_at(arg) if arg and _first_is_string(template) else None
        log.debug("ALSA %s:%d (%s) %s%s", _text(file), line, _text(function), format_alsa(template, first),
                  f": error {err}" if err else "")
    except Exception:  # never raise into C
        pass


def _on_jack(msg):
    try:
        log.debug("JACK: %s", _text(msg))
    except Exception:
        pass


def _load(name: str):
    path = ctypes.util.find_library(name)
    if not path:
        return None
    try:
        return ctypes.CDLL(path)
    except OSError:
        return None


def install() -> bool:
    """Route ALSA's and JACK's messages to the log (idempotent); False when neither library is here."""
    global _installed
    with _lock:
        if _installed:
            return True
        found = False
        asound = _load("asound")
        if asound is not None and hasattr(asound, "snd_lib_error_set_handler"):
            handler = _ALSA_HANDLER(_on_alsa)
            asound.snd_lib_error_set_handler(handler)
            _keep.extend((asound, handler))
            # PortAudio is terminated by sounddevice's own atexit hook, registered after this one
            # and so run before it: then ALSA gets its default handler back before Python goes.
            atexit.register(asound.snd_lib_error_set_handler, None)
            found = True
        jack = _load("jack")
        if jack is not None and hasattr(jack, "jack_set_error_function"):
            handler = _JACK_HANDLER(_on_jack)
            jack.jack_set_error_function(handler)
            if hasattr(jack, "jack_set_info_function"):
                jack.jack_set_info_function(handler)
            _keep.extend((jack, handler))
            found = True
        _installed = True
        return found
