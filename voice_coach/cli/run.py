"""``voice-coach run [ROUTINE]`` and ``voice-coach simulate ROUTINE``."""

from __future__ import annotations

import json

from voice_coach import routines, settings
from voice_coach.cli.numbers import positive
from voice_coach.simulate import parse_script, simulate


def register(sub) -> None:
    run = sub.add_parser("run", help="run a session (speaks and listens; --text to type instead)")
    run.add_argument("routine", nargs="?", help="routine id or .toml path (default: the settings' default routine)")
    run.add_argument("--text", action="store_true", help="print what the coach says and read typed commands")
    run.add_argument("--json", action="store_true", help="print one JSON object per event")
    run.add_argument("--time-scale", type=positive(10_000), default=1.0, metavar="N",
                     help="run timers N times faster (0 < N <= 10000)")
    run.add_argument("--output-device", help="speaker: a device index or name fragment")
    run.add_argument("--input-device", help="microphone: a device index or name fragment")
    run.add_argument("--engine", choices=("auto", "vosk", "whisper"), help="speech recognizer")
    run.add_argument("--model", help="recognizer model folder")
    run.add_argument("--no-listen", action="store_true", help="speak, but take typed commands only")
    run.add_argument("--no-pain", action="store_true", help="do not ask for pain ratings")
    run.add_argument("--new", action="store_true", help="start over even if a session was interrupted")
    run.set_defaults(func=_run)

    sim = sub.add_parser("simulate", help="run a routine instantly on a virtual clock and print the timeline")
    sim.add_argument("routine")
    sim.add_argument("--commands", default="",
                     help='e.g. "90s pause, 120s resume, ready, it\'s about a six, silence, mumble, yes"')
    sim.add_argument("--json", action="store_true", help="one JSON object per event")
    sim.add_argument("--no-pain", action="store_true", help="do not ask for pain ratings")
    sim.set_defaults(func=_simulate)


def _run(args) -> int:
    from voice_coach import settings_checks
    from voice_coach.app import run_from_cli

    conf = settings.load()
    if not args.text:  # a typed session neither speaks nor listens
        settings_checks.check_all(conf)
    return run_from_cli(args, conf)


def _simulate(args) -> int:
    conf = settings.load()
    routine = routines.find(args.routine)
    script = parse_script(args.commands, "en")
    from voice_coach.app import reprompts

    timeline = simulate(routine, script, rate_wpm=conf.speech.rate,
                        ask_pain=conf.session.ask_pain and not args.no_pain, reprompts=reprompts(conf))
    if args.json:
        for item in timeline:
            print(json.dumps(item, ensure_ascii=False))
        return 0
    for item in timeline:
        line = _human(item)
        if line:
            print(f"{_clock(item['t'])}  {line}")
    print(f"total: {_clock(timeline[-1]['t'])} ({timeline[-1]['t']:.0f} s)")
    return 0


def _clock(t: float) -> str:
    m, s = divmod(int(round(t)), 60)
    return f"{m:3d}:{s:02d}"


def _human(item: dict) -> str | None:
    kind = item["type"]
    if kind == "say":
        return f"says: {item['text']}"
    if kind == "step":
        return f"step {item['index'] + 1}/{item['total']}: {item['title']}"
    if kind in ("paused", "resumed"):
        return kind
    if kind == "end":
        return f"end ({item['reason']})"
    if kind == "chime":
        return f"(chime: {item['kind']})"
    return None
