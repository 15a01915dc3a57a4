"""Allows ``python -m voice_coach``. Ctrl-C while it is still starting up exits quietly (130)."""

try:
    from voice_coach.cli import main
except KeyboardInterrupt:
    raise SystemExit(130) from None

raise SystemExit(main())
