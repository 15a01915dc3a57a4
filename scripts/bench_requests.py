#!/usr/bin/env python3
"""How well serve's requests between sessions are recognized: Whisper tiny.en prompted with the
session commands (what serve listened with before) vs. with the request phrases (what it uses now).

Each request is synthesized by several espeak-ng voices and speeds (no room, no noise: the
recognizer and the prompt only) and decoded once per prompt; a request counts when
voice_coach.schedule.intents parses the transcript to the intended request. Prints a table.

    .venv/bin/python scripts/bench_requests.py            # --voices en-us,en-gb --speeds 140,170
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_corpus import synth  # noqa: E402

from voice_coach.hearing.whisper_engine import WhisperRecognizer, default_model_path  # noqa: E402
from voice_coach.schedule.intents import Intent, parse_intent, request_phrases  # noqa: E402
from voice_coach.vocabulary import vocabulary  # noqa: E402

ROUTINES = ["evening-back-relief", "foam-roller", "ice-rollerball", "massager-back", "partner-massage"]
CASES = [  # (what the person says, the request it must become)
    ("coach, start foam roller", Intent("start", "foam roller")),
    ("coach, start evening back relief", Intent("start", "evening back relief")),
    ("coach, ice timer 1 minute", Intent("timer", "ice", 60.0)),
    ("coach, ice timer fifteen minutes", Intent("timer", "ice", 900.0)),
    ("coach, remind me to ice in 30 minutes", Intent("reminder", "ice", 1800.0)),
    ("coach, what's next", Intent("next_session")),
    ("coach, how long left", Intent("time_left")),
    ("coach, stop the timer", Intent("stop_timer")),
    ("coach, louder", Intent("louder")),
    ("coach, quieter", Intent("quieter")),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--voices", default="en-us,en-gb,en-us+f3")
    ap.add_argument("--speeds", default="140,170")
    args = ap.parse_args()
    rec = WhisperRecognizer(default_model_path(), vocabulary("en"))
    prompts = {"session commands": rec.prompt}
    rec.set_allowed(frozenset(), False, tuple(request_phrases(ROUTINES)))
    prompts["request phrases"] = rec.prompt
    rows = {name: [0, 0] for name in prompts}
    misses: dict[str, list[str]] = {name: [] for name in prompts}
    with tempfile.TemporaryDirectory() as tmp:
        for voice in args.voices.split(","):
            for speed in (int(s) for s in args.speeds.split(",")):
                for text, want in CASES:
                    audio = synth(text, voice, speed, Path(tmp))
                    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16).tobytes()
                    for name, prompt in prompts.items():
                        rec.prompt = prompt
                        heard, _ = rec.transcribe(pcm)
                        ok = parse_intent(heard or "") == want
                        rows[name][0] += ok
                        rows[name][1] += 1
                        if not ok:
                            misses[name].append(f"{text!r} ({voice}, {speed}) -> {heard!r}")
    print("| Whisper prompt | requests understood | share |")
    print("|---|---|---|")
    for name, (ok, total) in rows.items():
        print(f"| {name} | {ok}/{total} | {ok / total:.0%} |")
    for name, lines in misses.items():
        print(f"\nmissed with {name} ({len(lines)}):")
        for line in lines[:12]:
            print("  " + line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
