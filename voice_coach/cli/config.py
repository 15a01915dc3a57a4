"""``voice-coach config show | path | set KEY VALUE``."""

from __future__ import annotations

import tomli_w

from voice_coach import paths, settings, settings_checks
from voice_coach.errors import UserError


def register(sub) -> None:
    p = sub.add_parser("config", help="show or change the settings")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    csub.add_parser("show", help="print the settings in force").set_defaults(func=_show)
    csub.add_parser("path", help="print where the settings file lives").set_defaults(func=_path)
    s = csub.add_parser("set", help="set one value, e.g. 'config set speech.rate 180'")
    s.add_argument("key")
    s.add_argument("value")
    s.set_defaults(func=_set)


def _show(args) -> int:
    from voice_coach.cli.speech import planned_voice

    current = settings.load()
    print(tomli_w.dumps(settings.to_dict(current)), end="")
    print(f"\n# voice in use: {planned_voice(current.speech)}")
    return 0


def _path(args) -> int:
    print(paths.settings_file())
    return 0


def _set(args) -> int:
    current = settings.load()
    try:
        new = settings.with_value(current, args.key, args.value)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    settings_checks.check_key(new, args.key)  # e.g. the voice is one this machine has; nothing saved if not
    path = settings.save(new)
    print(f"{args.key} = {args.value!s} (saved in {path})")
    return 0
