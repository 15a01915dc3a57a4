#!/usr/bin/env python3
"""Recognition benchmark: accuracy, false commands, latency, RTF, idle CPU and memory per engine.

    scripts/bench_recognition.py [--engines whisper,vosk] [--per-condition N] [--full] [--corpus DIR]
    scripts/bench_recognition.py --variants default,NAME,... --split dev [--snrs clean,10,5] [--corpus DIR]
    scripts/bench_recognition.py --real ../shared/speech-dev [--variants default,NAME,...]

``--real DIR`` runs the live pipeline (segmenter + recognizer, 30 ms chunks) over real recordings
described by DIR/MANIFEST.tsv (path, word, ...): each clip inside 1 s of room-level background
noise before and after (pink noise at -55 dBFS over the whole clip, not digital silence), with
the allowed set the engine would have when that word fits (a number during a rating, yes/no during
a question, the other commands during a step); the negatives (``_other_``, ``_speech_``) in all
three. It prints right / wrong command / nothing heard per word and per source, false commands,
a confusion list and the per-utterance time breakdown (feature extraction, encoder, decoder).

Generates the synthetic corpus (scripts/make_corpus.py) into a temporary folder unless --corpus
is given, then runs each engine in its own process (so memory figures are its own) and prints a
markdown report. Vosk runs on the Korean corpus with the packaged Korean model unless an English
Vosk model is installed. Clips are fed in 30 ms chunks as the live listener does; latency is
what a live user would wait: each chunk is processed when it has been captured or when the
previous one is done (whichever is later), and latency = the moment the chunk that gave the
command is done - the true end of speech.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

CHUNK_S = 0.03


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):  # peak resident set
            return int(line.split()[1]) / 1024
    return float("nan")


# Experiments (whisper only): name -> overrides of WhisperOptions ("whisper") and SegmenterConfig
# ("segmenter") relative to the shipped defaults. Run with --variants a,b,c on a --split corpus.
VARIANTS: dict[str, dict] = {
    "default": {},
    # the pipeline before the recognition issue: 30 s window, exact transcript match, no early decode
    "before": {"whisper": {"rank_phrases": False, "window_s": 30.0}, "segmenter": {"early_ms": 0}},
    "stay2": {"segmenter": {"stay_db": 2.0}},
    "stay0": {"segmenter": {"stay_db": 0.0}},
    "hang300": {"segmenter": {"hangover_ms": 300}},
    "hang180": {"segmenter": {"hangover_ms": 180}},
    "agc-20": {"whisper": {"target_dbfs": -20.0}},
    "pad0.3": {"whisper": {"pad_s": 0.3}},
    "tok8": {"whisper": {"max_new_tokens": 8}},
    "singles": {"whisper": {"prompt_order": "singles_first"}},
    "periods": {"whisper": {"prompt_sep": ". "}},
    "measured": {"whisper": {"prompt_order": "measured_first"}},
    "runon0.45": {"segmenter": {"run_on_gap_s": 0.45}},
    "blips": {"segmenter": {"isolated_blips_count": False}},
    "hp120": {"whisper": {"highpass_hz": 120.0}},
    "hp200": {"whisper": {"highpass_hz": 200.0}},
    # recognition of real people (issue 10) and speed (issue 11)
    "exact": {"whisper": {"rank_phrases": False}},
    "w30": {"whisper": {"window_s": 30.0}},
    "w10": {"whisper": {"window_s": 10.0}},
    "w5": {"whisper": {"window_s": 5.0}},
    "w3": {"whisper": {"window_s": 3.0}},
    "noprompt": {"whisper": {"prompt": "none"}},
    "early0": {"segmenter": {"early_ms": 0}},
    "xf2.0": {"whisper": {"scorer": {"transcript_floor": -2.0}}},
    "xf1.5": {"whisper": {"scorer": {"transcript_floor": -1.5}}},
    "gate-raw": {"segmenter": {"gate_band": False}},
}


def build(engine: str, language: str, variant: str):
    from dataclasses import replace

    from voice_coach.hearing import make_recognizer
    from voice_coach.settings import HearingSettings

    rec = make_recognizer(HearingSettings(engine=engine, language=language))
    v = VARIANTS[variant]
    if v:
        from voice_coach.hearing.segmenter import Segmenter
        from voice_coach.hearing.whisper_engine import WhisperRecognizer

        w = dict(v.get("whisper", {}))
        scorer = replace(rec.options.scorer, **w.pop("scorer", {}))
        rec = WhisperRecognizer(rec.model_path, rec.vocab, max_utterance_s=rec.segmenter.config.max_utterance_s,
                                options=replace(rec.options, scorer=scorer, **w))
        rec.segmenter = Segmenter(replace(rec.segmenter.config, **v.get("segmenter", {})))
    return rec


def run_engine(engine: str, language: str, corpus_dir: Path, variant: str = "default") -> dict:
    from make_corpus import load_manifest

    from voice_coach.hearing.pcm import read_audio

    t0 = time.perf_counter()
    rec = build(engine, language, variant)
    load_s = time.perf_counter() - t0
    decode_cpu = []
    if hasattr(rec, "decode"):  # CPU time of each Whisper decode (what a Pi must afford)
        inner = rec.decode

        def timed(pcm):
            c = time.process_time()
            try:
                return inner(pcm)
            finally:
                decode_cpu.append(time.process_time() - c)

        rec.decode = timed
    chunk = int(16000 * CHUNK_S) * 2
    rows, proc_total, audio_total = [], 0.0, 0.0
    for m in load_manifest(corpus_dir):
        pcm = read_audio(corpus_dir / m["file"])
        rec.reset()
        heard, latencies = [], []
        busy_until = 0.0  # live, a chunk waits in the queue while an earlier one is still decoding
        for i in range(0, len(pcm), chunk):
            t = time.perf_counter()
            out = rec.accept(pcm[i : i + chunk])
            dt = time.perf_counter() - t
            proc_total += dt
            chunk_end = min(len(pcm), i + chunk) / 32000  # when a live chunk has been captured
            busy_until = max(chunk_end, busy_until) + dt
            for h in out:
                heard.append(h)
                latencies.append(busy_until - m["speech_end"])
        t = time.perf_counter()
        out = rec.flush()
        proc_total += time.perf_counter() - t
        heard += out
        latencies += [float("nan")] * len(out)
        audio_total += len(pcm) / 32000
        cmds = [(h.command.value, h.number) for h in heard if h.command is not None]
        lat = next((lt for h, lt in zip(heard, latencies) if h.command is not None), None)
        rows.append(dict(m, got=cmds, latency=lat, duration=len(pcm) / 32000,
                         heard=[(h.text, h.confidence) for h in heard]))
    # idle listening: 60 s of a -60 dBFS noise floor through the same path, CPU time per second
    floor = (np.random.default_rng(0).standard_normal(16000 * 60) * 10 ** (-60 / 20) * 32767).astype(np.int16).tobytes()
    rec.reset()
    c0 = time.process_time()
    for i in range(0, len(floor), chunk):
        rec.accept(floor[i : i + chunk])
    idle_cpu = (time.process_time() - c0) / 60
    return dict(engine=engine, language=language, load_s=load_s, rss_mb=rss_mb(), rtf=proc_total / audio_total,
                idle_cpu=idle_cpu, rows=rows, variant=variant,
                decode_cpu_ms=1000 * statistics.median(decode_cpu) if decode_cpu else None,
                decodes=len(decode_cpu))


# ------------------------------------------------------------------ real human recordings (--real)
REAL_NOISE_DBFS = -55.0  # a quiet room through a USB microphone; the clips' own noise stays under it
REAL_LEAD_S = REAL_TAIL_S = 1.0
NEGATIVES = ("_other_", "_speech_")


def real_contexts(word: str, vocab) -> list[str]:
    """Where a word fits (a number only when a rating was asked); negatives are tried in all."""
    if word in NEGATIVES:
        return ["step", "rating", "question"]
    if word in vocab.numbers:
        return ["rating"]
    if word in ("yes", "no"):
        return ["question"]
    return ["step"]


def real_allowed(context: str):
    """The engine's expects() in each kind of moment (voice_coach.session.engine)."""
    from voice_coach.session.commands import Command
    from voice_coach.session.engine import ANSWERS

    always = frozenset({Command.PAUSE, Command.STOP, Command.REPEAT, Command.HELP, Command.SKIP})
    return {"step": (None, False), "rating": (always, True), "question": (ANSWERS | always, False)}[context]


def load_real(d: Path) -> list[dict]:
    import csv

    with open(d / "MANIFEST.tsv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    for r in rows:
        r["source"] = Path(r["path"]).name.split("_")[0] if r["word"] not in NEGATIVES else r["word"]
    return rows


def run_real(engine: str, d: Path, variant: str = "default") -> dict:
    from make_corpus import noise

    from voice_coach.hearing.pcm import read_audio

    rec = build(engine, "en", variant)
    vocab = rec.vocab
    rng = np.random.default_rng(7)
    chunk = int(16000 * CHUNK_S) * 2
    rows, stages = [], collections.defaultdict(list)
    for m in load_real(d):
        x = np.frombuffer(read_audio(d / m["path"]), np.int16).astype(np.float32) / 32768
        lead, tail = int(REAL_LEAD_S * 16000), int(REAL_TAIL_S * 16000)
        y = np.concatenate([np.zeros(lead, np.float32), x, np.zeros(tail, np.float32)])
        y = y + (noise("pink", len(y), rng) * 10 ** (REAL_NOISE_DBFS / 20)).astype(np.float32)
        pcm = (np.clip(y, -1, 1) * 32767).astype(np.int16).tobytes()
        for context in real_contexts(m["word"], vocab):
            rec.set_allowed(*real_allowed(context))
            rec.reset()
            heard = []
            for i in range(0, len(pcm), chunk):
                heard += rec.accept(pcm[i : i + chunk])
            heard += rec.flush()
            timing = dict(getattr(getattr(rec, "decoder", None), "timing", {}) or {})
            if heard and timing:
                for k, v in timing.items():
                    stages[k].append(v)
            got = [(h.command.value, h.number) for h in heard if h.command is not None]
            rows.append(dict(path=m["path"], word=m["word"], source=m["source"], context=context, got=got,
                             texts=[h.text for h in heard]))
    return dict(engine=engine, variant=variant, rows=rows, decodes=getattr(rec, "decodes", None),
                stages={k: 1000 * statistics.median(v) for k, v in stages.items()}, rss_mb=rss_mb())


def _real_truth(word: str, vocab):
    parsed = vocab.parse(word)
    return [(parsed[0].value, parsed[1])] if parsed else None


def report_real(res: dict, d: Path) -> str:
    from voice_coach.vocabulary import vocabulary

    vocab = vocabulary("en")
    rows = [dict(r, got=[tuple(g) for g in r["got"]]) for r in res["rows"]]  # JSON made the pairs lists
    pos = [r for r in rows if r["word"] not in NEGATIVES]
    out = [f"### {res['engine']} on real people: `{d}` (variant {res['variant']})", ""]

    def outcome(r):
        truth = _real_truth(r["word"], vocab)
        if r["got"][:1] == truth:
            return "right"
        return "wrong" if r["got"] else "nothing"

    def table(key, title):
        groups = collections.defaultdict(list)
        for r in pos:
            groups[r[key]].append(outcome(r))
        lines = [f"| {title} | clips | right | wrong command | nothing heard |", "|---|---|---|---|---|"]
        for k in sorted(groups):
            v = groups[k]
            lines.append(f"| {k} | {len(v)} | {v.count('right')} ({100 * v.count('right') / len(v):.0f}%) | "
                         f"{v.count('wrong')} | {v.count('nothing')} |")
        return lines

    allv = [outcome(r) for r in pos]
    out.append(f"**single-word commands right at the first decode: {allv.count('right')}/{len(allv)} = "
               f"{100 * allv.count('right') / max(1, len(allv)):.1f}%** (wrong command {allv.count('wrong')}, "
               f"nothing heard {allv.count('nothing')})")
    out.append("")
    for kind in NEGATIVES:
        clips = sorted({r["path"] for r in rows if r["word"] == kind})
        false = sorted({r["path"] for r in rows if r["word"] == kind and r["got"]})
        per_ctx = ", ".join(f"{c} {sum(1 for r in rows if r['word'] == kind and r['context'] == c and r['got'])}"
                            for c in ("step", "rating", "question"))
        out.append(f"- `{kind}` taken as a command: {len(false)} of {len(clips)} clips "
                   f"({100 * len(false) / max(1, len(clips)):.1f}%; per moment: {per_ctx})")
    out.append("")
    out += table("word", "word") + [""] + table("source", "source") + [""]
    conf = collections.Counter()
    for r in rows:
        truth = _real_truth(r["word"], vocab) if r["word"] not in NEGATIVES else None
        if (r["word"] in NEGATIVES and r["got"]) or (r["word"] not in NEGATIVES and r["got"][:1] != truth):
            got = " ".join(f"{c}{'' if n is None else ' ' + str(n)}" for c, n in r["got"]) or "nothing"
            said = r["word"] if r["word"] not in NEGATIVES else f"{r['word']} ({r['context']})"
            conf[(said, got, " / ".join(r["texts"]) or "-")] += 1
    if conf:
        out.append("Confusions (said -> taken as, what the recognizer wrote):")
        out.append("")
        out += [f"- {s} -> {g} ({n}x; \"{t}\")" for (s, g, t), n in sorted(conf.items())]
        out.append("")
    if res.get("stages"):
        out.append("Time per decoded utterance (median ms): " + ", ".join(f"{k} {v:.0f}" for k, v in res["stages"].items())
                   + f" · peak RSS {res['rss_mb']:.0f} MB")
    return "\n".join(out) + "\n"


def _ok(r: dict) -> bool:
    return r["got"] == [(r["command"], r["number"])] or r["got"] == [[r["command"], r["number"]]]


def _pct(v: list) -> str:
    return f"{100 * sum(v) / len(v):.1f}%" if v else "-"


def summary_row(res: dict) -> str:
    """One line per experiment: right per SNR, false commands, latency, CPU per decode."""
    rows = res["rows"]
    cmd = [r for r in rows if r["kind"] == "command"]
    cells = []
    for snr in (None, 20, 10, 5):
        v = [_ok(r) for r in cmd if r["snr"] == snr]
        cells.append(f"{_pct(v)} ({len(v)})" if v else "-")
    wrong = sum(1 for r in cmd if r["got"] and not _ok(r))
    false = []
    for kind in ("narration", "other"):
        rs = [r for r in rows if r["kind"] == kind]
        false.append(f"{sum(len(r['got']) for r in rs)}/{sum(r['duration'] for r in rs) / 60:.1f} min")
    lat = sorted(r["latency"] for r in cmd if _ok(r) and r["latency"] is not None and r["latency"] == r["latency"])
    med = f"{1000 * statistics.median(lat):.0f}" if lat else "-"
    cpu = f"{res['decode_cpu_ms']:.0f}" if res.get("decode_cpu_ms") else "-"
    cpu += f" ({res.get('decodes', 0) / max(1, len(rows)):.2f}/clip)"
    return (f"| {res['variant']} | " + " | ".join(cells) + f" | {100 * wrong / max(1, len(cmd)):.1f}% | "
            + " | ".join(false) + f" | {med} | {cpu} |")


SUMMARY_HEAD = ("| variant | clean | 20 dB | 10 dB | 5 dB | wrong cmd | false: narration | false: other "
                "| latency median ms | CPU/decode ms (decodes per clip) |\n|---|---|---|---|---|---|---|---|---|---|")


def report(res: dict) -> str:
    rows = res["rows"]
    cmd = [r for r in rows if r["kind"] == "command"]
    ok = _ok
    by_cond = collections.defaultdict(list)
    by_word = collections.defaultdict(list)
    for r in cmd:
        by_cond["clean" if r["noise"] == "clean" else f"{r['noise']} {r['snr']} dB"].append(ok(r))
        by_word[r["phrase"]].append(ok(r))
    by_snr = collections.defaultdict(list)
    for r in cmd:
        by_snr["clean" if r["noise"] == "clean" else f"{r['snr']} dB"].append(ok(r))
    wrong_cmd = sum(1 for r in cmd if r["got"] and not ok(r))
    lat = [r["latency"] for r in cmd if ok(r) and r["latency"] is not None and r["latency"] == r["latency"]]
    out = [f"### {res['engine']} ({res['language']})", ""]
    cpu = f" · CPU per decode {res['decode_cpu_ms']:.0f} ms (median)" if res.get("decode_cpu_ms") else ""
    out.append(f"load {res['load_s']:.2f} s · peak RSS {res['rss_mb']:.0f} MB · RTF {res['rtf']:.3f}{cpu} · "
               f"idle listening {res['idle_cpu'] * 100:.2f}% of a core (VAD path, capture excluded)")
    out.append("")
    out.append("| condition | right | n |")
    out.append("|---|---|---|")
    for k in sorted(by_snr, key=lambda k: (k != "clean", -int(k.split()[0]) if k != "clean" else 0)):
        v = by_snr[k]
        out.append(f"| **{k} (all noises)** | {100 * sum(v) / len(v):.1f}% | {len(v)} |")
    for k in sorted(by_cond):
        v = by_cond[k]
        out.append(f"| {k} | {100 * sum(v) / len(v):.1f}% | {len(v)} |")
    for split in ("dev", "held-out"):  # voices/speeds settings were tuned on vs. never tuned on
        for snr in (None, 20, 10, 5):
            v = [ok(r) for r in cmd if r.get("split") == split and r["snr"] == snr]
            if v:
                out.append(f"| {split} voices, {'clean' if snr is None else f'{snr} dB (all noises)'} | {_pct(v)} | {len(v)} |")
    out.append(f"| wrong command given (not just missed) | {100 * wrong_cmd / max(1, len(cmd)):.1f}% | {len(cmd)} |")
    out.append("")
    for kind in ("narration", "other"):
        rs = [r for r in rows if r["kind"] == kind]
        if rs:
            n = sum(len(r["got"]) for r in rs)
            minutes = sum(r["duration"] for r in rs) / 60
            out.append(f"- false commands on {kind}: {n} in {len(rs)} clips, {minutes:.1f} min of audio "
                       f"= {n / minutes:.2f} per minute" + (f" ({', '.join(sorted({r['phrase'] for r in rs if r['got']}))})" if n else ""))
    if lat:
        lat.sort()
        p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))]
        out.append(f"- end-of-speech to command latency: median {1000 * statistics.median(lat):.0f} ms, "
                   f"p95 {1000 * p95:.0f} ms (n={len(lat)})")
    out.append("- right per word: " + ", ".join(
        f"{w} {sum(v)}/{len(v)}" for w, v in sorted(by_word.items(), key=lambda kv: sum(kv[1]) / len(kv[1]))))
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engines", default="whisper,vosk")
    ap.add_argument("--per-condition", type=int, default=40, help="command clips per noise condition")
    ap.add_argument("--full", action="store_true", help="the full corpus (slow: hours for whisper)")
    ap.add_argument("--corpus", type=Path, default=None, help="reuse a corpus folder (per language: DIR/en, DIR/ko)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--split", default="all", choices=["all", "dev", "held-out"],
                    help="corpus voices/speeds: dev (tune on these), held-out (report on these), all")
    ap.add_argument("--snrs", default="", help="only these command conditions, e.g. clean,10,5")
    ap.add_argument("--variants", default="", help="whisper experiments to compare: " + ",".join(VARIANTS))
    ap.add_argument("--rows", type=Path, default=None, help="also write every clip's result (JSON lines) here")
    ap.add_argument("--real", type=Path, default=None, help="real recordings: a folder with MANIFEST.tsv")
    ap.add_argument("--_one", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--_real", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a._real:
        engine, d, variant = a._real
        print(json.dumps(run_real(engine, Path(d), variant)))
        return 0
    if a.real:
        print(f"# Recognition of real people\n\n`{' '.join(['scripts/bench_recognition.py'] + sys.argv[1:])}` "
              f"on {os.cpu_count()} cores (a development set: tuned on, so not a claim about other people)\n")
        for variant in (a.variants or "default").split(","):
            p = subprocess.run([sys.executable, __file__, "--_real", "whisper", str(a.real), variant],
                               capture_output=True, text=True)
            if p.returncode != 0:
                print(f"### {variant}: failed\n\n```\n{p.stderr[-2000:]}\n```\n")
                continue
            res = json.loads(p.stdout.splitlines()[-1])
            if a.rows:
                with open(a.rows, "a", encoding="utf-8") as f:
                    f.writelines(json.dumps(dict(r, variant=variant)) + "\n" for r in res["rows"])
            print(report_real(res, a.real), flush=True)
        return 0
    if a._one:
        engine, language, d, variant = a._one
        print(json.dumps(run_engine(engine, language, Path(d), variant)))
        return 0

    from make_corpus import make_corpus

    from voice_coach.hearing.factory import find_vosk_model
    from voice_coach.settings import HearingSettings

    from make_corpus import CONDITIONS

    conditions = None
    if a.snrs:
        want = {None if w == "clean" else int(w) for w in a.snrs.split(",")}
        conditions = [c for c in CONDITIONS if c[1] in want]
    tmp = tempfile.TemporaryDirectory(prefix="vc-corpus-")
    base = a.corpus or Path(tmp.name)
    if a.variants:
        d = base / "en"
        if not (d / "manifest.jsonl").exists():
            make_corpus(d, "en", a.full, a.per_condition, a.seed, conditions=conditions, split=a.split)
        print(f"# Experiments\n\n`{' '.join(['scripts/bench_recognition.py'] + sys.argv[1:])}`\n\n{SUMMARY_HEAD}")
        for variant in a.variants.split(","):
            p = subprocess.run([sys.executable, __file__, "--_one", "whisper", "en", str(d), variant],
                               capture_output=True, text=True)
            if p.returncode != 0:
                print(f"| {variant} | failed: {p.stderr.strip().splitlines()[-1] if p.stderr.strip() else p.returncode} |")
                continue
            res = json.loads(p.stdout.splitlines()[-1])
            if a.rows:
                with open(a.rows, "a", encoding="utf-8") as f:
                    f.writelines(json.dumps(dict(r, variant=variant)) + "\n" for r in res["rows"])
            print(summary_row(res), flush=True)
        return 0
    print(f"# Recognition benchmark\n\n`{' '.join(['scripts/bench_recognition.py'] + sys.argv[1:])}` "
          f"on {os.cpu_count()} cores; corpus seed {a.seed}, "
          f"{'full' if a.full else f'{a.per_condition} command clips per condition'}\n")
    for engine in a.engines.split(","):
        language = "en"
        if engine == "vosk" and find_vosk_model(HearingSettings(language="en")) is None:
            language = "ko"
        d = base / language
        if not (d / "manifest.jsonl").exists():
            make_corpus(d, language, a.full, a.per_condition, a.seed, conditions=conditions, split=a.split)
        p = subprocess.run([sys.executable, __file__, "--_one", engine, language, str(d), "default"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            print(f"### {engine}: failed\n\n```\n{p.stderr[-2000:]}\n```\n")
            continue
        print(report(json.loads(p.stdout.splitlines()[-1])), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
