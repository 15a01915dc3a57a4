#!/usr/bin/env python3
"""Speech-out benchmark in the virtual room; prints a markdown table (medians over several runs).

    scripts/virtual-room start && .venv/bin/python scripts/bench_speech_out.py [--runs 7]

Times are measured from the room's microphone (what really came out), not from our own events:
- say -> first sample: from ``say()`` to the first recorded window above -45 dBFS (cached and
  uncached 20-word sentence; uncached means a sentence never rendered before in this process);
- stop -> silence: from ``stop()`` to the end of the last recorded window above -50 dBFS;
- render time per second of speech: pyttsx3 synthesis wall time / length of the audio;
- CPU (% of one core) and peak RSS of this process while an utterance plays (no recorder running).
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
NUMBERS = ("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
           "sixteen seventeen eighteen nineteen twenty").split()


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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-speech-")
    os.environ["XDG_CACHE_HOME"] = tmp  # a fresh prompt cache: "uncached" really is
    room_env()

    import numpy as np
    from roomkit import RoomRecorder, window_db

    from voice_coach import audio
    from voice_coach.settings import SpeechSettings
    from voice_coach.speech import FINISHED, STARTED, STOPPED, Speaker, render, synth

    audio.rescan()
    settings = SpeechSettings()
    events: list = []
    cv = threading.Condition()

    def on_event(ev):
        with cv:
            events.append(ev)
            cv.notify_all()

    def wait(key, kind, timeout=30):
        with cv:
            cv.wait_for(lambda: any(e.key == key and e.kind == kind for e in events), timeout)

    def onset_after(rec, t, threshold=-45.0):
        i0 = rec.sample_at(t)
        db = window_db(rec.audio[i0:], rec.rate, 5)
        loud = np.flatnonzero(db > threshold)
        if not loud.size:
            return float("nan")
        # the end of the first loud 5 ms window: an upper bound of the onset, never below 0
        return max(0.0, rec.time_of_sample(i0 + (int(loud[0]) + 1) * rec.rate // 200) - t)

    results: dict[str, list[float]] = {k: [] for k in ("cached", "uncached", "started_c", "started_u", "stop")}
    synth.resolve_voice(settings.voice)  # engine start-up is a once-per-process cost, not per prompt
    with Speaker(settings, on_event=on_event) as spk, RoomRecorder() as rec:
        for run in range(args.runs):
            for kind in ("uncached", "cached"):
                text = f"{WORDS} {NUMBERS[run % 20]} {run}" if kind == "uncached" else WORDS
                if kind == "cached":
                    render(text, settings)
                time.sleep(0.3)
                t = time.monotonic()
                key = spk.say(text)
                wait(key, FINISHED)
                time.sleep(0.15)
                results[kind].append(onset_after(rec, t))
                results["started_" + kind[0]].append(next(e.at for e in events
                                                          if e.key == key and e.kind == STARTED) - t)
            key = spk.say(WORDS)
            wait(key, STARTED)
            time.sleep(1.0 + 0.13 * run)
            t_stop = time.monotonic()
            spk.stop()
            wait(key, STOPPED)
            time.sleep(0.4)
            i = rec.sample_at(t_stop)
            db = window_db(rec.audio[i : rec.sample_at(t_stop + 0.35)], rec.rate, 5)
            loud = np.flatnonzero(db > -50)
            results["stop"].append(0.0 if loud.size == 0 else (loud[-1] + 1) * 0.005
                                   + rec.time_of_sample(i) - t_stop)

    # render speed (pyttsx3 only, no cache)
    per_s = []
    for run in range(args.runs):
        t = time.perf_counter()
        x, sr = synth.synthesize(f"{WORDS} {NUMBERS[(run + 7) % 20]}", synth.resolve_voice(""), settings.rate)
        per_s.append((time.perf_counter() - t) / (x.size / sr))

    # CPU and memory while speaking (no recorder in this process)
    long_text = " ".join([WORDS] * 2)
    render(long_text, settings)
    cpu, rss = [], []
    with Speaker(settings, on_event=on_event) as spk:
        for n in range(3):
            key = spk.say(long_text, key=f"cpu-{n}")
            wait(key, STARTED)
            c0, w0, peak = time.process_time(), time.monotonic(), rss_mb()
            while not any(e.key == key and e.kind == FINISHED for e in events):
                peak = max(peak, rss_mb())
                time.sleep(0.05)
            cpu.append(100 * (time.process_time() - c0) / (time.monotonic() - w0))
            rss.append(peak)

    ms = lambda v: f"{1000 * statistics.median(v):.0f} ms"  # noqa: E731
    rng = lambda v: f"{1000 * min(v):.0f}–{1000 * max(v):.0f} ms"  # noqa: E731
    print(f"Speech out, virtual room, {args.runs} runs, median (range); {os.cpu_count()} cores\n")
    print("| measure | median | range | goal |")
    print("|---|---|---|---|")
    print(f"| say -> first sample in the room, cached 20-word sentence | {ms(results['cached'])} | {rng(results['cached'])} | < 150 ms |")
    print(f"| say -> first sample in the room, uncached 20-word sentence | {ms(results['uncached'])} | {rng(results['uncached'])} | < 400 ms |")
    print(f"| say -> `started` event, cached / uncached | {ms(results['started_c'])} / {ms(results['started_u'])} | | |")
    print(f"| stop() -> silence in the room | {ms(results['stop'])} | {rng(results['stop'])} | < 50 ms |")
    print(f"| render time per second of speech (pyttsx3) | {1000 * statistics.median(per_s):.1f} ms/s | "
          f"{1000 * min(per_s):.1f}–{1000 * max(per_s):.1f} ms/s | |")
    print(f"| CPU while speaking (this process) | {statistics.median(cpu):.1f}% of a core | "
          f"{min(cpu):.1f}–{max(cpu):.1f}% | |")
    print(f"| peak RSS while speaking | {statistics.median(rss):.0f} MB | | |")
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
