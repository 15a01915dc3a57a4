"""``voice-coach schedule ...`` as separate processes on one real SQLite job store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from voice_coach.schedule.store import next_local


def vc(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "voice_coach", *args], capture_output=True, text=True,
                          timeout=60, env=os.environ.copy())
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def listing() -> list[dict]:
    return json.loads(vc("schedule", "list", "--json").stdout)


def test_added_in_one_process_listed_by_another_with_the_right_next_run():
    vc("schedule", "add", "evening-back-relief", "--daily", "20:00", "--tz", "America/New_York")
    vc("schedule", "add", "foam-roller", "--daily", "07:15", "--days", "sat,sun", "--tz", "Europe/Berlin")
    entries = {e["routine"]: e for e in listing()}
    evening, rolling = entries["evening-back-relief"], entries["foam-roller"]
    assert evening["kind"] == "session" and evening["tz"] == "America/New_York" and evening["paused"] is False
    ny = ZoneInfo("America/New_York")
    expected = next_local(time(20, 0), ny)
    if expected <= datetime.now(timezone.utc):
        expected = next_local(time(20, 0), ny, expected.replace(hour=21))
    assert datetime.fromisoformat(evening["next_run"]) == expected
    assert evening["next_run"].endswith(expected.strftime("%z")[:3] + ":" + expected.strftime("%z")[3:])
    weekend = datetime.fromisoformat(rolling["next_run"])
    assert weekend.strftime("%a %H:%M") in ("Sat 07:15", "Sun 07:15")
    assert weekend.utcoffset() == weekend.astimezone(ZoneInfo("Europe/Berlin")).utcoffset()


def test_bad_input_is_refused_and_changes_nothing():
    vc("schedule", "add", "evening-back-relief", "--daily", "20:00", "--tz", "UTC")
    before = listing()
    cases = [
        (["schedule", "add", "no-such-routine", "--daily", "20:00"], "Known routines: "),
        (["schedule", "add", "evening-back-relief", "--daily", "8pm"], "HH:MM"),
        (["schedule", "add", "evening-back-relief", "--daily", "20:00", "--tz", "Mars/Olympus"], "unknown time zone"),
        (["schedule", "add", "evening-back-relief", "--daily", "20:00", "--days", "someday"], "not a day"),
        (["schedule", "ice", "--every", "30m", "--for", "4h"], "at most about once an hour"),
        (["schedule", "ice", "--every", "60m", "--for", "4h", "--minutes", "30"], "10 to 20 minutes"),
        (["schedule", "roll", "--every", "2h", "--for", "6h", "--region", "lower back"], "lower spine"),
        (["schedule", "remove", "session-000000"], "no schedule entry"),
    ]
    for args, message in cases:
        proc = vc(*args, check=False)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert message in proc.stderr and "Traceback" not in proc.stderr, (args, proc.stderr)
    assert listing() == before


def test_overlapping_ice_plans_are_refused():
    # both starts in the future, 90 min apart, whatever the time of day the test runs at ("HH:MM"
    # means its next occurrence: fixed clock times stopped overlapping after 10:00 UTC)
    first = (datetime.now(timezone.utc) + timedelta(minutes=30)).replace(second=0, microsecond=0)
    second = first + timedelta(minutes=90)
    vc("schedule", "ice", "--every", "60m", "--for", "3h", "--start", first.strftime("%H:%M"), "--tz", "UTC")
    before = listing()
    proc = vc("schedule", "ice", "--every", "60m", "--for", "2h", "--start", second.strftime("%H:%M"), "--tz", "UTC",
              check=False)
    assert proc.returncode == 2 and "overlaps an existing ice plan" in proc.stderr
    assert listing() == before
    (plan,) = before
    assert plan["kind"] == "ice" and plan["region"] == "lower back" and plan["minutes"] == 10
    assert datetime.fromisoformat(plan["next_run"]).astimezone(timezone.utc).strftime("%H:%M") == first.strftime("%H:%M")


def test_pause_resume_remove():
    vc("schedule", "add", "evening-back-relief", "--daily", "21:00")
    (entry,) = listing()
    said = vc("schedule", "pause", entry["id"]).stdout
    assert "paused: no next run until resumed" in said and "next paused" not in said
    (paused,) = listing()
    assert paused["paused"] is True and paused["next_run"] is None
    vc("schedule", "resume", entry["id"])
    assert listing() == [entry]
    assert "removed" in vc("schedule", "remove", entry["id"]).stdout
    assert listing() == []
    assert "no schedule entries" in vc("schedule", "list").stdout


def test_one_round_is_one_round_not_1_rounds():
    said = vc("schedule", "ice", "--every", "60m", "--for", "30m", "--start", "23:30").stdout
    assert "; 1 round, " in said, said


def test_hints_name_the_command_that_works_when_voice_coach_is_not_on_path():
    script = os.path.join(sys.prefix, "bin", "voice-coach")
    assert os.path.exists(script), f"{script} is missing: install the package into this environment (pip install -e .)"
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "voice_coach", "schedule", "list"], capture_output=True, text=True,
                         timeout=60, env=env, cwd=sys.prefix).stdout
    assert "add one with 'bin/voice-coach schedule add" in out, out  # relative to the folder it runs in
    out = subprocess.run([sys.executable, "-m", "voice_coach", "schedule", "list"], capture_output=True, text=True,
                         timeout=60, env=env, cwd="/").stdout
    assert f"add one with '{script} schedule add" in out, out
    on_path = {**os.environ, "PATH": os.path.dirname(script) + ":/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "voice_coach", "schedule", "list"], capture_output=True, text=True,
                         timeout=60, env=on_path).stdout
    assert "add one with 'voice-coach schedule add" in out, out
