"""``voice-coach say TEXT [--output-device D] [--wav FILE]``, ``devices [--json]`` and ``voices [--json]``."""

from __future__ import annotations

import json
import threading

from voice_coach import settings as settings_mod
from voice_coach.errors import DeviceError, UserError


def register(sub) -> None:
    p = sub.add_parser("say", help="speak a sentence through the speaker (or write it to a WAV)")
    p.add_argument("text", help="what to say")
    p.add_argument("--output-device", metavar="D", default=None,
                   help="output device: index or name fragment (default: speech.output_device)")
    p.add_argument("--wav", metavar="FILE", default=None, help="write a WAV file instead of playing")
    p.set_defaults(func=_say)

    d = sub.add_parser("devices", help="list audio input and output devices")
    d.add_argument("--json", action="store_true", help="machine-readable output")
    d.set_defaults(func=_devices)

    v = sub.add_parser("voices", help="which voice speaks, and the voices there are")
    v.add_argument("--json", action="store_true", help="machine-readable output")
    v.set_defaults(func=_voices)


def _say(args) -> int:
    from voice_coach.speech import ERROR, FINISHED, STOPPED, Speaker, write_wav
    from voice_coach.speech.engines import engine_for

    speech = settings_mod.load().speech
    if not args.text.strip():
        raise UserError("nothing to say: give some text, e.g. voice-coach say \"Hello\"")
    if args.wav:
        try:
            path = write_wav(args.text, args.wav, speech)
        except OSError as exc:
            raise UserError(f"cannot write {args.wav}: {exc.strerror or exc}") from None
        print(path)
        return 0
    engine_for(speech)  # a bad voice is a clear error here, before any device is opened
    outcome: dict = {}
    done = threading.Event()

    def on_event(ev) -> None:
        if ev.key == "cli" and ev.kind in (FINISHED, STOPPED, ERROR):
            outcome["event"] = ev
            done.set()

    with Speaker(speech, device=args.output_device, on_event=on_event) as speaker:
        speaker.say(args.text, key="cli")
        done.wait()  # the speaker's own watchdog turns a dead device into an error event
    ev = outcome["event"]
    if ev.kind == ERROR:
        raise DeviceError(ev.detail)
    return 0


def _devices(args) -> int:
    from voice_coach import audio

    s = settings_mod.load()
    devices = audio.list_devices()
    picks: dict[str, int | None] = {}
    problems: dict[str, str] = {}
    for kind, spec, resolve in (
        ("output", s.speech.output_device, audio.resolve_output),
        ("input", s.hearing.input_device, audio.resolve_input),
    ):
        try:
            picks[kind] = resolve(spec).index
        except DeviceError as exc:
            picks[kind] = None
            problems[kind] = str(exc)
    if args.json:
        out = {
            "devices": [
                {**d.to_dict(), "picked_output": d.index == picks["output"], "picked_input": d.index == picks["input"]}
                for d in devices
            ],
            "output": picks["output"],
            "input": picks["input"],
            "problems": problems,
        }
        print(json.dumps(out, indent=2))
        return 0
    print(f"{'#':>3}  {'in':>3} {'out':>3}  {'rate':>7}  {'host':<6} name")
    for d in devices:
        marks = []
        if d.index == picks["output"]:
            marks.append(f"<- speaker (speech.output_device = {s.speech.output_device!r})")
        if d.index == picks["input"]:
            marks.append(f"<- microphone (hearing.input_device = {s.hearing.input_device!r})")
        print(f"{d.index:>3}  {d.max_input_channels:>3} {d.max_output_channels:>3}  "
              f"{d.default_samplerate:>7.0f}  {d.hostapi:<6} {d.name}  {' '.join(marks)}".rstrip())
    if not devices:
        print("(no audio devices)")
    for kind, msg in problems.items():
        print(f"{kind}: {msg}")
    print(f"voice: {planned_voice(s.speech)}")
    return 0


def planned_voice(speech) -> str:
    from voice_coach.speech.engines import planned

    try:
        return planned(speech)
    except UserError as exc:
        return str(exc)


def _voices(args) -> int:
    from voice_coach.speech import engines, piper_engine, synth

    speech = settings_mod.load().speech
    engine = engines.engine_for(speech)  # loads the voice: a broken file shows here, as one line
    try:
        piper = piper_engine.load(speech.voice_path, speech.threads).describe()
    except piper_engine.VoiceUnavailable as exc:
        piper = f"not available: {exc}"
    english = [v.id for v in synth.voices() if v.id.split("/")[-1].startswith("en")]
    if args.json:
        print(json.dumps({"speaking": {"engine": engine.engine, "voice": engine.voice,
                                       "description": engine.describe()},
                          "piper": piper, "pyttsx3_english_voices": english}, indent=2))
        return 0
    print(f"speaking with: {engine.describe()}")
    print(f"  (speech.engine = {speech.engine!r}, speech.voice_path = {speech.voice_path!r}, "
          f"speech.voice = {speech.voice!r})")
    print(f"piper: {piper}")
    print(f"pyttsx3 / espeak-ng English voices ({len(english)}): {', '.join(english)}")
    print("licences: piper-tts is GPL-3.0; the bundled voice en_US-joe-medium is trained on a CC0 "
          "dataset, fine-tuned from the lessac voice (its model card); espeak-ng is GPL-3.0")
    return 0
