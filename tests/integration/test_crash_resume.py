"""A session killed mid-way (SIGKILL: no chance to clean up) is offered for resuming, history intact."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from voice_coach.history import HistoryStore
from vc_cli import voice_coach


def _read_until(proc: subprocess.Popen, predicate, timeout: float = 30.0) -> list[dict]:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        event = json.loads(line)
        seen.append(event)
        if predicate(event):
            return seen
    raise AssertionError(f"never saw the expected event; got {seen[-5:]}")


def test_sigkill_mid_session_then_the_next_run_offers_to_resume_at_the_right_step():
    proc = subprocess.Popen([sys.executable, "-m", "voice_coach", "run", "ice-rollerball", "--text", "--json",
                             "--no-pain"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env=os.environ.copy())
    try:
        _read_until(proc, lambda e: e["type"] == "question" and e["question"] == "safety")
        proc.stdin.write("no\nnext\nnext\n")
        proc.stdin.flush()
        _read_until(proc, lambda e: e["type"] == "step" and e["index"] == 3)  # the 12-minute ice step
        time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    with HistoryStore.open() as store:
        record = store.interrupted()
        assert record is not None and record.ended is None
        assert record.routine == "ice-rollerball"
        assert record.resume_index == 3
        assert record.steps_done == 3  # safety, who-should-not-ice, prepare

    result = voice_coach("run", "--text", "--json", "--no-pain", input="resume\nno\nstop\nyes\n", timeout=60)
    assert result.returncode == 0, result.stderr
    events = [json.loads(x) for x in result.stdout.splitlines()]
    offer = events[0]
    assert offer["kind"] == "notice"
    assert "You were on step 4 of 6, Cold rolling" in offer["text"]
    steps = [e for e in events if e["type"] == "step"]
    # the safety question is asked again (the answer may have changed since), then it goes on at the ice
    assert [(e["index"], e["id"]) for e in steps[:2]] == [(0, "safety"), (3, "ice")]
    assert events[-1]["type"] == "end" and events[-1]["reason"] == "stopped"

    with HistoryStore.open() as store:
        assert store.interrupted() is None
        sessions = store.sessions()
        assert len(sessions) == 1  # the same session went on, not a new one
        assert sessions[0].steps_done == 3 and sessions[0].end_reason == "stopped"


def test_saying_new_starts_over_and_closes_the_interrupted_session():
    proc = subprocess.Popen([sys.executable, "-m", "voice_coach", "run", "massager-back", "--text", "--json",
                             "--no-pain"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        _read_until(proc, lambda e: e["type"] == "question" and e["question"] == "safety")
        proc.stdin.write("no\n")
        proc.stdin.flush()
        _read_until(proc, lambda e: e["type"] == "step" and e["index"] == 1)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    result = voice_coach("run", "massager-back", "--text", "--json", "--no-pain", input="new\nstop\nyes\n")
    assert result.returncode == 0, result.stderr
    events = [json.loads(x) for x in result.stdout.splitlines()]
    assert [e for e in events if e["type"] == "step"][0]["index"] == 0
    with HistoryStore.open() as store:
        reasons = sorted(s.end_reason for s in store.sessions())
        assert reasons == ["interrupted", "stopped"]
