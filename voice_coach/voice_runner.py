"""The hands-free runner: the speaker and the microphone as engine events.

It adds to :class:`~voice_coach.runner.Runner` what only a voice session has:
- the speaker's real playback events become ``SpeechDone`` (timers gate on these, never on an
  estimate of how long speech takes);
- recognized utterances pass the :class:`~voice_coach.echo.CommandGate` (the coach must not obey
  its own voice) before they become commands;
- talk-over: the echo monitor has already silenced the coach; what was said is acted on when it
  is a command, and otherwise the session pauses (the safe reading of someone talking over the
  coach), so the cut sentence is said again on "resume", never lost;
- the microphone's coming and going pauses the session and says so.
"""

from __future__ import annotations

import logging
import queue
import time

from voice_coach.echo import CommandGate, EchoMonitor
from voice_coach.factory import MicStatus, TalkOver
from voice_coach.hearing.types import Heard
from voice_coach.runner import Runner, SilentVoice
from voice_coach.session import actions as act
from voice_coach.session import events as ev
from voice_coach.session.commands import Command
from voice_coach.speech import ERROR, STARTED, STOPPED, PlaybackEvent

log = logging.getLogger(__name__)

VERDICT_WAIT_S = 2.5  # after a talk-over, how long to wait for the recognizer before pausing anyway


class SpeakerVoice:
    """The runner's Voice over a real Speaker; playback events arrive through the inbox."""

    def __init__(self, speaker):
        self.speaker = speaker
        self.texts: dict[str, str] = {}  # key -> text, to say a cut sentence again
        self.stopping = False  # the runner itself asked for silence

    def say(self, text: str, key: str) -> None:
        self.texts[key] = text
        self.speaker.say(text, key)

    def chime(self, kind: str) -> None:
        self.speaker.chime(kind)

    def stop(self) -> None:
        self.stopping = True
        self.speaker.stop()

    def adjust(self, rate: int, volume: int) -> None:
        if rate:
            self.speaker.adjust_rate(rate)
        if volume:
            self.speaker.adjust_volume(volume)

    def close(self) -> None:
        self.speaker.close()


class VoiceRunner(Runner):
    def __init__(self, engine, io, *, printer, time_scale: float = 1.0, recorder=None, on_action=None,
                 gate: CommandGate | None = None):
        self.io = io
        self.speaker_voice = SpeakerVoice(io.speaker)
        super().__init__(engine, self.speaker_voice, io.inbox, printer=printer, time_scale=time_scale,
                         recorder=recorder, on_action=on_action)
        self.end_on_input_closed = False
        self.gate = gate or CommandGate()
        self.echo: EchoMonitor | None = io.echo
        self.talkover_at: float | None = None
        self.held: list[str] = []  # keys cut by a talk-over, to say again or release
        self.expected: tuple | None = None
        self.latencies: list[float] = []  # end of speech -> command handed to the engine (s)

    # ----- timing ---------------------------------------------------------------------------------

    def _wait_seconds(self) -> float | None:
        wait = super()._wait_seconds()
        if self.talkover_at is not None:
            left = max(0.0, self.talkover_at + VERDICT_WAIT_S - time.monotonic())
            wait = left if wait is None else min(wait, left)
        return wait

    def _next_events(self) -> list[ev.Event]:
        events = super()._next_events()
        if self.talkover_at is not None and time.monotonic() >= self.talkover_at + VERDICT_WAIT_S:
            log.info("talk-over, and nothing heard after it: pausing")
            events = events + [ev.Heard(Command.PAUSE)] + self._release_held()
        return events

    # ----- inbox items --------------------------------------------------------------------------

    def translate(self, item) -> list[ev.Event]:
        if isinstance(item, PlaybackEvent):
            return self._playback(item)
        if isinstance(item, Heard):
            return self._heard(item)
        if isinstance(item, TalkOver):
            self.talkover_at = item.at
            self.speaker_voice.stopping = False
            self.printer.notice("heard a voice over the coach: stopped speaking", self.now())
            return []
        if isinstance(item, MicStatus):
            log.info("microphone %s: %s", item.state, item.message)
            if item.state == "lost":
                self.printer.notice(f"microphone lost: {item.message}", self.now())
                return [ev.MicrophoneLost(item.message)]
            if item.state == "back":
                self.printer.notice(f"microphone back: {item.message}", self.now())
                return [ev.MicrophoneBack()]
            return []
        return super().translate(item)

    def _playback(self, e: PlaybackEvent) -> list[ev.Event]:
        if e.kind == STARTED:
            return []
        if e.kind == ERROR and e.detail and self.voice is self.speaker_voice:  # said once: then text
            log.warning("the speaker failed: %s", e.detail)
            self.printer.notice(f"the speaker failed ({e.detail}); going on in text", self.now())
            self.voice = SilentVoice(self.inbox)
        if not e.key.startswith("u"):  # a chime, not one of the engine's utterances
            return []
        self.printer.show(act.Spoken(e.key, completed=e.kind not in (STOPPED, ERROR)), self.now())
        if e.kind == STOPPED and self.talkover_at is not None and not self.speaker_voice.stopping:
            self.held.append(e.key)  # cut by a talk-over: wait for the verdict
            return []
        return [ev.SpeechDone(e.key)]

    def _heard(self, h: Heard) -> list[ev.Event]:
        if self.talkover_at is not None:
            return self._verdict(h)
        duration = max(0.0, h.end - h.start)
        overlap = 0.0
        if self.echo is not None and h.ended_at is not None:
            overlap = self.echo.overlap(h.ended_at - duration, h.ended_at)
        verdict = self.gate.decide(h.command, duration=duration, echo_overlap=overlap,
                                   numbers_expected=self.engine.expects()[1])
        log.info("heard %r (%s, %.2f s, %.2f s over the coach's voice): %s%s", h.text,
                 h.command and h.command.value, duration, overlap, verdict.action,
                 f" ({verdict.why})" if verdict.why else "")
        if verdict.action == "drop":
            return []
        self._note_latency(h)
        if verdict.action == "sorry":
            return [ev.NotUnderstood()]
        self.io.speaker.chime("command")
        return [ev.Heard(h.command, h.number)]

    def _verdict(self, h: Heard) -> list[ev.Event]:
        """What made the coach fall silent. Heard as a command, it is acted on; anything else (a
        word lost under the coach's voice, a cough) pauses the session: pausing is always safe,
        and "resume" is one word away."""
        understood = h.command is not None and (h.command is not Command.NUMBER or self.engine.expects()[1])
        log.info("talk-over was %r (%s)", h.text, h.command.value if understood else "no command: pausing")
        self._note_latency(h)
        self.io.speaker.chime("command")
        event = ev.Heard(h.command, h.number) if understood else ev.Heard(Command.PAUSE)
        if event.command in (Command.PAUSE, Command.STOP):
            return [event] + self._release_held()
        self._say_again()
        return [event]

    def _release_held(self) -> list[ev.Event]:
        held = [ev.SpeechDone(k) for k in self.held]
        self.held = []
        self.talkover_at = None
        return held

    def _note_latency(self, h: Heard) -> None:
        if h.ended_at is not None:
            total = time.monotonic() - h.ended_at
            self.latencies.append(total)
            handed = sum(v for k, v in h.stages if k in ("hangover", "queue", "recognizer"))
            parts = [(k, v) for k, v in h.stages] + [("to the engine", max(0.0, total - handed))]
            log.info("timing (ms): %s; total %.0f", ", ".join(f"{k} {1000 * v:.0f}" for k, v in parts),
                     1000 * total)

    def _say_again(self) -> None:
        for key in self.held:
            self.speaker_voice.say(self.speaker_voice.texts.get(key, ""), key)
        self.held = []
        self.talkover_at = None

    # ----- after each batch of actions, tell the recognizer what makes sense now ----------------

    def _perform(self, actions: list[act.Action]) -> None:
        super()._perform(actions)
        expected = self.engine.expects()
        if self.io.listener is not None and expected != self.expected:
            self.expected = expected
            self.io.listener.set_allowed(*expected)


def drain(inbox: queue.Queue) -> None:
    """Forget whatever is waiting in ``inbox`` (e.g. what was heard before a session starts)."""
    while True:
        try:
            inbox.get_nowait()
        except queue.Empty:
            return
