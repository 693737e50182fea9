"""Captions: built-in sentences, derived ones, the uncertainty forms, captions files and `actcap caption`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actcap.caption import (
    HMDB51_CLASSES,
    UNCLEAR,
    UTD_MHAD_CLASSES,
    CaptionFileError,
    CaptionPolicy,
    Captions,
    caption_for,
    derive_caption,
    get_builtin,
    ing_form,
    load_captions,
    resolve_captions,
    split_words,
    third_person,
)
from actcap.caption.files import markdown_table
from actcap.caption.grammar import base_form, present_from_ing
from actcap.caption.sentences import BUILTIN, KEYPOINT_CLASSES
from actcap.cli import caption as caption_cli

DOCS = Path(__file__).resolve().parents[1] / "docs" / "captions.md"


def sentence(label: str, captions: Captions | None = None) -> str:
    return (captions or Captions()).get(label).sentence


# --- built-in table ------------------------------------------------------------------------------------

@pytest.mark.parametrize("label, expected", [
    ("clap", "A person is clapping their hands."),  # the brief's three, word for word
    ("walk", "A person is walking forward."),
    ("run", "A person is running quickly."),
    ("shoot_bow", "A person is shooting an arrow with a bow."),
    ("fall_floor", "A person is falling to the floor."),
    ("ride_bike", "A person is riding a bike."),
    ("wave", "A person is waving their hand."),
    ("swipe_left", "A person is swiping their right arm to the left."),
    ("swipe_right", "A person is swiping their right arm to the right."),
    ("throw", "A person is throwing something."),
    ("flic_flac", "A person is doing a back handspring."),
])
def test_builtin_sentence(label, expected):
    assert sentence(label) == expected


def test_every_class_has_a_distinct_handwritten_caption():
    labels = set(HMDB51_CLASSES) | set(UTD_MHAD_CLASSES) | set(KEYPOINT_CLASSES)
    assert len(HMDB51_CLASSES) == 51 and labels == set(BUILTIN)
    captions = [BUILTIN[label] for label in sorted(labels)]
    for field in ("sentence", "short"):
        values = [getattr(c, field) for c in captions]
        assert len(set(values)) == len(values), f"duplicate {field}"
    for c in captions:
        assert c.sentence.startswith("A person is ") and c.sentence.endswith(".")
        assert "_" not in c.sentence + c.verb + c.short + c.present


@pytest.mark.parametrize("label", ["ClimbStairs", "climb-stairs", "CLIMB_STAIRS", "climb stairs"])
def test_builtin_lookup_ignores_case_and_separators(label):
    assert get_builtin(label) == BUILTIN["climb_stairs"]


def test_docs_table_matches_code():
    # Regenerate the table in docs/captions.md with: actcap caption --table hmdb51
    assert markdown_table() in DOCS.read_text(encoding="utf-8")


# --- labels without a sentence -------------------------------------------------------------------------

@pytest.mark.parametrize("label, expected", [
    ("ride_camel", "A person is riding a camel."),
    ("RideCamel", "A person is riding a camel."),
    ("eat_apple", "A person is eating an apple."),
    ("use_umbrella", "A person is using an umbrella."),
    ("open_door", "A person is opening a door."),
    ("visit_friend", "A person is visiting a friend."),
    ("swim", "A person is swimming."),
    ("lie_down", "A person is lying down."),
    ("ski", "A person is skiing."),
    ("panic", "A person is panicking."),
    ("JumpingJack", "A person is doing jumping jacks."),
    ("push-up", "A person is doing push-ups."),
    ("ApplyEyeMakeup", "A person is applying eye makeup."),
    ("BrushingTeeth", "A person is brushing teeth."),
    ("WalkingWithDog", "A person is walking with a dog."),
    ("pick_up_ball", "A person is picking up a ball."),
    ("juggle balls", "A person is juggling balls."),
    ("run_fast", "A person is running fast."),
    ("Archery", "A person is doing archery."),
    ("Basketball", "A person is playing basketball."),
    ("HorseRiding", "A person is doing horse riding."),
    ("3d_print", "A person is doing 3d print."),
    ("WAVE", "A person is waving their hand."),
    ("hello", "A person is doing 'hello'."),  # a noun or interjection is quoted, never conjugated ("helloing")
    ("applause", "A person is doing 'applause'."),
    ("thumbs_up", "A person is doing 'thumbs up'."),
    ("wave_hello", "A person is waving hello."),  # no article before an interjection
    ("wave goodbye", "A person is waving goodbye."),
    ("", "A person is doing something."),
    ("_-_ !", "A person is doing something."),
])
def test_derived_sentence(label, expected):
    assert sentence(label) == expected


@pytest.mark.parametrize("verb, ing", [
    ("run", "running"), ("ride", "riding"), ("lie", "lying"), ("swim", "swimming"), ("sit", "sitting"),
    ("die", "dying"), ("see", "seeing"), ("ski", "skiing"), ("panic", "panicking"), ("visit", "visiting"),
    ("open", "opening"), ("begin", "beginning"), ("quit", "quitting"), ("fix", "fixing"), ("play", "playing"),
    ("argue", "arguing"), ("canoe", "canoeing"), ("be", "being"), ("kayak", "kayaking"), ("listen", "listening"),
])
def test_ing_form_and_back(verb, ing):
    assert ing_form(verb) == ing
    assert base_form(ing) == verb


@pytest.mark.parametrize("verb, present", [
    ("catch", "catches"), ("push", "pushes"), ("fix", "fixes"), ("fly", "flies"), ("go", "goes"), ("do", "does"),
    ("kiss", "kisses"), ("play", "plays"), ("quiz", "quizzes"), ("buzz", "buzzes"), ("ride", "rides"),
    ("have", "has"),
])
def test_third_person(verb, present):
    assert third_person(verb) == present


@pytest.mark.parametrize("label, words", [
    ("ApplyEyeMakeup", ["apply", "eye", "makeup"]), ("push-up", ["push", "up"]), ("HTTPRequest", ["http", "request"]),
    ("ride_bike2", ["ride", "bike2"]), ("  kick  ball ", ["kick", "ball"]), ("Éclair_Eat", ["éclair", "eat"]),
])
def test_split_words(label, words):
    assert split_words(label) == words


def test_derived_forms_for_timeline_and_either():
    c = derive_caption("ride_camel")
    assert (c.verb, c.short, c.present) == ("riding a camel", "riding", "rides a camel")
    assert present_from_ing("clapping their hands") == "claps their hands"
    assert derive_caption("Archery").short == "doing archery"  # a light verb keeps its object
    taught = Captions({"hello": "A person is waving hello."})  # a sentence alone: its hedged forms follow it
    assert caption_for([("hello", 0.45)], taught) == "A person appears to be waving hello."
    assert caption_for([("hello", 0.41), ("clap", 0.38)], taught) == "A person is either waving or clapping."
    hello = derive_caption("hello")
    assert (hello.verb, hello.short, hello.present) == ("doing 'hello'", "doing 'hello'", "does 'hello'")


label_text = st.one_of(st.text(), st.text(alphabet="_- .aeiouyAEBCZ09ßéİ\u0301\u200b", max_size=12),
                       st.from_regex(r"[A-Za-z][a-z]*([A-Z_-][a-z0-9]+){0,3}", fullmatch=True))


def assert_well_formed(text: str):
    assert text[:1].isupper() and text.endswith("."), text
    assert "_" not in text and "  " not in text and text == text.strip(), text


@settings(max_examples=200, deadline=None)
@given(label_text)
def test_any_label_gives_a_well_formed_sentence(label):
    c = Captions().get(label)
    assert_well_formed(c.sentence)
    for phrase in (c.verb, c.short, c.present):
        assert phrase and "_" not in phrase and "  " not in phrase and phrase == phrase.strip()
    assert_well_formed(caption_for([(label, 0.45)]))
    assert_well_formed(caption_for([(label, 0.4), ("clap", 0.35)]))


# --- uncertainty ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("top_k, expected", [
    ([("clap", 0.82), ("wave", 0.10)], "A person is clapping their hands."),
    ([("clap", 0.6), ("wave", 0.2)], "A person is clapping their hands."),  # confident is inclusive
    ([("clap", 0.45), ("wave", 0.20)], "A person appears to be clapping their hands."),
    ([("clap", 0.3), ("wave", 0.1)], "A person appears to be clapping their hands."),  # unclear is exclusive
    ([("wave", 0.41), ("clap", 0.38)], "A person is either waving or clapping."),
    ([("clap", 0.38), ("wave", 0.41)], "A person is either waving or clapping."),  # any order
    ([("wave", 0.28), ("clap", 0.26)], "A person is either waving or clapping."),  # two candidates beat unclear
    ([("wave", 0.45), ("clap", 0.24)], "A person appears to be waving their hand."),  # top2 below close_min
    ([("clap", 0.22), ("wave", 0.20)], UNCLEAR),
    ([("ride_camel", 0.40), ("ride_donkey", 0.39)], "A person is either riding a camel or riding a donkey."),
    ([("ride_camel", 0.45)], "A person appears to be riding a camel."),
    ([], UNCLEAR),
])
def test_caption_for(top_k, expected):
    assert caption_for(top_k) == expected


def test_policy_thresholds_are_configurable():
    strict = CaptionPolicy(confident=0.9, unclear=0.5, close_margin=0.0)
    assert caption_for([("clap", 0.85)], policy=strict) == "A person appears to be clapping their hands."
    assert caption_for([("clap", 0.45)], policy=strict) == UNCLEAR


@pytest.mark.parametrize("kwargs, message", [
    ({"confident": 1.5}, "invalid CaptionPolicy: confident must be between 0 and 1, got 1.5"),
    ({"unclear": 0.7}, "invalid CaptionPolicy: unclear (0.7) must not exceed confident (0.6)"),
])
def test_policy_rejects_bad_thresholds(kwargs, message):
    with pytest.raises(ValueError) as e:
        CaptionPolicy(**kwargs)
    assert str(e.value) == message


def test_caption_for_rejects_non_probabilities():
    with pytest.raises(ValueError, match=r"probabilities between 0 and 1; got 'clap': 3.2"):
        caption_for([("clap", 3.2)])


# --- captions files ------------------------------------------------------------------------------------

def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_file_overrides_and_fills_in_forms(tmp_path):
    path = write(tmp_path, "captions.yaml", "wave: a person is waving goodbye\n"
                 "clap:\n  sentence: A person is applauding.\n  verb: applauding loudly\n"
                 "ride_bike: {short: cycling, present: cycles}\n")
    captions = load_captions(path)
    assert sentence("wave", captions) == "A person is waving goodbye."  # tidied: capital and full stop
    assert caption_for([("wave", 0.45)], captions) == "A person appears to be waving their hand."
    assert caption_for([("clap", 0.9)], captions) == "A person is applauding."
    assert caption_for([("clap", 0.45)], captions) == "A person appears to be applauding loudly."
    assert caption_for([("clap", 0.4), ("wave", 0.38)], captions) == "A person is either applauding or waving."
    assert captions.get("clap").present == "applauds loudly"
    assert captions.get("RideBike").present == "cycles"  # any case or separator
    assert sentence("ride_bike", captions) == "A person is riding a bike."


def test_json_file_and_model_config_round_trip(tmp_path):
    path = write(tmp_path, "captions.json", json.dumps({"JumpingJack": {"verb": "doing star jumps"}}))
    captions = load_captions(path)
    assert sentence("JumpingJack", captions) == "A person is doing star jumps."
    assert captions.get("JumpingJack").short == "doing star jumps"
    config = json.loads(json.dumps({"captions": captions.to_dict()}))  # what a model's config.json stores
    assert Captions(config["captions"]).get("JumpingJack") == captions.get("JumpingJack")


def test_prediction_captions_override_the_model_ones():
    model = Captions({"wave": "A person waves hello.", "clap": "A person claps."}, source="model.json")
    merged = resolve_captions(model, Captions({"wave": "A person waves goodbye."}), None)
    assert [sentence(label, merged) for label in ("wave", "clap")] == ["A person waves goodbye.", "A person claps."]


@pytest.mark.parametrize("name, text, issue", [
    ("c.yaml", "- clap\n- wave\n", "expected a mapping of label to sentence, got a list"),
    ("c.yaml", "", "file is empty; expected a mapping of label to sentence"),
    ("c.yaml", "wave: '   '\n", "label 'wave': sentence is empty"),
    ("c.yaml", "wave: {sentence: Hi., verbs: waving}\n",
     "label 'wave': unknown field 'verbs' (expected one of: sentence, verb, short, present)"),
    ("c.yaml", "wave: {verb: waves}\n", "label 'wave': verb 'waves' must start with an -ing word, "
                                        "e.g. 'clapping their hands'"),
    ("c.yaml", "wave: 3\n", "label 'wave': expected a sentence or a mapping with fields sentence, verb, short, "
                            "present; got a int"),
    ("c.yaml", "wave: {}\n", "label 'wave': no fields; give at least a sentence or a verb"),
    ("c.yaml", "wave: {verb: [a]}\n", "label 'wave': verb must be text, got a list"),
    ("c.yaml", "yes: A person agrees.\n", "label True is not text (quote it)"),
    ("c.yaml", "wave: A.\nclap: B.\nwave: C.\n", "label 'wave' appears twice (line 3)"),
    ("c.yaml", "wave: A person waves.\nclap: [unclosed\n",
     "invalid YAML at line 3, column 1: expected ',' or ']', but got '<stream end>'"),
    ("c.json", '{"wave": "A.",\n "clap" "B."}', "invalid JSON at line 2, column 9: Expecting ':' delimiter"),
    ("c.json", '{"wave": "A.", "wave": "B."}', "label 'wave' appears twice"),
    ("c.txt", "wave: A.", "unsupported file type '.txt'; use .json, .yaml or .yml"),
])
def test_file_errors_name_the_file_and_the_key(tmp_path, name, text, issue):
    path = write(tmp_path, name, text)
    with pytest.raises(CaptionFileError) as e:
        load_captions(path)
    assert str(e.value) == f"{path}: {issue}"


def test_file_errors_are_all_collected(tmp_path):
    path = write(tmp_path, "c.json", json.dumps({"wave": "", "clap": {"verb": "clapping", "tone": "happy"}}))
    with pytest.raises(CaptionFileError) as e:
        load_captions(path)
    assert e.value.issues == ["label 'wave': sentence is empty",
                              "label 'clap': unknown field 'tone' (expected one of: sentence, verb, short, present)"]


def test_missing_file(tmp_path):
    with pytest.raises(CaptionFileError, match=r"missing\.yaml: file not found$"):
        load_captions(tmp_path / "missing.yaml")


# --- actcap caption ------------------------------------------------------------------------------------

def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="actcap")
    caption_cli.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["caption", *argv])


@pytest.mark.parametrize("argv, out", [
    (["clap", "walk", "run"], "A person is clapping their hands.\nA person is walking forward.\n"
                              "A person is running quickly.\n"),
    (["ride_camel", "JumpingJack"], "A person is riding a camel.\nA person is doing jumping jacks.\n"),
    (["clap", "--confidence", "0.45"], "A person appears to be clapping their hands.\n"),
    (["clap", "--confidence", "0.2"], UNCLEAR + "\n"),
    (["clap", "--confidence", "0.9"], "A person is clapping their hands.\n"),
])
def test_cli_prints_one_line_per_label(capsys, argv, out):
    assert caption_cli.run(parse(*argv)) == 0
    assert capsys.readouterr().out == out


def test_cli_captions_file(capsys, tmp_path):
    path = write(tmp_path, "c.yaml", "wave: A person waves goodbye.\n")
    assert caption_cli.run(parse("wave", "clap", "--captions", str(path))) == 0
    assert capsys.readouterr().out == "A person waves goodbye.\nA person is clapping their hands.\n"


def test_cli_bad_captions_file(capsys, tmp_path):
    path = write(tmp_path, "c.yaml", "wave: ''\n")
    assert caption_cli.run(parse("wave", "--captions", str(path))) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"error: {path}: label 'wave': sentence is empty\n"


def test_cli_rejects_a_confidence_outside_0_1(capsys):
    with pytest.raises(SystemExit) as e:
        parse("clap", "--confidence", "1.5")
    assert e.value.code == 2
    assert "expected a probability between 0 and 1, got 1.5" in capsys.readouterr().err


def test_cli_table(capsys):
    assert caption_cli.run(parse("--table", "hmdb51")) == 0
    assert capsys.readouterr().out == markdown_table() + "\n"


def test_cli_needs_a_label_or_a_table(capsys):
    assert caption_cli.run(parse()) == 2
    assert capsys.readouterr().err == "error: give at least one LABEL (e.g. actcap caption clap) or --table hmdb51\n"
