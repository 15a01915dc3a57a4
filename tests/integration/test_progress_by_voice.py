"""Issue 7 through the session: "how am I doing?" and the clinician advice at the end, from the real history."""

from __future__ import annotations

import json
import sys
from datetime import date, timedelta
from pathlib import Path

from voice_coach.history import HistoryStore
from voice_coach.history.progress import ADVICE_TEXT
from vc_cli import voice_coach

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from test_history_data import generate, write  # noqa: E402

FINISH = "\n".join(["skip", "no"] + ["next"] * 12 + ["skip"]) + "\n"


def _says(stdout: str) -> list[str]:
    return [e["text"] for e in map(json.loads, stdout.splitlines()) if e["type"] == "say"]


def _seed(level) -> None:
    plan = generate(date.today() - timedelta(days=1), months=2, seed=3, level=level)
    with HistoryStore.open() as store:
        write(store, plan)


def test_worsening_pain_gets_the_clinician_advice_once_at_the_end_of_a_session():
    _seed(lambda i, n: 3.0 + 4.0 * i / n)  # from 3 to 7 over two months
    first = voice_coach("run", "ice-rollerball", "--text", "--json", input=FINISH, timeout=60)
    assert first.returncode == 0, first.stderr
    assert ADVICE_TEXT in _says(first.stdout)
    second = voice_coach("run", "ice-rollerball", "--text", "--json", input=FINISH, timeout=60)
    assert ADVICE_TEXT not in _says(second.stdout)  # said once, not at every session


def test_improving_pain_gets_no_advice_and_how_am_i_doing_gets_a_summary():
    _seed(lambda i, n: 7.0 - 4.0 * i / n)
    result = voice_coach("run", "ice-rollerball", "--text", "--json",
                         input="how am i doing\n" + FINISH, timeout=60)
    assert result.returncode == 0, result.stderr
    says = _says(result.stdout)
    assert ADVICE_TEXT not in says
    summary = [s for s in says if "pain" in s.lower() and "averaged" in s.lower()]
    assert summary, says[:6]
