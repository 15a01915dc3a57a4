"""The foundation's command line, run as a person would: routines, simulate, run --text, config."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from voice_coach.routines import builtin_files, load_file

from vc_cli import voice_coach

BUILTIN_IDS = [load_file(p, builtin=True).id for p in builtin_files()]


def test_version_and_help():
    assert voice_coach("--version", check=True).stdout.startswith("voice-coach ")
    assert "routines" in voice_coach("--help", check=True).stdout


def test_routines_list_json_has_every_builtin():
    items = json.loads(voice_coach("routines", "list", "--json", check=True).stdout)
    assert {i["id"] for i in items} >= set(BUILTIN_IDS) | {"evening-back-relief"}
    for item in items:
        assert item["title"] and item["minutes"] > 0


def test_routines_show_and_unknown_name():
    shown = json.loads(voice_coach("routines", "show", "ice-rollerball", "--json", check=True).stdout)
    assert shown["id"] == "ice-rollerball" and shown["step_list"][0]["kind"] == "safety"
    bad = voice_coach("routines", "show", "ice-roller")
    assert bad.returncode != 0
    assert "Did you mean 'ice-rollerball'" in bad.stderr and "Traceback" not in bad.stderr


def test_check_passes_on_every_builtin():
    result = voice_coach("routines", "check", *map(str, builtin_files()))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": ok (") == len(BUILTIN_IDS)
    assert "warning" not in result.stdout


def test_check_on_a_broken_file_prints_file_line_messages(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(textwrap.dedent("""\
        [routine]
        title = "Broken"

        [[steps]]
        id = "one"
        title = "One"
        say = "Hello."
        duraton = "30s"

        [[steps]]
        id = "ice"
        kind = "ice"
        title = "Ice"
        say = "Ice with a cloth."
        duration = "25m"
        """))
    result = voice_coach("routines", "check", str(bad))
    assert result.returncode == 1
    assert f"{bad}:8: unknown key 'duraton' in step 'one'. Did you mean 'duration'?" in result.stderr
    assert f"{bad}:15: " in result.stderr and "20 minutes" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_on_bad_toml_and_non_routine(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text('[routine]\ntitle = "x\n')
    notroutine = tmp_path / "settings.toml"
    notroutine.write_text('[speech]\nrate = 150\n')
    result = voice_coach("routines", "check", str(broken), str(notroutine))
    assert result.returncode == 1
    assert f"{broken}:2: not valid TOML" in result.stderr
    assert f"{notroutine}:1: this is not a voice-coach routine" in result.stderr


@pytest.mark.parametrize("routine_id", BUILTIN_IDS)
def test_simulate_json_timeline_matches_the_routine(routine_id):
    lines = voice_coach("simulate", routine_id, "--json", check=True).stdout.splitlines()
    events = [json.loads(line) for line in lines]
    assert all(isinstance(e["t"], (int, float)) and "type" in e for e in events)
    assert [e["t"] for e in events] == sorted(e["t"] for e in events)
    assert events[-1] == {"t": events[-1]["t"], "type": "end", "reason": "finished"}
    routine = load_file(next(p for p in builtin_files() if load_file(p).id == routine_id))
    timers = sum(s.total_seconds for s in routine.steps)
    says = [e for e in events if e["type"] == "say"]
    assert all(e["text"] for e in says)
    steps = [e for e in events if e["type"] == "step"]
    assert [e["index"] for e in steps] == list(range(len(routine.steps)))
    assert [e["id"] for e in steps] == [s.id for s in routine.steps]
    # every timer runs in full, plus the time it takes to say what is said between timers
    assert timers < events[-1]["t"] < timers + 60 * 15


def test_simulate_pause_resume_shifts_the_rest_by_the_paused_time():
    base = [json.loads(x) for x in voice_coach("simulate", "massager-back", "--json", check=True).stdout.splitlines()]
    shifted = [json.loads(x) for x in voice_coach(
        "simulate", "massager-back", "--json", "--commands", "100s pause, 175s resume").stdout.splitlines()]
    assert shifted[-1]["t"] == pytest.approx(base[-1]["t"] + 75.0)
    assert [e["type"] for e in shifted].count("paused") == 1
    after = [e for e in base if e["t"] > 100 and e["type"] == "step"]
    after_shifted = [e for e in shifted if e["t"] > 100 and e["type"] == "step"]
    assert [e["t"] + 75.0 for e in after] == pytest.approx([e["t"] for e in after_shifted])


def test_simulate_rejects_a_bad_command_script():
    result = voice_coach("simulate", "ice-rollerball", "--commands", "90s jump")
    assert result.returncode != 0 and "'jump' is not a command" in result.stderr


def test_run_text_goes_through_the_default_routine_with_typed_commands():
    typed = "\n".join(["6", "yes", "no"] + ["next"] * 40 + ["skip", "2", "yes"]) + "\n"
    result = voice_coach("run", "--text", "--json", "--time-scale", "1000", input=typed, timeout=120)
    assert result.returncode == 0, result.stderr
    events = [json.loads(x) for x in result.stdout.splitlines()]
    assert events[-1]["type"] == "end"
    assert events[0]["type"] == "say" and "Evening back relief" in events[0]["text"]
    assert {"t", "type"} <= set(events[-1])
    pain = [e for e in events if e["type"] == "pain"]
    assert pain[0] == {"t": pain[0]["t"], "type": "pain", "when": "before", "value": 6}


def test_run_text_human_output_and_unknown_typed_word():
    result = voice_coach("run", "ice-rollerball", "--text", "--no-pain", input="jump\nno\nstop\nyes\n")
    assert result.returncode == 0, result.stderr
    assert "coach: Sorry?" in result.stdout
    assert "--- session ended (stopped)" in result.stdout


def test_config_set_show_and_bad_values():
    assert voice_coach("config", "set", "speech.rate", "180", check=True).returncode == 0
    assert "rate = 180" in voice_coach("config", "show", check=True).stdout
    bad = voice_coach("config", "set", "speech.rate", "fast")
    assert bad.returncode != 0 and "whole number" in bad.stderr
    bad = voice_coach("config", "set", "speech.rte", "150")
    assert bad.returncode != 0 and "unknown key speech.rte" in bad.stderr
    assert voice_coach("config", "path", check=True).stdout.strip().endswith("voice-coach/settings.toml")


def test_bare_command_prints_help_and_exits_2():
    p = voice_coach()
    assert p.returncode == 2 and "usage: voice-coach" in p.stderr and "routines" in p.stderr


def test_config_set_refuses_a_voice_this_machine_lacks_and_names_the_ones_it_has():
    bad = voice_coach("config", "set", "speech.voice", "nonexistent-voice")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "no voice matches speech.voice = 'nonexistent-voice'" in bad.stderr and "gmw/en-us" in bad.stderr
    assert "nonexistent" not in voice_coach("config", "show", check=True).stdout  # nothing saved
    assert voice_coach("config", "set", "speech.voice", "en-us", check=True).returncode == 0
    assert 'voice = "en-us"' in voice_coach("config", "show", check=True).stdout
    bad = voice_coach("config", "set", "hearing.language", "xx")
    assert bad.returncode == 2 and "available: en, ko" in bad.stderr
    bad = voice_coach("config", "set", "hearing.model_path", "/no/such/folder")
    assert bad.returncode == 2 and "is not a folder" in bad.stderr


def test_a_hand_edited_bad_voice_stops_run_and_serve_with_one_line(tmp_path):
    path = Path(voice_coach("config", "path", check=True).stdout.strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('[speech]\nvoice = "nonexistent-voice"\n', encoding="utf-8")
    for args in (("run", "--no-listen", "--output-device", "nothing-like-this"), ("serve", "--db", str(tmp_path / "s.db"))):
        p = voice_coach(*args, input="")
        assert p.returncode == 2, (args, p.stderr)
        assert p.stderr.count("no voice matches") == 1 and p.stderr.count("\n") == 1, p.stderr
    # typed sessions do not speak, so they still run
    assert voice_coach("run", "--text", "--no-pain", input="stop\n", check=True).returncode == 0


def test_verbose_works_after_the_command_too():
    """``./scripts/run -v`` passes -v after ``run``: it must reach the top-level verbosity."""
    from voice_coach.cli import build_parser

    parser = build_parser()
    for argv, level in ((["run", "--text"], 0), (["-v", "run", "--text"], 1), (["run", "-v", "--text"], 1),
                        (["run", "--text", "-vv"], 2), (["schedule", "list", "-v"], 1), (["serve", "-v"], 1)):
        assert parser.parse_args(argv).verbose == level, argv
    assert voice_coach("run", "-v", "--text", "--no-pain", input="stop\n", check=True).returncode == 0
