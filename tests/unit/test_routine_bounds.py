"""Issue 15, findings 6 and 8: a routine file is untrusted input, so reading and checking it is bounded.

Each test builds the bad file the tester found (deep nesting, a huge cue count, a FIFO, 2,000 steps,
escape sequences, a byte-order mark) and asserts the file is refused (or accepted) with a clear
``path:line`` problem, and that the other routines still load.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from voice_coach.routines import check_file, find, load_all
from voice_coach.routines import loader
from voice_coach.simulate import simulate

HEAD = '[routine]\nid = "test"\ntitle = "Test routine"\n'


def step(i: int, body: str = "") -> str:
    return f'\n[[steps]]\nid = "s{i}"\ntitle = "Step {i}"\nsay = "Hello there."\n{body}'


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def errors(problems) -> list[str]:
    return [str(p) for p in problems if p.severity == "error"]


@pytest.fixture
def user_folder(isolated_user_dirs) -> Path:
    return isolated_user_dirs / "data" / "voice-coach" / "routines"


DEEP = "a = " + "[" * 5000 + "]" * 5000 + "\n"


def test_a_deeply_nested_file_is_a_problem_not_a_recursion_error(tmp_path):
    path = write(tmp_path, "deep.toml", DEEP)
    routine, problems = check_file(path)
    assert routine is None
    assert errors(problems) == [f"{path}:1: lists or tables are nested too deeply to read; a routine needs only "
                                "[routine], [[steps]] and [[steps.cues]] (see docs/routines.md)"]


def test_a_deeply_nested_user_file_is_left_out_and_the_others_still_load(user_folder, caplog):
    write(user_folder, "deep.toml", DEEP)
    write(user_folder, "mine.toml", '[routine]\ntitle = "Mine"\n' + step(1))
    ids = {r.id for r in load_all()}
    assert {"mine", "evening-back-relief"} <= ids
    assert find("evening-back-relief").builtin
    assert "left out the routine file" in caplog.text and "deep.toml" in caplog.text


def test_a_fifo_named_toml_is_skipped_without_blocking(user_folder, caplog):
    user_folder.mkdir(parents=True)
    fifo = user_folder / "x.toml"
    os.mkfifo(fifo)
    result: dict = {}
    worker = threading.Thread(target=lambda: result.update(ids={r.id for r in load_all()}), daemon=True)
    worker.start()
    worker.join(30)
    if worker.is_alive():  # unblock the reader so the test process can end, then fail
        with open(fifo, "w"):
            pass
        pytest.fail("load_all() blocked on a FIFO named x.toml")
    assert "evening-back-relief" in result["ids"]
    assert "x.toml" in caplog.text and "not a regular file" in caplog.text
    routine, problems = check_file(fifo)
    assert routine is None and "not a regular file" in errors(problems)[0]


def test_a_folder_named_toml_is_refused(tmp_path):
    (tmp_path / "dir.toml").mkdir()
    routine, problems = check_file(tmp_path / "dir.toml")
    assert routine is None and "not a regular file" in errors(problems)[0]


def test_a_file_larger_than_the_limit_is_refused_before_parsing(tmp_path):
    padding = "# " + "x" * 100 + "\n"
    text = HEAD + step(1) + padding * (loader.MAX_FILE_BYTES // len(padding) + 1)
    path = write(tmp_path, "huge.toml", text)
    routine, problems = check_file(path)
    assert routine is None
    assert "larger than the 256 KB a routine may have" in errors(problems)[0]


def test_too_many_steps_are_refused(tmp_path):
    text = HEAD + "".join(step(i) for i in range(loader.MAX_STEPS + 1))
    routine, problems = check_file(write(tmp_path, "r.toml", text))
    assert routine is None
    assert errors(problems) == [f"{tmp_path / 'r.toml'}:{text.splitlines().index('[[steps]]') + 1}: the routine "
                                f"has {loader.MAX_STEPS + 1} steps; at most {loader.MAX_STEPS} are allowed: "
                                "split it into shorter routines"]


def test_the_2000_step_routine_is_refused(tmp_path):
    """The tester's file: 2,000 timed steps with sides and sets passed the check, then simulate raised."""
    body = 'duration = 60\nsides = ["l", "r"]\nsets = 3\n'
    text = HEAD + "".join(step(i, body) for i in range(2000))
    routine, problems = check_file(write(tmp_path, "big.toml", text))
    assert routine is None and "has 2000 steps; at most 100" in errors(problems)[0]


def test_routines_check_refuses_a_routine_that_does_not_simulate_to_its_end(tmp_path, monkeypatch, capsys):
    """The check's last word is a whole simulated session (here made to give up after 5 moves)."""
    import argparse

    from voice_coach import simulate as simulate_module
    from voice_coach.cli import routines as routines_cli

    path = write(tmp_path, "r.toml", HEAD + "".join(step(i) for i in range(3)))
    args = argparse.Namespace(files=[path])
    assert routines_cli._check(args) == 0
    monkeypatch.setattr(simulate_module, "MAX_STEPS", 5)
    assert routines_cli._check(args) == 1
    err = capsys.readouterr().err
    assert f"{path}:1: the routine cannot be run to its end (the simulated session did not end)" in err


def test_a_cue_every_below_the_floor_is_refused(tmp_path):
    text = HEAD + step(1, 'duration = "60m"\n[[steps.cues]]\nevery = 0.0001\nsay = "Check."\n')
    routine, problems = check_file(write(tmp_path, "r.toml", text))
    assert routine is None
    line = text.splitlines().index("every = 0.0001") + 1
    assert errors(problems) == [f"{tmp_path / 'r.toml'}:{line}: cue 1 of step 's1' every 0.0001 is too often; "
                                "a repeated cue comes at most every 10 seconds (e.g. every = \"30s\")"]


def test_too_many_cues_in_a_step_are_refused(tmp_path):
    cues = "".join(f'[[steps.cues]]\nat = {k}\nsay = "Cue."\n' for k in range(1, loader.MAX_CUES + 2))
    routine, problems = check_file(write(tmp_path, "r.toml", HEAD + step(1, 'duration = "60s"\n' + cues)))
    assert routine is None and f"{loader.MAX_CUES + 1} cues; at most {loader.MAX_CUES}" in errors(problems)[0]


def test_too_many_sides_are_refused(tmp_path):
    sides = ", ".join(f'"s{k}"' for k in range(loader.MAX_SIDES + 1))
    routine, problems = check_file(write(tmp_path, "r.toml", HEAD + step(1, f'duration = "60s"\nsides = [{sides}]\n')))
    assert routine is None and f"at most {loader.MAX_SIDES} are allowed" in errors(problems)[0]


def test_a_routine_over_the_moment_budget_is_refused(tmp_path):
    """Each limit alone allowed: 10 steps x 6 sides x 10 sets, each with a cue every 10 s of a minute."""
    body = 'duration = "60s"\nsides = ["a", "b", "c", "d", "e", "f"]\nsets = 10\n[[steps.cues]]\nevery = "10s"\nsay = "Go."\n'
    routine, problems = check_file(write(tmp_path, "r.toml", HEAD + "".join(step(i, body) for i in range(10))))
    assert routine is None
    assert any(f"more than the {loader.MAX_MOMENTS} allowed" in e for e in errors(problems))


@pytest.mark.parametrize("steps", [
    [step(1, 'duration = "60m"\nsides = ["a", "b", "c", "d", "e"]\n[[steps.cues]]\nevery = "10s"\nsay = "Go."\n')],
    [step(i, 'duration = "10s"\nsides = ["a", "b"]\nsets = 10\nrest = "5s"\noptional = true\n') for i in range(45)],
    [step(i) for i in range(100)],
], ids=["hour-of-cues", "many-sets", "hundred-steps"])
def test_a_routine_just_inside_every_limit_simulates_to_its_end(tmp_path, steps):
    routine, problems = check_file(write(tmp_path, "r.toml", HEAD + "".join(steps)))
    assert routine is not None, errors(problems)
    assert sum(s.moments for s in routine.steps) <= loader.MAX_MOMENTS
    assert simulate(routine)[-1]["type"] == "end"


@pytest.mark.parametrize("escaped, shown", [("\\u001b[2J", "U+001B"), ("\\u0000", "U+0000"),
                                            ("\\u009b31m", "U+009B"), ("\\u202e", "U+202E")])
def test_control_characters_in_a_title_are_refused(tmp_path, escaped, shown):
    text = f'[routine]\ntitle = "Evil{escaped} title"\n' + step(1)
    routine, problems = check_file(write(tmp_path, "r.toml", text))
    assert routine is None
    assert errors(problems) == [f"{tmp_path / 'r.toml'}:2: 'title' in [routine] contains the control character "
                                f"{shown}; remove it: only printable text, newlines and tabs are allowed"]


def test_control_characters_in_step_cue_and_list_text_are_refused(tmp_path):
    text = (HEAD + 'tools = ["roller\\u0007"]\n'
            + step(1, 'duration = "60s"\nswitch_say = "x\\u001b"\n[[steps.cues]]\nat = 5\nsay = "ding\\u0000"\n'))
    routine, problems = check_file(write(tmp_path, "r.toml", text))
    assert routine is None
    found = errors(problems)
    assert len(found) == 3 and all("control character" in e for e in found)
    assert [e.split(":")[1] for e in found] == [str(text.splitlines().index(m) + 1) for m in (
        'tools = ["roller\\u0007"]', 'switch_say = "x\\u001b"', 'say = "ding\\u0000"')]


def test_newlines_and_tabs_in_a_prompt_are_fine(tmp_path):
    routine, problems = check_file(write(tmp_path, "r.toml", HEAD + step(1, 'end_say = "Well\\tdone.\\nRest."\n')))
    assert routine is not None and errors(problems) == []


def test_a_utf8_bom_routine_file_is_accepted(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + (HEAD + step(1)).encode("utf-8"))
    routine, problems = check_file(path)
    assert routine is not None and routine.title == "Test routine" and problems == []


def test_a_file_name_with_an_escape_sequence_is_printed_escaped(user_folder, caplog):
    write(user_folder, "\x1b[2Jnasty.toml", '[routine]\ntitle = "Nasty"\n' + step(1))  # its id (the name) is bad
    assert "Nasty" not in {r.title for r in load_all()}
    assert "\x1b" not in caplog.text and "\\x1b[2Jnasty.toml" in caplog.text


def test_an_unknown_key_with_an_escape_sequence_is_reported_escaped(tmp_path):
    routine, problems = check_file(write(tmp_path, "r.toml", HEAD + '"\\u001b[2J" = 1\n' + step(1)))
    assert routine is None
    (message,) = errors(problems)
    assert "\x1b" not in message and "unknown key '\\x1b[2J' in [routine]" in message
