#!/usr/bin/env python3
"""Speech-out benchmark in the virtual room; prints markdown tables (medians over several runs).

    scripts/virtual-room start && nice -n 10 .venv/bin/python scripts/bench_speech_out.py \
        --engine piper|pyttsx3 [--threads 1] [--runs 7] [--only latency|intelligibility]

Times are measured from the room's microphone (what really came out), not from our own events:
- say -> first sample: from ``say()`` to the first recorded window above -45 dBFS, for a short
  one-sentence prompt (6 words) and a 20-word sentence, cached and uncached (uncached: a text never
  rendered before in this process, so the engine renders it while the clock runs);
- stop -> silence: from ``stop()`` to the end of the last recorded window above -50 dBFS;
- render time per second of speech (the engine alone, no cache) and CPU (% of one core) and peak
  RSS of this process while an utterance plays, cached and uncached (no recorder running).
Intelligibility: every distinct sentence of every built-in routine is said by the speaker, recorded
from the room's microphone and transcribed by faster-whisper tiny.en (beam 5, no prompt); word
error rate per sentence (jiwer, after lower-casing, dropping punctuation and spelling out numbers).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "room"))

WORDS = ("Now lie on your back with the roller under your shoulders and roll slowly down toward the "
         "middle of your back")  # 20 words
SHORT = "seconds left on this side."  # + a number word: a 6-word one-sentence prompt
NUMBERS = ("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
           "sixteen seventeen eighteen nineteen twenty").split()
SAFETY_WORDS = ("bladder", "bowel", "numb", "groin", "buttock", "weakness", "fever", "doctor", "emergency",
                "stop the session", "do not do this session", "skin")
_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
         "sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def room_env() -> None:
    if not os.environ.get("PULSE_SERVER"):
        out = subprocess.run([str(ROOT / "scripts" / "virtual-room"), "env"], capture_output=True,
                             text=True, check=True).stdout
        os.environ.update(dict(re.findall(r"^export (\w+)=(.*)$", out, flags=re.M)))


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _number_words(m: re.Match) -> str:
    n = int(m.group())
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    return m.group()


def normalise(text: str) -> str:
    """Lower case, numbers as words, no punctuation: "10 seconds." and "ten seconds" are the same."""
    text = text.lower().replace("-", " ").replace("’", "'")
    text = re.sub(r"\d+", _number_words, text)
    text = re.sub(r"[^a-z' ]+", " ", text).replace("okay", "ok")
    return " ".join(w.strip("'") for w in text.split())


def routine_sentences() -> list[tuple[str, bool]]:
    """(sentence, is_safety) for every distinct sentence the built-in routines say."""
    from voice_coach import routines
    from voice_coach.simulate import prompts

    safety: set[str] = set()
    seen: dict[str, None] = {}
    for path in routines.builtin_files():
        routine = routines.load_file(path, builtin=True)
        for step in routine.steps:
            if step.kind == "safety":
                for text in (step.say, step.stop_say):
                    safety.update(split_sentences(text))
        for text in prompts(routine):
            for s in split_sentences(text):
                seen.setdefault(s, None)
    return [(s, s in safety or any(w in s.lower() for w in SAFETY_WORDS)) for s in seen]


def split_sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.?!])\s+", text.strip()) if s]


class Events:
    def __init__(self):
        self.items: list = []
        self.cv = threading.Condition()

    def __call__(self, ev):
        with self.cv:
            self.items.append(ev)
            self.cv.notify_all()

    def wait(self, key, kind, timeout=60):
        with self.cv:
            self.cv.wait_for(lambda: any(e.key == key and e.kind == kind for e in self.items), timeout)
        return next((e for e in self.items if e.key == key and e.kind == kind), None)


def latency(settings, runs: int) -> dict[str, list[float]]:
    import numpy as np
    from roomkit import RoomRecorder, window_db

    from voice_coach.speech import FINISHED, STARTED, STOPPED, Speaker, render
    from voice_coach.speech.engines import engine_for

    def onset_after(rec, t, threshold=-45.0):
        i0 = rec.sample_at(t)
        db = window_db(rec.audio[i0:], rec.rate, 5)
        loud = np.flatnonzero(db > threshold)
        if not loud.size:
            return float("nan")
        # the end of the first loud 5 ms window: an upper bound of the onset, never below 0
        return max(0.0, rec.time_of_sample(i0 + (int(loud[0]) + 1) * rec.rate // 200) - t)

    res: dict[str, list[float]] = {}
    events = Events()
    engine = engine_for(settings)
    render("Okay.", settings)  # the voice's start-up (load, first inference) is once per process
    with Speaker(settings, on_event=events) as spk, RoomRecorder() as rec:
        for run in range(runs):
            for size in ("tiny", "short", "long"):
                for kind in ("uncached", "cached"):
                    if size == "tiny":
                        text = f"Set {NUMBERS[run % 20]} of twenty."
                    elif size == "short":
                        text = f"{NUMBERS[run % 20].capitalize()} {SHORT}"
                    else:
                        text = f"{WORDS} {NUMBERS[run % 20]} {run}" if kind == "uncached" else WORDS
                    if kind == "cached":
                        render(text, settings)
                    time.sleep(0.3)
                    t = time.monotonic()
                    key = spk.say(text)
                    events.wait(key, FINISHED)
                    time.sleep(0.15)
                    res.setdefault(f"{size} {kind}", []).append(onset_after(rec, t))
                    res.setdefault(f"{size} {kind} started", []).append(events.wait(key, STARTED).at - t)
            key = spk.say(f"{WORDS}. {WORDS} {run}.")  # uncached, two sentences: stop while rendering
            events.wait(key, STARTED)
            time.sleep(1.0 + 0.13 * run)
            t_stop = time.monotonic()
            spk.stop()
            events.wait(key, STOPPED)
            time.sleep(0.4)
            i = rec.sample_at(t_stop)
            db = window_db(rec.audio[i : rec.sample_at(t_stop + 0.35)], rec.rate, 5)
            loud = np.flatnonzero(db > -50)
            res.setdefault("stop", []).append(0.0 if loud.size == 0 else (loud[-1] + 1) * 0.005
                                              + rec.time_of_sample(i) - t_stop)

    for run in range(runs):  # the engine alone, no cache
        t = time.perf_counter()
        pieces = list(engine.sentences(f"{WORDS} {NUMBERS[(run + 7) % 20]}.", settings.rate))
        n = sum(p.size for p in pieces)
        res.setdefault("render", []).append((time.perf_counter() - t) / (n / engine.sample_rate))

    # CPU and memory while speaking (no recorder in this process)
    with Speaker(settings, on_event=events) as spk:
        for kind in ("cached", "uncached"):
            for n in range(3):
                text = " ".join([WORDS + "."] * 2) if kind == "cached" else f"{WORDS} {NUMBERS[n]}. {WORDS} {n}."
                if kind == "cached":
                    render(text, settings)
                key = spk.say(text, key=f"cpu-{kind}-{n}")
                c0, w0, peak = time.process_time(), time.monotonic(), rss_mb()
                while not any(e.key == key and e.kind == FINISHED for e in events.items):
                    peak = max(peak, rss_mb())
                    time.sleep(0.05)
                res.setdefault(f"cpu {kind}", []).append(100 * (time.process_time() - c0) / (time.monotonic() - w0))
                res.setdefault("rss", []).append(peak)
    return res


def intelligibility(settings, limit: int | None = None) -> list[tuple[str, bool, str, float, float]]:
    """(sentence, is_safety, heard, word error rate, dropout s) for every built-in sentence, said in
    the room. Dropout: how much longer the sentence took to play than its samples last (ALSA
    underruns on a loaded machine), above the smallest such excess (the stream's fixed tail)."""
    import jiwer
    import numpy as np
    from faster_whisper import WhisperModel
    from roomkit import RoomRecorder

    from voice_coach.hearing.whisper_engine import default_model_path
    from voice_coach.speech import FINISHED, STARTED, Speaker, render

    sentences = routine_sentences()[:limit]
    events = Events()
    spans = []
    with Speaker(settings, on_event=events) as spk, RoomRecorder() as rec:
        for i, (text, _) in enumerate(sentences):
            key = spk.say(text, key=f"s{i}")
            done = events.wait(key, FINISHED, timeout=120)
            start = events.wait(key, STARTED)
            spans.append((start.at - 0.15, done.at + 0.1) if done and start else None)
            time.sleep(0.25)
        time.sleep(0.3)
        audio = rec.audio
        bounds = [None if s is None else (rec.sample_at(s[0]), rec.sample_at(s[1])) for s in spans]
    excess = []
    for (text, _), span in zip(sentences, spans):
        x, sr = render(text, settings)  # from the cache: what was played
        excess.append(float("nan") if span is None else (span[1] - span[0] - 0.25) - x.size / sr)
    base = min(e for e in excess if e == e)
    model = WhisperModel(str(default_model_path()), device="cpu", compute_type="int8", cpu_threads=2)
    out = []
    for (text, safety), b, e in zip(sentences, bounds, excess):
        heard = ""
        if b is not None:
            clip = np.ascontiguousarray(audio[b[0] : b[1]], dtype=np.float32)
            segs, _ = model.transcribe(clip, language="en", beam_size=5, initial_prompt=None,
                                       condition_on_previous_text=False, vad_filter=False,
                                       without_timestamps=True, temperature=0.0)
            heard = " ".join(s.text.strip() for s in segs)
        ref, hyp = normalise(text), normalise(heard)
        out.append((text, safety, heard, jiwer.wer(ref, hyp) if hyp else 1.0, e - base))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", choices=("piper", "pyttsx3"), default="piper")
    ap.add_argument("--threads", type=int, default=1, help="Piper's CPU threads (speech.threads)")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--only", choices=("latency", "intelligibility"), default=None)
    ap.add_argument("--limit", type=int, default=None, help="only the first N sentences (a quick check)")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-speech-")
    os.environ["XDG_CACHE_HOME"] = tmp  # a fresh prompt cache: "uncached" really is
    room_env()
    from voice_coach import audio
    from voice_coach.settings import SpeechSettings
    from voice_coach.speech import synth
    from voice_coach.speech.engines import engine_for

    audio.rescan()
    settings = SpeechSettings(engine=args.engine, threads=args.threads)
    engine = engine_for(settings)
    if engine.engine != args.engine:
        print(f"bench_speech_out: asked for {args.engine}, but {engine.describe()} speaks; see the warning above",
              file=sys.stderr)
        return 2
    print(f"Speech out with the {engine.describe()}, rate {settings.rate} wpm, virtual room, "
          f"{os.cpu_count()} cores\n")

    if args.only != "intelligibility":
        r = latency(settings, args.runs)
        ms = lambda v: f"{1000 * statistics.median(v):.0f} ms"  # noqa: E731
        rng = lambda v: f"{1000 * min(v):.0f}–{1000 * max(v):.0f} ms"  # noqa: E731
        pct = lambda v: f"{statistics.median(v):.0f}% ({min(v):.0f}–{max(v):.0f}%)"  # noqa: E731
        print(f"{args.runs} runs, median (range)\n")
        print("| measure | median | range | goal |")
        print("|---|---|---|---|")
        for size, label in (("tiny", "one 4-word sentence"), ("short", "one 6-word sentence"),
                            ("long", "one 20-word sentence")):
            for kind, goal in (("uncached", "" if size == "long" else "<= 150 ms"), ("cached", "< 150 ms")):
                v = r[f"{size} {kind}"]
                print(f"| say -> first sample in the room, {kind}, {label} | {ms(v)} | {rng(v)} | {goal} |")
        print(f"| say -> `started` event, 6 words cached / uncached | {ms(r['short cached started'])} / "
              f"{ms(r['short uncached started'])} | | |")
        print(f"| stop() -> silence in the room (mid-sentence, next sentence rendering) | {ms(r['stop'])} | "
              f"{rng(r['stop'])} | <= 50 ms |")
        print(f"| render time per second of speech ({engine.engine}, {args.threads} thread(s)) | "
              f"{1000 * statistics.median(r['render']):.0f} ms/s | {1000 * min(r['render']):.0f}–"
              f"{1000 * max(r['render']):.0f} ms/s | |")
        print(f"| CPU while speaking, cached (playback only) | {pct(r['cpu cached'])} of a core | | |")
        print(f"| CPU while speaking, uncached (rendering while playing) | {pct(r['cpu uncached'])} of a core | | |")
        print(f"| peak RSS while speaking | {max(r['rss']):.0f} MB | | |")
        print()

    if args.only != "latency":
        rows = intelligibility(settings, args.limit)
        wers = [row[3] for row in rows]
        safety = [row for row in rows if row[1]]
        drops = [row[4] for row in rows]
        print(f"Intelligibility: {len(rows)} distinct sentences of the built-in routines, said in the room, "
              "heard by faster-whisper tiny.en (beam 5, no prompt)\n")
        print("| measure | value | goal |")
        print("|---|---|---|")
        print(f"| word error rate, mean over sentences | {100 * statistics.mean(wers):.1f}% | <= 5% |")
        words = sum(len(normalise(t).split()) for t, *_ in rows)
        pooled = sum(row[3] * len(normalise(row[0]).split()) for row in rows) / words
        print(f"| word error rate, all {words} words pooled | {100 * pooled:.1f}% | |")
        print(f"| sentences heard exactly | {sum(w == 0 for w in wers)} of {len(rows)} | |")
        print(f"| safety / red-flag sentences: worst | {100 * max([r[3] for r in safety] or [0]):.0f}% "
              f"({len(safety)} sentences, {sum(r[3] > 0.10 for r in safety)} above 10%) | <= 10% |")
        print(f"| sentences with playback dropouts > 50 ms (machine load) | {sum(d > 0.05 for d in drops)} "
              f"(worst {1000 * max(drops):.0f} ms) | 0 |")
        print("\nWorst 5 sentences\n")
        print("| WER | said | heard | dropout |")
        print("|---|---|---|---|")
        for text, is_safety, heard, w, d in sorted(rows, key=lambda row: -row[3])[:5]:
            print(f"| {100 * w:.0f}%{' (safety)' if is_safety else ''} | {text} | {heard.strip()} | {1000 * d:.0f} ms |")
        print("\nSafety / red-flag sentences\n")
        print("| WER | said | heard | dropout |")
        print("|---|---|---|---|")
        for text, _, heard, w, d in safety:
            print(f"| {100 * w:.0f}% | {text} | {heard.strip()} | {1000 * d:.0f} ms |")
    if synth.fallback_reason():
        print(f"\nNote: pyttsx3 was given up ({synth.fallback_reason()}); espeak-ng program used.")
    return 0


if __name__ == "__main__":
    import shutil

    try:
        sys.exit(main())
    finally:
        cache = os.environ.get("XDG_CACHE_HOME", "")
        if Path(cache).name.startswith("bench-speech-"):
            shutil.rmtree(cache, ignore_errors=True)
