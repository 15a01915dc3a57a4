"""A stop signal never cuts a history write from its bookkeeping: it is acted on right after."""

from __future__ import annotations

import os
import signal
import time

import pytest

from voice_coach.runner import _install_signal_handlers, _Interrupted, signals_held


def test_a_sigterm_during_a_held_block_is_raised_right_after_it():
    done = []
    restore = _install_signal_handlers()
    try:
        with pytest.raises(_Interrupted) as caught:
            with signals_held():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.05)  # the Python handler would run here, between two bytecodes
                done.append("written")
                done.append("taken off the queue")
            done.append("after the block")
    finally:
        restore()
    assert caught.value.signum == signal.SIGTERM
    assert done == ["written", "taken off the queue"]


def test_without_a_held_block_the_signal_ends_at_once():
    restore = _install_signal_handlers()
    try:
        with pytest.raises(_Interrupted):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
    finally:
        restore()
