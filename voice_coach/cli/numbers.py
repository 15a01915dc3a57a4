"""Number options checked at parse time: ``nan``, ``inf`` and absurd values never reach a timer.

``float("nan")`` passes every ``<= 0`` check and ``inf`` overflows a queue timeout, so every
timing option goes through :func:`positive`, which says which values are accepted.
"""

from __future__ import annotations

import argparse
import math
from typing import Callable


def positive(maximum: float, unit: str = "") -> Callable[[str], float]:
    """An argparse ``type``: a finite number above 0 and at most ``maximum``."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or not 0 < value <= maximum:
            raise argparse.ArgumentTypeError(
                f"{text!r} is out of range: give a number greater than 0 and at most {maximum:g}{unit}")
        return value

    return parse
