"""Small wording helpers shared by the command line and the report."""

from __future__ import annotations


def plural(n: int | float, singular: str, plural_form: str | None = None) -> str:
    """``plural(1, "round")`` -> "1 round"; ``plural(3, "round")`` -> "3 rounds"."""
    word = singular if n == 1 else (plural_form or singular + "s")
    return f"{n:g} {word}" if isinstance(n, float) else f"{n} {word}"
