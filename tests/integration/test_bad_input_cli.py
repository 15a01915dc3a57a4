"""Issue 15, findings 6, 8 and 9 at the command line: bad input gets one clear line, never a traceback,
and one broken routine file never breaks a command that does not use it."""

from __future__ import annotations

import json
import sqlite3

import pytest

from voice_coach import paths

from vc_cli import voice_coach

DEEP = "a = " + "[" * 5000 + "]" * 5000 + "\n"


def clean_error(result, needle: str) -> None:
    assert result.returncode != 0, result.stdout
    assert needle in result.stderr, result.stderr
    assert "Traceback" not in result.stderr, result.stderr


@pytest.fixture
def broken_user_routine():
    folder = paths.user_routines_dir()
    folder.mkdir(parents=True)
    (folder / "deep.toml").write_text(DEEP, encoding="utf-8")
    return folder / "deep.toml"


# --- finding 6: one broken user routine -----------------------------------------------------------

def test_a_deeply_nested_user_routine_does_not_break_list_run_or_schedule_add(broken_user_routine):
    listed = voice_coach("routines", "list", "--json")
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr
    assert "evening-back-relief" in {r["id"] for r in json.loads(listed.stdout)}
    assert f"left out the routine file {broken_user_routine}" in listed.stderr
    assert "nested too deeply" in listed.stderr

    ran = voice_coach("run", "ice-rollerball", "--text", "--no-pain", input="stop\nyes\n")
    assert ran.returncode == 0 and "Traceback" not in ran.stderr, ran.stderr
    assert "session ended (stopped)" in ran.stdout

    added = voice_coach("schedule", "add", "evening-back-relief", "--daily", "20:00", "--tz", "UTC")
    assert added.returncode == 0 and "Traceback" not in added.stderr, added.stderr

    checked = voice_coach("routines", "check", str(broken_user_routine))
    clean_error(checked, f"{broken_user_routine}:1: lists or tables are nested too deeply")


def test_routines_check_refuses_the_2000_step_routine_that_simulate_could_not_finish(tmp_path):
    lines = ['[routine]', 'title = "Big"']
    for i in range(2000):
        lines += ["[[steps]]", f'id = "s{i}"', 'title = "t"', 'say = "Hold it."', "duration = 60", 'sides = ["l", "r"]']
    path = tmp_path / "big.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    clean_error(voice_coach("routines", "check", str(path)), "the routine has 2000 steps; at most 100")
    clean_error(voice_coach("simulate", str(path)), "the routine has 2000 steps")


def test_an_escape_sequence_in_a_title_never_reaches_the_terminal():
    folder = paths.user_routines_dir()
    folder.mkdir(parents=True)
    (folder / "evil.toml").write_text('[routine]\ntitle = "Evil\\u001b]0;pwned\\u0007\\u001b[2J"\n'
                                      '[[steps]]\nid = "a"\ntitle = "A"\nsay = "Hello."\n', encoding="utf-8")
    listed = voice_coach("routines", "list")
    assert listed.returncode == 0
    assert "\x1b" not in listed.stdout + listed.stderr and "\x07" not in listed.stdout + listed.stderr
    assert "evil.toml:2: 'title' in [routine] contains the control character U+001B" in listed.stderr


# --- finding 8: small validation gaps ---------------------------------------------------------------

@pytest.mark.parametrize("args, needle", [
    (("run", "--text", "--time-scale", "nan"), "argument --time-scale: 'nan' is out of range"),
    (("run", "--text", "--time-scale", "inf"), "argument --time-scale: 'inf' is out of range"),
    (("run", "--text", "--time-scale", "-1"), "argument --time-scale: '-1' is out of range"),
    (("serve", "--poll", "nan"), "argument --poll: 'nan' is out of range"),
    (("serve", "--poll", "inf"), "argument --poll: 'inf' is out of range"),
    (("serve", "--answer-timeout", "1e300"), "argument --answer-timeout: '1e300' is out of range"),
    (("serve", "--snooze", "nan"), "argument --snooze: 'nan' is out of range"),
    (("serve", "--time-scale", "nan"), "argument --time-scale: 'nan' is out of range"),
    (("history", "--since", "99999999999d"), "'99999999999d' reaches back before the year 1; use --since all"),
    (("report", "--since", "99999999999d", "--out", "r.html"), "reaches back before the year 1"),
])
def test_out_of_range_numbers_are_refused_with_one_line(args, needle):
    result = voice_coach(*args, input="", timeout=60)
    clean_error(result, needle)


@pytest.mark.parametrize("line, needle", [
    ("[speech]\nrate = inf\n", "speech.rate must be a whole number, not inf"),
    ("[speech]\ncache_mb = inf\n", "speech.cache_mb must be a whole number, not inf"),
    ("[speech]\nvolume = nan\n", "speech.volume must be a finite number, not nan"),
    ("[hearing]\nmax_utterance_s = inf\n", "hearing.max_utterance_s must be a finite number, not inf"),
])
def test_non_finite_numbers_in_settings_are_refused(line, needle):
    paths.settings_file().parent.mkdir(parents=True, exist_ok=True)
    paths.settings_file().write_text(line, encoding="utf-8")
    clean_error(voice_coach("config", "show"), needle)


def _store_with_a_bad_row() -> tuple[str, str]:
    good = voice_coach("schedule", "add", "evening-back-relief", "--daily", "20:00", "--tz", "UTC", check=True)
    bad = voice_coach("schedule", "add", "foam-roller", "--daily", "07:00", "--tz", "UTC", check=True)
    good_id, bad_id = (r.stdout.split()[1].rstrip(":") for r in (good, bad))
    with sqlite3.connect(paths.schedule_db()) as db:
        db.execute("UPDATE apscheduler_jobs SET job_state = ? WHERE id = ?", (b"not a pickle", bad_id))
    return good_id, bad_id


def test_a_bad_row_in_the_schedule_store_is_reported_and_never_deleted():
    good_id, bad_id = _store_with_a_bad_row()
    for _ in range(2):  # the stock job store deleted the row on the first look
        listed = voice_coach("schedule", "list", "--json")
        assert listed.returncode == 1 and "Traceback" not in listed.stderr, listed.stderr
        assert [e["id"] for e in json.loads(listed.stdout)] == [good_id]
        assert f"schedule entry {bad_id} in {paths.schedule_db()} cannot be read" in listed.stderr
        assert f"voice-coach schedule remove {bad_id}' and add it again" in listed.stderr
    with sqlite3.connect(paths.schedule_db()) as db:
        assert {r[0] for r in db.execute("SELECT id FROM apscheduler_jobs")} == {good_id, bad_id}
    removed = voice_coach("schedule", "remove", bad_id)
    assert removed.returncode == 0, removed.stderr
    listed = voice_coach("schedule", "list", "--json")
    assert listed.returncode == 0 and listed.stderr == ""


def test_a_damaged_schedule_file_is_one_clear_error_and_left_as_it_was():
    db = paths.schedule_db()
    db.parent.mkdir(parents=True, exist_ok=True)
    garbage = b"this is not a database\n" * 200
    db.write_bytes(garbage)
    for args in (("schedule", "list"), ("schedule", "add", "foam-roller", "--daily", "07:00"),
                 ("schedule", "remove", "session-abc")):
        result = voice_coach(*args)
        clean_error(result, "is damaged (file is not a database)")
        assert str(db) in result.stderr
    assert db.read_bytes() == garbage


# --- finding 9: the same entry twice -------------------------------------------------------------

def test_the_same_schedule_add_twice_is_refused():
    first = voice_coach("schedule", "add", "evening-back-relief", "--daily", "20:00", "--tz", "Europe/Berlin")
    assert first.returncode == 0, first.stderr
    entry_id = first.stdout.split()[1].rstrip(":")
    again = voice_coach("schedule", "add", "evening-back-relief", "--daily", "20:00", "--tz", "Europe/Berlin")
    clean_error(again, f"evening-back-relief is already scheduled daily 20:00 (Europe/Berlin) as {entry_id}; "
                       "nothing was added")
    other_day = voice_coach("schedule", "add", "evening-back-relief", "--daily", "20:00", "--days", "sat",
                            "--tz", "Europe/Berlin")
    assert other_day.returncode == 0, other_day.stderr
    assert len(json.loads(voice_coach("schedule", "list", "--json", check=True).stdout)) == 2
