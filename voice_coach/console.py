"""The terminal edge: what the coach says printed (as text or JSON lines), commands typed in."""

from __future__ import annotations

import json
import queue
import sys
import threading
from typing import TextIO

from voice_coach.session import actions as act
from voice_coach.session import events as ev
from voice_coach.vocabulary import Vocabulary


class InputClosed:
    """Put in the inbox when standard input ends."""


class TypedInput:
    """Reads one command per line from a stream in a daemon thread and posts engine events."""

    def __init__(self, inbox: queue.Queue, vocab: Vocabulary, stream: TextIO | None = None):
        self.inbox = inbox
        self.vocab = vocab
        self.stream = stream or sys.stdin
        self.thread = threading.Thread(target=self._read, name="typed-input", daemon=True)

    def start(self) -> TypedInput:
        self.thread.start()
        return self

    def _read(self) -> None:
        try:
            for line in self.stream:
                if not line.strip():
                    continue
                parsed = self.vocab.parse(line)
                if parsed is None:
                    self.inbox.put(ev.NotUnderstood())
                else:
                    self.inbox.put(ev.Heard(*parsed))
        except (OSError, ValueError):
            pass
        self.inbox.put(InputClosed())


class Printer:
    """Shows the session on a terminal: human-readable lines, or one JSON object a line."""

    def __init__(self, stream: TextIO | None = None, as_json: bool = False):
        self.stream = stream or sys.stdout
        self.as_json = as_json
        self.lock = threading.Lock()

    def show(self, action: act.Action, t: float) -> None:
        if self.as_json:
            line = json.dumps({"t": round(t, 3), **action.to_json()}, ensure_ascii=False)
        else:
            line = self._human(action)
        if line is None:
            return
        with self.lock:
            print(line, file=self.stream, flush=True)

    def notice(self, text: str, t: float) -> None:
        """A message from the program itself (not the coach), e.g. about a device."""
        if self.as_json:
            self.show(act.Say(text=text, key="", kind="notice"), t)
        else:
            with self.lock:
                print(f"[{text}]", file=self.stream, flush=True)

    @staticmethod
    def _human(action: act.Action) -> str | None:
        if isinstance(action, act.Say):
            return f"coach: {action.text}"
        if isinstance(action, act.StepStarted):
            return f"--- step {action.index + 1} of {action.total}: {action.title}"
        if isinstance(action, act.Ended):
            return f"--- session ended ({action.reason})"
        return None
