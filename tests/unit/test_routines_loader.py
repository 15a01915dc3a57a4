"""The routine validator: every user mistake becomes ``path:line: message`` naming the right line.

Line numbers are asserted exactly: the fixtures are written so each problem sits on a known line,
and :func:`line_of` finds that line from a unique marker, so a test breaks if the checker points
one line off.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from voice_coach.errors import UserError
from voice_coach.routines import (
    ICE_LIMIT_S, Problem, RoutineError, check_file, find, load_all, load_file, parse_duration,
)

HEAD = '[routine]\nid = "test"\ntitle = "Test routine"\n'  # lines 1-3


def step(body: str, step_id: str = "one", title: str = "One", say: str = "Hello there.") -> str:
    """A [[steps]] table; ``body`` is extra lines (a header line, then id, title, say, then body)."""
    lines = ["", "[[steps]]", f'id = "{step_id}"']
    if title is not None:
        lines.append(f'title = "{title}"')
    if say is not None:
        lines.append(f'say = "{say}"')
    return "\n".join(lines) + "\n" + body


def write(tmp_path: Path, text: str, name: str = "r.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def check(tmp_path: Path, text: str) -> tuple[object, list[Problem], Path]:
    path = write(tmp_path, text)
    routine, problems = check_file(path)
    return routine, problems, path


def line_of(text: str, marker: str, nth: int = 1) -> int:
    """1-based number of the line holding ``marker`` (its nth occurrence)."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if marker in line]
    assert len(hits) >= nth, f"marker {marker!r} not in fixture"
    return hits[nth - 1]


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def only(problems: list[Problem], needle: str) -> Problem:
    hits = [p for p in problems if needle in p.message]
    assert len(hits) == 1, f"expected one problem with {needle!r}, got {[str(p) for p in problems]}"
    return hits[0]


# --- a good file -----------------------------------------------------------------------------

def test_minimal_routine_loads_with_defaults(tmp_path):
    text = HEAD + step("")
    routine, problems, path = check(tmp_path, text)
    assert problems == []
    assert routine.id == "test" and routine.title == "Test routine" and routine.path == path
    s = routine.steps[0]
    assert (s.kind, s.who, s.duration, s.sides, s.sets, s.rest, s.optional, s.cues) == (
        "instruction", "self", None, (), 1, 0.0, False, ())
    assert not s.timed and s.total_seconds == 0


def test_routine_id_defaults_to_file_name(tmp_path):
    path = write(tmp_path, '[routine]\ntitle = "T"\n' + step(""), name="my-own.toml")
    assert load_file(path).id == "my-own"


def test_full_step_is_parsed(tmp_path):
    body = ('kind = "roll"\nduration = "1m30s"\nsides = ["left", "right"]\nsets = 2\nrest = "30s"\n'
            '  [[steps.cues]]\n  at = "half"\n  say = "Halfway."\n'
            '  [[steps.cues]]\n  at = "-10s"\n  say = "Ten seconds left."\n'
            '  [[steps.cues]]\n  every = "20s"\n  say = "Slowly."\n')
    routine, problems, _ = check(tmp_path, HEAD + step(body))
    assert problems == []
    s = routine.steps[0]
    assert s.duration == 90 and s.sides == ("left", "right") and s.sets == 2 and s.rest == 30
    assert [c.offsets for c in s.cues] == [(45.0,), (80.0,), (20.0, 40.0, 60.0, 80.0)]
    # (2 sets x 90 s + 1 rest x 30 s) per side, two sides
    assert s.total_seconds == 2 * (2 * 90 + 30)


def test_partner_audience_sets_who_by_default(tmp_path):
    text = '[routine]\ntitle = "T"\naudience = "partner"\n' + step("") + step('who = "self"\n', step_id="two")
    routine, problems, _ = check(tmp_path, text)
    assert problems == []
    assert routine.audience == "partner"
    assert [s.who for s in routine.steps] == ["partner", "self"]


def test_optional_step_question(tmp_path):
    body = 'optional = true\nask = "Would you like the neck block? Say yes or no."\n'
    routine, problems, _ = check(tmp_path, HEAD + step(body) + step("optional = true\n", step_id="two", title="Calf Block"))
    assert problems == []
    assert routine.steps[0].optional and routine.steps[0].question.startswith("Would you like the neck block")
    assert routine.steps[1].question == "Would you like to do calf block? Say yes or no."


# --- bad TOML and not-a-routine ---------------------------------------------------------------

def test_bad_toml_names_the_line(tmp_path):
    text = HEAD + '\n[[steps]]\nid = "one"\ntitle = "One\nsay = "x"\n'
    routine, problems, path = check(tmp_path, text)
    assert routine is None and len(problems) == 1
    assert problems[0].line == line_of(text, 'title = "One') == 7
    assert str(problems[0]).startswith(f"{path}:7: not valid TOML")


def test_bad_toml_missing_equals(tmp_path):
    text = HEAD + "\n[[steps]]\nid \"one\"\n"
    routine, problems, _ = check(tmp_path, text)
    assert routine is None
    assert problems[0].line == 6 and "not valid TOML" in problems[0].message


@pytest.mark.parametrize("text", [
    "",
    '[tool.poetry]\nname = "x"\n',
    '[speech]\nrate = 150\nvoice = "en"\n',
    '[routine]\ntitle = "no steps"\n',
    '[[steps]]\nid = "a"\ntitle = "A"\nsay = "x"\n',
])
def test_a_file_that_is_not_a_routine(tmp_path, text):
    routine, problems, path = check(tmp_path, text)
    assert routine is None and len(problems) == 1
    assert problems[0].line == 1
    assert "not a voice-coach routine" in problems[0].message
    assert str(problems[0]).startswith(f"{path}:1:")


def test_missing_file_and_binary_file(tmp_path):
    routine, problems = check_file(tmp_path / "absent.toml")
    assert routine is None and "no such file" in problems[0].message
    binary = tmp_path / "b.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    routine, problems = check_file(binary)
    assert routine is None and problems[0].severity == "error"


def test_load_file_raises_a_user_error_listing_every_problem(tmp_path):
    text = HEAD + step('kind = "masage"\n') + step("", step_id="one")
    path = write(tmp_path, text)
    with pytest.raises(RoutineError) as info:
        load_file(path)
    assert isinstance(info.value, UserError)
    message = str(info.value)
    dup_line = line_of(text, 'id = "one"', 2)
    assert f"{path}:{line_of(text, 'masage')}:" in message
    assert f"{path}:{dup_line}:" in message
    assert "Traceback" not in message


# --- unknown keys and tables --------------------------------------------------------------------

def test_unknown_step_key_with_did_you_mean(tmp_path):
    text = HEAD + step('durtion = "60s"\n')
    routine, problems, path = check(tmp_path, text)
    assert routine is None
    p = only(problems, "unknown key 'durtion'")
    assert "Did you mean 'duration'?" in p.message
    assert p.line == line_of(text, "durtion") == 9
    assert str(p).startswith(f"{path}:9: ")


def test_unknown_routine_key_with_did_you_mean(tmp_path):
    text = '[routine]\ntitle = "T"\n\ndescripton = "x"\n' + step("")
    routine, problems, _ = check(tmp_path, text)
    p = only(problems, "unknown key 'descripton'")
    assert "Did you mean 'description'?" in p.message and p.line == 4


def test_unknown_key_without_close_match_lists_allowed_keys(tmp_path):
    text = HEAD + step('colour = "blue"\n')
    _, problems, _ = check(tmp_path, text)
    p = only(problems, "unknown key 'colour'")
    assert "Allowed keys:" in p.message and "duration" in p.message
    assert p.line == line_of(text, "colour")


def test_unknown_key_inside_a_cue(tmp_path):
    text = HEAD + step('duration = "60s"\n  [[steps.cues]]\n  at = "half"\n  say = "Half."\n'
                       '  [[steps.cues]]\n  at = "-10s"\n  sya = "Ten seconds left."\n')
    routine, problems, _ = check(tmp_path, text)
    assert routine is None
    p = only(problems, "unknown key 'sya'")
    assert "Did you mean 'say'?" in p.message and "cue 2" in p.message
    assert p.line == line_of(text, "sya") == 15
    # the cue also lacks its say: pointed at the cue's own header, not the first cue's
    missing = only(problems, "missing 'say'")
    assert missing.line == line_of(text, "[[steps.cues]]", 2) == 13


def test_unknown_key_in_a_later_step_points_at_that_step(tmp_path):
    text = HEAD + step("") + step('kind = "massage"\nduration = "60s"\nsets = 1\nsidez = ["left"]\n', step_id="two")
    _, problems, _ = check(tmp_path, text)
    p = only(problems, "unknown key 'sidez'")
    assert "Did you mean 'sides'?" in p.message and p.line == line_of(text, "sidez") == 17


def test_unknown_table(tmp_path):
    text = HEAD + step("") + '\n[extras]\nfoo = 1\n'
    routine, problems, _ = check(tmp_path, text)
    assert routine is None
    p = only(problems, "unknown table 'extras'")
    assert p.line == line_of(text, "[extras]")


def test_unknown_kind_with_did_you_mean(tmp_path):
    text = HEAD + step('kind = "masage"\n')
    _, problems, _ = check(tmp_path, text)
    p = only(problems, "unknown kind")
    assert "Did you mean 'massage'?" in p.message and p.line == line_of(text, "masage")


def test_wrong_types_are_named(tmp_path):
    text = HEAD + step('optional = "yes"\n') + step('sides = "left"\nduration = "1m"\n', step_id="two")
    _, problems, _ = check(tmp_path, text)
    p = [x for x in problems if "'optional'" in x.message][0]
    assert "wrong type" in p.message and "true or false" in p.message and p.line == line_of(text, "optional =")
    assert any("sides" in x.message and x.line == line_of(text, "sides =") for x in errors(problems))


# --- missing fields and ids -------------------------------------------------------------------

def test_missing_routine_title(tmp_path):
    text = '# my routine\n[routine]\nid = "x"\n' + step("")
    routine, problems, _ = check(tmp_path, text)
    assert routine is None
    p = only(problems, "missing 'title'")
    assert "[routine]" in p.message and p.line == 2


def test_missing_step_say_and_title_point_at_the_step(tmp_path):
    text = HEAD + step("") + step('kind = "rest"\n', step_id="two", say=None) + step("", step_id="three", title=None)
    routine, problems, _ = check(tmp_path, text)
    assert routine is None
    say = only(problems, "missing 'say'")
    assert "step 'two'" in say.message and say.line == line_of(text, "[[steps]]", 2)
    title = only(problems, "missing 'title'")
    assert "step 'three'" in title.message and title.line == line_of(text, "[[steps]]", 3)


def test_empty_say(tmp_path):
    text = HEAD + step("", say="  ")
    _, problems, _ = check(tmp_path, text)
    p = only(problems, "is empty")
    assert p.line == line_of(text, "say =")


def test_bad_step_id(tmp_path):
    text = HEAD + step("", step_id="Warm Up")
    _, problems, _ = check(tmp_path, text)
    p = only(problems, "needs an id")
    assert p.line == line_of(text, 'id = "Warm Up"')


def test_duplicate_step_ids(tmp_path):
    text = HEAD + step("") + step("", step_id="two") + step("", step_id="one")
    routine, problems, _ = check(tmp_path, text)
    assert routine is None
    p = only(problems, "used twice")
    assert "'one'" in p.message and "step 1" in p.message
    assert p.line == line_of(text, 'id = "one"', 2) == 16


# --- durations ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value, needle", [
    ("-5", "more than 0"),
    ("0", "more than 0"),
    ('"0s"', "more than 0"),
    ('"ten minutes"', "not a duration"),
    ('"-5s"', "not a duration"),
    ('"5 parsecs"', "not a duration"),
    ("true", "a duration is a number"),
    ('"2h"', "more than the 60 minutes"),
    ("99999", "more than the 60 minutes"),
    ("inf", "more than the 60 minutes"),
])
def test_bad_durations(tmp_path, value, needle):
    text = HEAD + step(f"kind = \"massage\"\nduration = {value}\n")
    routine, problems, _ = check(tmp_path, text)
    assert routine is None, f"duration = {value} was accepted"
    p = [x for x in errors(problems) if needle in x.message]
    assert p, f"no error containing {needle!r}: {[str(x) for x in problems]}"
    assert p[0].line == line_of(text, "duration =") == 10


def test_nan_duration_is_refused(tmp_path):
    """TOML allows ``nan``; it must be an error, never a silently untimed step or a traceback."""
    text = HEAD + step("duration = nan\n")
    routine, problems, _ = check(tmp_path, text)
    assert routine is None and errors(problems)
    assert errors(problems)[0].line == line_of(text, "duration =")


def test_nan_duration_with_a_cue_gives_no_traceback(tmp_path):
    text = HEAD + step('duration = nan\n  [[steps.cues]]\n  every = "5s"\n  say = "Tick."\n')
    routine, problems, _ = check(tmp_path, text)
    assert routine is None and errors(problems)


def test_bad_rest_and_sets(tmp_path):
    text = HEAD + step('duration = "60s"\nsets = 2\nrest = "20m"\n') + step('duration = "60s"\nsets = 0\n', step_id="two") \
        + step('duration = "60s"\nsets = 11\n', step_id="three")
    routine, problems, _ = check(tmp_path, text)
    assert routine is None
    rest = only(problems, "'rest'")
    assert "10 minutes" in rest.message and rest.line == line_of(text, "rest =")
    sets = [p for p in problems if "sets must be" in p.message]
    assert [p.line for p in sets] == [line_of(text, "sets = 0"), line_of(text, "sets = 11")]


def test_sides_or_sets_need_a_duration(tmp_path):
    text = HEAD + step('sides = ["left", "right"]\n')
    routine, problems, _ = check(tmp_path, text)
    assert routine is None
    p = only(problems, "no duration")
    assert p.line == line_of(text, "[[steps]]")


def test_rest_with_one_set_is_a_warning(tmp_path):
    text = HEAD + step('duration = "60s"\nrest = "30s"\n')
    routine, problems, _ = check(tmp_path, text)
    assert routine is not None
    assert [(p.severity, p.line) for p in problems] == [("warning", line_of(text, "rest ="))]


def test_absurd_minutes_estimate(tmp_path):
    text = '[routine]\ntitle = "T"\nminutes = 900\n' + step("")
    _, problems, _ = check(tmp_path, text)
    assert only(problems, "minutes").line == 3


# --- ice: a safety rule ------------------------------------------------------------------------

ICE_SAY = "Lay a thin cloth over the skin."


def test_ice_within_twenty_minutes_is_fine(tmp_path):
    text = HEAD + step('kind = "ice"\nduration = "20m"\n', say=ICE_SAY)
    routine, problems, _ = check(tmp_path, text)
    assert problems == [] and routine.steps[0].duration == ICE_LIMIT_S == 1200


def test_ice_longer_than_twenty_minutes_is_refused(tmp_path):
    text = HEAD + step('kind = "ice"\nduration = "25m"\n', say=ICE_SAY)
    routine, problems, _ = check(tmp_path, text)
    assert routine is None
    p = only(problems, "ices for 25 minutes")
    assert "20 minutes" in p.message and p.line == line_of(text, "duration =") == 10


def test_ice_over_the_limit_through_sets(tmp_path):
    text = HEAD + step('kind = "ice"\nduration = "11m"\nsets = 2\n', say=ICE_SAY)
    routine, problems, _ = check(tmp_path, text)
    assert routine is None
    p = only(problems, "ices for 22 minutes")
    assert p.line == line_of(text, "duration =")


def test_ice_over_the_limit_through_sets_and_rest(tmp_path):
    text = HEAD + step('kind = "ice"\nduration = "9m"\nsets = 2\nrest = "3m"\n', say=ICE_SAY)
    routine, _problems, _ = check(tmp_path, text)
    assert routine is None


def test_ice_needs_a_duration(tmp_path):
    text = HEAD + step('kind = "ice"\n', say=ICE_SAY)
    routine, problems, _ = check(tmp_path, text)
    assert routine is None
    assert only(problems, "ice step without a duration").line == line_of(text, "[[steps]]")


def test_ice_without_a_cloth_is_a_warning(tmp_path):
    text = HEAD + step('kind = "ice"\nduration = "10m"\n', say="Put the ice on your back.")
    routine, problems, _ = check(tmp_path, text)
    assert routine is not None
    p = only(problems, "cloth")
    assert p.severity == "warning" and p.line == line_of(text, "say =")


# --- safety steps ------------------------------------------------------------------------------

def test_safety_step_needs_stop_say_and_no_duration(tmp_path):
    text = HEAD + step('kind = "safety"\nduration = "10s"\n', say="Any red flags? Say yes or no.")
    routine, problems, _ = check(tmp_path, text)
    assert routine is None
    assert only(problems, "no stop_say").line == line_of(text, "[[steps]]")
    assert only(problems, "remove its duration").line == line_of(text, "duration =")


# --- spoken command words ----------------------------------------------------------------------

@pytest.mark.parametrize("key, text_value", [
    ("say", "Say next when you are ready."),
    ("end_say", "Now stop and rest."),
    ("switch_say", "Skip to the {side} side."),
    ("rest_say", "Pause for a moment."),
    ("stop_say", "Please repeat this later."),
    ("ask", "Shall we continue? Say yes or no."),
])
def test_command_word_is_only_a_warning(tmp_path, key, text_value):
    body = 'kind = "massage"\nduration = "60s"\nsides = ["left", "right"]\nsets = 2\nrest = "10s"\n'
    if key == "stop_say":
        body = 'kind = "safety"\n'
    if key != "say":
        body += f'{key} = "{text_value}"\n'
    say = "Fine words only." if key != "say" else text_value
    text = HEAD + step(body, say=say)
    path = write(tmp_path, text)
    routine, problems = check_file(path)
    assert routine is not None, [str(p) for p in problems]
    assert len(problems) == 1 and problems[0].severity == "warning"
    assert problems[0].line == line_of(text, f"{key} =")
    assert str(problems[0]).startswith(f"{path}:{problems[0].line}: warning: ")
    load_file(path)  # still loads: a warning never refuses the file


def test_command_words_are_whole_words(tmp_path):
    text = HEAD + step("", say="Nextly is not a word; stopping and continued are fine. Lower back.")
    _, problems, _ = check(tmp_path, text)
    assert problems == []


def test_command_word_in_a_cue_is_warned(tmp_path):
    """Cues are spoken too, so a cue saying 'stop' could make the coach hear itself."""
    text = HEAD + step('duration = "60s"\n  [[steps.cues]]\n  at = "half"\n  say = "If it hurts, stop."\n')
    routine, problems, _ = check(tmp_path, text)
    assert routine is not None
    assert [(p.severity, p.line) for p in problems] == [("warning", line_of(text, "If it hurts"))]


# --- cues ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("at", ['"2m"', '"-90s"', "60", "0", '"-0s"'])
def test_cue_outside_the_duration(tmp_path, at):
    text = HEAD + step(f'duration = "60s"\n  [[steps.cues]]\n  at = {at}\n  say = "Hello."\n')
    routine, problems, _ = check(tmp_path, text)
    assert routine is None
    p = only(problems, "outside the step's 60 seconds")
    assert p.line == line_of(text, "at =") == 11


def test_cue_every_longer_than_the_step(tmp_path):
    text = HEAD + step('duration = "60s"\n  [[steps.cues]]\n  every = "2m"\n  say = "Hello."\n')
    routine, problems, _ = check(tmp_path, text)
    assert routine is None and errors(problems)[0].line == line_of(text, "every =")


def test_cue_unparseable_at(tmp_path):
    text = HEAD + step('duration = "60s"\n  [[steps.cues]]\n  at = "soon"\n  say = "Hello."\n')
    routine, problems, _ = check(tmp_path, text)
    assert routine is None
    p = errors(problems)[0]
    assert "half" in p.message and p.line == line_of(text, "at =")


def test_cue_needs_exactly_one_of_at_and_every(tmp_path):
    text = HEAD + step('duration = "60s"\n  [[steps.cues]]\n  at = "half"\n  every = "10s"\n  say = "Hi."\n'
                       '  [[steps.cues]]\n  say = "Hi."\n')
    _, problems, _ = check(tmp_path, text)
    hits = [p for p in problems if "exactly one" in p.message]
    assert [p.line for p in hits] == [line_of(text, "[[steps.cues]]", 1), line_of(text, "[[steps.cues]]", 2)]


def test_cue_on_an_untimed_step(tmp_path):
    text = HEAD + step('  [[steps.cues]]\n  at = "half"\n  say = "Hello."\n')
    routine, problems, _ = check(tmp_path, text)
    assert routine is None
    assert only(problems, "without a duration").line == line_of(text, "[[steps.cues]]")


def test_problems_are_sorted_by_line(tmp_path):
    text = HEAD.replace('title = "Test routine"\n', "") + step('kind = "masage"\n') + step("", step_id="one")
    _, problems, _ = check(tmp_path, text)
    assert len(problems) >= 3
    assert [p.line for p in problems] == sorted(p.line for p in problems)


# --- parse_duration ------------------------------------------------------------------------------

@pytest.mark.parametrize("value, seconds", [
    (90, 90.0), (90.5, 90.5), ("90", 90.0), ("90s", 90.0), ("10m", 600.0), ("10min", 600.0),
    ("1m30s", 90.0), ("1m30", 90.0), ("1.5m", 90.0), ("1h", 3600.0), ("1h2m3s", 3723.0),
    (" 2 m ", 120.0), ("45S", 45.0),
])
def test_parse_duration_forms(value, seconds):
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["", "   ", "s", "m", "abc", "ten", "10 minutes", "1m-30s", "5d", True, "1:30"])
def test_parse_duration_rejects(value):
    with pytest.raises(ValueError) as info:
        parse_duration(value)
    assert "90s" in str(info.value)  # the message shows the accepted forms


def test_parse_duration_passes_numbers_through():
    assert parse_duration(-5) == -5.0  # the checker, not the parser, refuses negatives
    assert math.isinf(parse_duration(float("inf")))


# --- where routines come from --------------------------------------------------------------------

def test_user_routines_folder_and_paths(tmp_path, isolated_user_dirs):
    folder = isolated_user_dirs / "data" / "voice-coach" / "routines"
    folder.mkdir(parents=True)
    (folder / "mine.toml").write_text('[routine]\ntitle = "Mine"\n' + step(""), encoding="utf-8")
    (folder / "broken.toml").write_text("[routine\n", encoding="utf-8")
    override = '[routine]\nid = "foam-roller"\ntitle = "My roller"\n' + step("")
    (folder / "roller.toml").write_text(override, encoding="utf-8")
    routines = {r.id: r for r in load_all()}
    assert "mine" in routines and routines["mine"].builtin is False
    assert routines["foam-roller"].title == "My roller"  # a user file replaces the built-in of that id
    assert "broken" not in routines
    assert find("mine").title == "Mine"
    by_path = write(tmp_path, '[routine]\ntitle = "Loose"\n' + step(""), name="loose.toml")
    assert find(str(by_path)).title == "Loose"


def test_find_unknown_name_suggests(tmp_path):
    with pytest.raises(UserError) as info:
        find("evening-back-releif")
    assert "Did you mean 'evening-back-relief'?" in str(info.value)
    with pytest.raises(UserError):
        find(str(tmp_path / "absent.toml"))


def test_cue_every_as_long_as_the_step_never_fires(tmp_path):
    """every = the whole step would give a cue with no moments: an author's mistake, so an error."""
    text = HEAD + step('duration = "60s"\n  [[steps.cues]]\n  every = "60s"\n  say = "Hello."\n')
    routine, problems, _ = check(tmp_path, text)
    assert routine is None, "a cue that never fires was accepted"
    assert errors(problems)[0].line == line_of(text, "every =")


def test_the_example_in_the_docs_is_a_valid_routine(tmp_path):
    """docs/routines.md shows a complete example; it must pass the checker with no problems."""
    import re

    docs = Path(__file__).resolve().parents[2] / "docs" / "routines.md"
    example = re.findall(r"```toml\n(.*?)```", docs.read_text(encoding="utf-8"), re.S)[0]
    routine, problems, _ = check(tmp_path, example)
    assert problems == [] and routine is not None
    assert routine.steps[0].kind == "safety" and routine.steps[-1].kind == "closing"
