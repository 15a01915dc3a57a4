#!/usr/bin/env python3
"""Generate the synthetic recognition corpus (not committed; made at test or bench time).

Every command phrase and number of a language's vocabulary, spoken by several espeak-ng voices
and speeds and (English) flite voices, placed in a realistic noise floor (~-60 dBFS: digital-zero
silence is unlike any microphone and skews recognizers), clean and with pink/white noise or a
massager-like motor hum at 20, 10 and 5 dB SNR; plus narration sentences (routine text, no
commands, but full of words like "back" and "go") and other short non-command words.

    scripts/make_corpus.py OUT [--language en|ko] [--full] [--per-condition N] [--seed S] [--split S]

Writes 16 kHz mono WAVs and ``OUT/manifest.jsonl`` (one object per file: file, kind, phrase,
command, number, voice, speed, noise, snr, split, speech_start, speech_end).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voice_coach.hearing.pcm import read_audio  # noqa: E402
from voice_coach.vocabulary import vocabulary  # noqa: E402

RATE = 16_000
FLOOR_DBFS = -60.0

ESPEAK_VOICES = {
    "en": ["en-us", "en-gb", "en-us+f3", "en-gb-scotland+m3", "en-029+f2", "en-us-nyc+m5", "en-gb-x-rp+f4", "en-us+m2"],
    "ko": ["ko", "ko+f2", "ko+m3", "ko+f4"],
}
FLITE_VOICES = {"en": ["kal", "slt", "rms", "awb"], "ko": []}
SPEEDS = (130, 170, 210)
# Held-out split: settings are chosen on the "dev" voices at the outer speeds only and reported on
# the other voices (every speed), so a setting that merely fits one synthetic voice shows up.
DEV_VOICES = {"en-us", "en-gb-scotland+m3", "en-us-nyc+m5", "en-gb-x-rp+f4", "flite:kal", "flite:rms", "ko", "ko+m3"}
DEV_SPEEDS = (130, 210)


def split_of(voice: str) -> str:
    return "dev" if voice in DEV_VOICES else "held-out"


def split_voices(language: str, split: str = "all") -> tuple[list[str], tuple[int, ...]]:
    """The voices and speeds of a split: "dev", "held-out" or "all"."""
    voices = ESPEAK_VOICES[language] + [f"flite:{v}" for v in FLITE_VOICES[language]]
    if split == "all":
        return voices, SPEEDS
    if split not in ("dev", "held-out"):
        raise ValueError(split)
    return [v for v in voices if split_of(v) == split], (DEV_SPEEDS if split == "dev" else SPEEDS)
NOISES = ("pink", "white", "hum")
SNRS = (20, 10, 5)
CONDITIONS = [("clean", None)] + [(n, s) for n in NOISES for s in SNRS]

NARRATION = {
    "en": [
        "Lie on your back and place the roller under your upper back.",
        "Breathe slowly and let your shoulders relax into the floor.",
        "Roll gently from the middle of your back up to your shoulder blades.",
        "Wrap the ice pack in a thin towel before you put it on your skin.",
        "Keep the ice on your lower back for about fifteen minutes.",
        "If the pain spreads down your leg, stop and call your doctor.",
        "Now bend your knees and keep your feet flat on the floor.",
        "Take a deep breath in, and slowly breathe out through your mouth.",
        "Move the massager in small circles along the muscles beside your spine.",
        "Well done, that was the last step of this evening's routine.",
        "Sit up slowly and rest for a moment before you stand.",
        "Let your arms rest by your sides and close your eyes.",
    ],
    "ko": [
        "등을 대고 누워서 천천히 숨을 쉬세요.",
        "얼음 팩을 수건으로 감싸서 허리에 올려 두세요.",
        "무릎을 구부리고 발을 바닥에 붙이세요.",
        "어깨의 힘을 빼고 편안하게 쉬세요.",
    ],
}
OTHER_WORDS = {
    "en": ["hello", "okay", "thanks", "right", "on", "what", "water", "hmm", "lovely", "maybe", "coffee",
           "left", "tired", "sorry", "good", "fine", "great", "where", "nice", "kitchen", "tomorrow", "ouch"],
    "ko": ["안녕하세요", "감사합니다", "물", "좋아요", "내일"],
}


def synth(text: str, voice: str, speed: int, tmp: Path) -> np.ndarray:
    """Render with espeak-ng (``voice`` as -v) or flite (``flite:NAME``) -> float32 at 16 kHz."""
    out = tmp / "s.wav"
    if voice.startswith("flite:"):
        stretch = f"{170 / speed:.2f}"
        cmd = ["flite", "-voice", voice[6:], "--setf", f"duration_stretch={stretch}", "-t", text, "-o", str(out)]
    else:
        cmd = ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(out), text]
    subprocess.run(cmd, check=True, capture_output=True)
    x = np.frombuffer(read_audio(out), dtype=np.int16).astype(np.float32) / 32768
    nz = np.flatnonzero(np.abs(x) > 1e-3)  # trim the engines' own digital-zero margins
    return x[nz[0] : nz[-1] + 1] if len(nz) else x


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) + 1e-12


def noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "white":
        y = rng.standard_normal(n)
    elif kind == "pink":
        spec = np.fft.rfft(rng.standard_normal(n))
        f = np.arange(len(spec)); f[0] = 1
        y = np.fft.irfft(spec / np.sqrt(f), n)
    elif kind == "hum":  # a handheld massager: motor fundamental + harmonics, wobbling, plus rattle
        t = np.arange(n) / RATE
        f0 = rng.uniform(45, 75)
        wob = 1 + 0.02 * np.sin(2 * np.pi * rng.uniform(0.3, 1.5) * t)
        y = sum(np.sin(2 * np.pi * f0 * k * np.cumsum(wob) / RATE) / k for k in range(1, 12))
        y = y + 0.3 * rng.standard_normal(n) * (1 + np.sin(2 * np.pi * f0 * t))
    else:
        raise ValueError(kind)
    return y / _rms(y)


def place(speech: np.ndarray, kind: str, snr: float | None, rng: np.random.Generator,
          lead: float = 0.7, tail: float = 0.8) -> tuple[np.ndarray, float, float]:
    """Speech at a random level in a noise floor (+ noise at ``snr``); returns (audio, start, end)."""
    speech = speech / _rms(speech) * 10 ** (rng.uniform(-30, -20) / 20)
    a = int(lead * RATE * rng.uniform(0.8, 1.2))
    total = a + len(speech) + int(tail * RATE)
    y = np.zeros(total)
    y[a : a + len(speech)] += speech
    y += rng.standard_normal(total) * 10 ** (FLOOR_DBFS / 20)
    if kind != "clean":
        y += noise(kind, total, rng) * _rms(speech) * 10 ** (-snr / 20)
    peak = np.max(np.abs(y))
    if peak > 0.99:
        y *= 0.99 / peak
    return y.astype(np.float32), a / RATE, (a + len(speech)) / RATE


def write_wav(path: Path, x: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(RATE)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype(np.int16).tobytes())


def items(language: str, full: bool, per_condition: int, rng: random.Random, split: str = "all",
          conditions: list | None = None) -> list[dict]:
    """What to render: every (phrase, voice, speed, condition) when ``full``, else a sample."""
    vocab = vocabulary(language)
    voices, speeds = split_voices(language, split)
    conditions = conditions or CONDITIONS
    phrases = [(p, c.value, None) for c, ps in vocab.phrases.items() for p in ps]
    phrases += [(p, "number", i) for i, p in enumerate(vocab.numbers)]
    out = []
    if full:
        combos = [(ph, v, s, c) for ph in phrases for v in voices for s in speeds for c in conditions]
    else:  # every phrase in every condition at least once, voices and speeds rotated at random
        combos = []
        for cond in conditions:
            chosen = list(phrases)
            rng.shuffle(chosen)
            while len(chosen) < per_condition:
                chosen += rng.sample(phrases, len(phrases))
            for ph in chosen[:per_condition]:
                combos.append((ph, rng.choice(voices), rng.choice(speeds), cond))
    for (phrase, command, number), voice, speed, (kind, snr) in combos:
        out.append(dict(kind="command", phrase=phrase, command=command, number=number, voice=voice,
                        speed=speed, noise=kind, snr=snr))
    # non-command speech: narration sentences and other words, clean and in moderate noise
    for text in NARRATION[language]:
        for voice in (voices if full else rng.sample(voices, min(3, len(voices)))):
            kind, snr = rng.choice([("clean", None), ("pink", 20), ("hum", 10)])
            out.append(dict(kind="narration", phrase=text, command=None, number=None, voice=voice,
                            speed=rng.choice(speeds), noise=kind, snr=snr))
    for text in OTHER_WORDS[language]:
        for voice in (voices if full else rng.sample(voices, min(2, len(voices)))):
            out.append(dict(kind="other", phrase=text, command=None, number=None, voice=voice,
                            speed=rng.choice(speeds), noise="clean", snr=None))
    for it in out:
        it["split"] = split_of(it["voice"])
    return out


def make_corpus(outdir: Path, language: str = "en", full: bool = False, per_condition: int = 60,
                seed: int = 1, kinds: tuple[str, ...] = ("command", "narration", "other"),
                conditions: list | None = None, split: str = "all") -> list[dict]:
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    todo = [it for it in items(language, full, per_condition, rng, split, conditions) if it["kind"] in kinds]
    manifest = []
    cache: dict[tuple, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, it in enumerate(todo):
            key = (it["phrase"], it["voice"], it["speed"])
            if key not in cache:
                cache[key] = synth(it["phrase"], it["voice"], it["speed"], Path(tmp))
            audio, start, end = place(cache[key], it["noise"], it["snr"], nrng)
            name = f"{i:05d}-{it['kind']}.wav"
            write_wav(outdir / name, audio)
            manifest.append(dict(file=name, **it, speech_start=round(start, 3), speech_end=round(end, 3)))
    with open(outdir / "manifest.jsonl", "w", encoding="utf-8") as f:
        for m in manifest:
            f.write(json.dumps(m, ensure_ascii=False) + "\n")
    return manifest


def load_manifest(outdir: Path) -> list[dict]:
    with open(Path(outdir) / "manifest.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--language", default="en", choices=["en", "ko"])
    ap.add_argument("--full", action="store_true", help="every phrase x voice x speed x condition")
    ap.add_argument("--per-condition", type=int, default=60, help="command clips per noise condition (sampled)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--split", default="all", choices=["all", "dev", "held-out"],
                    help="voices/speeds: dev (for tuning), held-out (for reporting) or all")
    a = ap.parse_args()
    m = make_corpus(a.out, a.language, a.full, a.per_condition, a.seed, split=a.split)
    print(f"{len(m)} files in {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
