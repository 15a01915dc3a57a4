"""Wires one session from the settings: routine, engine, edges (console, speaker, listener, history).

This is the single place that decides which real components a session uses, so tests can run the
same path with the virtual room's devices.
"""

from __future__ import annotations

import logging
import queue
import sys

from voice_coach import routines
from voice_coach.console import Printer, TypedInput
from voice_coach.runner import Runner, SilentVoice
from voice_coach.session.engine import SessionEngine
from voice_coach.settings import Settings
from voice_coach.vocabulary import vocabulary

log = logging.getLogger(__name__)


def run_from_cli(args, conf: Settings) -> int:
    routine = routines.find(args.routine or conf.session.default_routine)
    ask_pain = conf.session.ask_pain and not args.no_pain
    inbox: queue.Queue = queue.Queue()
    printer = Printer(as_json=args.json)
    engine = SessionEngine(routine, ask_pain=ask_pain)
    TypedInput(inbox, vocabulary("en")).start()
    voice = SilentVoice(inbox)
    runner = Runner(engine, voice, inbox, printer=printer, time_scale=args.time_scale)
    reason = runner.run()
    voice.close()
    return 0 if reason in ("finished", "stopped", "red_flag") else 1
