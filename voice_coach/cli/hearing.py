"""``voice-coach listen`` (microphone or WAV files) and ``voice-coach model download|list``."""

from __future__ import annotations

import dataclasses
import json
import sys
import threading

from voice_coach import settings as settings_mod
from voice_coach.cli.invocation import command
from voice_coach.errors import UserError


def register(sub) -> None:
    p = sub.add_parser("listen", help="print the commands heard from the microphone or in WAV files")
    p.add_argument("--wav", metavar="FILE", nargs="+", default=None, help="recognize these audio files instead")
    p.add_argument("--engine", choices=settings_mod.ENGINES, default=None, help="default: hearing.engine")
    p.add_argument("--model", metavar="PATH", default=None, help="a Vosk or CTranslate2 Whisper model folder")
    p.add_argument("--language", default=None, help="command language (default: hearing.language)")
    p.add_argument("--words", nargs="+", metavar="WORD", default=None,
                   help="listen only for these phrases (default: the whole vocabulary)")
    p.add_argument("--input-device", metavar="D", default=None, help="microphone: index or name fragment")
    p.add_argument("--json", action="store_true", help="one JSON object per recognized command")
    p.add_argument("--all", action="store_true", help="also print speech that was not a command")
    p.set_defaults(func=_listen)

    m = sub.add_parser("model", help="download or list speech models")
    msub = m.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    d = msub.add_parser("download", help="download a Vosk model (default: vosk-model-small-en-us-0.15)")
    d.add_argument("name", nargs="?", default=None)
    d.add_argument("--url-base", default=None, help="where the models and model-list.json are served")
    d.add_argument("--to", metavar="DIR", default=None, help="models folder (default: the per-user one)")
    d.set_defaults(func=_download)
    ls = msub.add_parser("list", help="show the installed speech models")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=_list)


def _hearing(args):
    h = settings_mod.load().hearing
    changes = {k: v for k, v in (("engine", args.engine), ("model_path", args.model),
                                 ("language", args.language), ("input_device", args.input_device)) if v is not None}
    return dataclasses.replace(h, **changes)


def _record(file: str, h) -> dict:
    return {"file": file, "command": h.command.value if h.command else None, "number": h.number,
            "text": h.text, "start": h.start, "end": h.end, "confidence": h.confidence}


def _print(h, file: str | None, as_json: bool, show_all: bool) -> None:
    if h.command is None and not show_all:
        return
    if as_json:
        rec = _record(file or "-", h)
        if file is None:
            rec.pop("file")
        print(json.dumps(rec, ensure_ascii=False), flush=True)
        return
    what = "(not a command)" if h.command is None else h.command.value + (f" {h.number}" if h.number is not None else "")
    where = f"{file}: " if file else ""
    conf = f" conf {h.confidence:.2f}" if h.confidence is not None else ""
    print(f"\r{where}{h.start:7.2f}-{h.end:6.2f}s  {what:<16} \"{h.text}\"{conf}", flush=True)


def _listen(args) -> int:
    from voice_coach.hearing import make_recognizer
    from voice_coach.hearing.pcm import read_audio
    from voice_coach.hearing.wav import recognize_pcm

    hearing = _hearing(args)
    if args.wav:
        audio = [(f, read_audio(f)) for f in args.wav]  # every file readable before any work
        rec = make_recognizer(hearing, args.words)
        for file, pcm in audio:
            for h in recognize_pcm(rec, pcm):
                _print(h, file, args.json, args.all)
        return 0
    return _listen_live(hearing, args)


def _listen_live(hearing, args) -> int:
    from voice_coach.hearing import make_recognizer
    from voice_coach.hearing.listener import Listener

    rec = make_recognizer(hearing, args.words)
    meter = sys.stderr.isatty() and not args.json
    stop = threading.Event()

    def on_heard(h):
        _print(h, None, args.json, args.all)

    def on_status(state, message):
        print(f"\r[{state}] {message}", file=sys.stderr, flush=True)

    listener = Listener(hearing, on_heard, on_status, recognizer=rec)
    print(f"Listening with {getattr(rec, 'engine', '?')} ({hearing.language}); say a command, Ctrl-C to stop.",
          file=sys.stderr, flush=True)
    listener.start()
    try:
        while not stop.wait(0.1):
            if meter:
                db = listener.level_db()
                bars = int(max(0.0, min(60.0, db + 60.0)) / 2)
                print(f"\rlevel {db:6.1f} dBFS |{'#' * bars:<30}|", end="", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        listener.stop()
        if meter:
            print(file=sys.stderr)
    return 0


def _download(args) -> int:
    from pathlib import Path

    from voice_coach.hearing import models
    from voice_coach.hearing.factory import DEFAULT_VOSK_MODEL

    name = args.name or DEFAULT_VOSK_MODEL
    if "/" in name or name.startswith("."):
        raise UserError(f"{name!r} is not a model name (e.g. {DEFAULT_VOSK_MODEL})")
    path = models.download(name, args.url_base or models.DEFAULT_URL_BASE,
                           Path(args.to).expanduser() if args.to else None, progress=sys.stderr.isatty())
    print(f"{name} is installed in {path}")
    return 0


def _list(args) -> int:
    from voice_coach.hearing import models

    found = models.installed()
    if args.json:
        print(json.dumps([{"engine": m.engine, "name": m.name, "language": m.language, "path": str(m.path)}
                          for m in found], ensure_ascii=False, indent=2))
        return 0
    if not found:
        print(f"no speech models installed; run '{command()} model download'")
    for m in found:
        print(f"{m.engine:<8} {m.language:<3} {m.name:<45} {m.path}")
    return 0
