"""Teaching new actions without the web layer: the model store, the examples file, the checks on a request,
the check folds, the job queue's lifecycle, and a whole teach job on tiny synthetic videos."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from actcap.inference.predictor import Predictor, resolve_model_dir
from actcap.models.store import SHIPPED, ModelStore, UnknownModelError, home_dir
from actcap.teach.check import fold_of, summary, with_threshold
from actcap.teach.examples import EXAMPLES_FILE, Examples, ExamplesError, load_examples, save_examples
from actcap.teach.jobs import JobQueue, UnknownJobError
from actcap.teach.trainer import (
    FEW_PEOPLE_RECIPE,
    TAUGHT_RULE,
    DuplicateLabelsError,
    TeachError,
    TeachExample,
    TeachRequest,
    check_request,
    parse_captions,
    teach,
)


def sliding(t: int, dx: int, seed: int, h: int = 48, w: int = 64) -> np.ndarray:
    """(t, h, w, 3) uint8: a textured square sliding dx pixels a frame (right when dx > 0)."""
    rng = np.random.default_rng(seed)
    texture = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    frames = np.full((t, h, w, 3), 40, np.uint8)
    y = int(rng.integers(4, h - 20))
    for i in range(t):
        x = (8 + i * dx) % (w - 16)
        frames[i, y:y + 16, x:x + 16] = texture
    return frames


@pytest.fixture
def clips(tmp_path, write_video):
    """2 labels x 3 clips: 'right' (square sliding right) and 'up_down' (sliding down)."""
    out = {}
    for label, dx in (("right", 2), ("left", -2)):
        out[label] = [write_video(tmp_path / "clips" / label / f"{label}_p{i % 2}_{i}.avi", sliding(20, dx, seed=i))
                      for i in range(3)]
    return out


def examples_of(clips: dict) -> list[TeachExample]:
    return [TeachExample(p, label, p.stem.split("_")[1], p.name) for label, ps in clips.items() for p in ps]


# --- the store -------------------------------------------------------------------------------------------

def test_home_dir_follows_actcap_home_then_xdg(tmp_path):
    assert home_dir({"ACTCAP_HOME": str(tmp_path)}) == tmp_path
    assert home_dir({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "actcap"


def test_store_commit_replace_activate_delete(tmp_path):
    store = ModelStore(tmp_path)
    assert store.names() == [SHIPPED] and store.get_active() == SHIPPED
    shipped = json.loads((store.shipped / "config.json").read_text())
    for version in (1, 2):  # the second commit replaces the first in one rename
        staged = store.staging()
        (staged / "config.json").write_text(json.dumps({**shipped, "classes": ["a", "b"]}))
        (staged / "version").write_text(str(version))
        store.commit(staged, "mine", {"metrics": {"top1": 0.5}})
        assert not staged.exists()
    assert (store.get_path("mine") / "version").read_text() == "2"
    assert store.names() == [SHIPPED, "mine"]
    store.activate("mine")
    assert ModelStore(tmp_path).get_active() == "mine"  # a new store object (a restart) reads the same
    info = store.get_info("mine")
    assert (info["classes"], info["metrics"], info["active"]) == (["a", "b"], {"top1": 0.5}, True)
    with pytest.raises(ValueError, match="^the shipped model 'default' cannot be deleted$"):
        store.delete(SHIPPED)
    store.delete("mine")
    assert store.names() == [SHIPPED] and store.get_active() == SHIPPED
    with pytest.raises(UnknownModelError) as e:
        store.get_path("mine")
    assert str(e.value) == "unknown model 'mine'; choose one of: default (`actcap models` lists them)"


def test_active_pointer_to_a_deleted_model_falls_back_to_shipped(tmp_path):
    (tmp_path / "active.json").write_text('{"model": "gone"}')
    assert ModelStore(tmp_path).get_active() == SHIPPED


def test_model_name_resolves_where_a_run_dir_would(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTCAP_HOME", str(tmp_path))
    assert resolve_model_dir("default") == ModelStore().shipped
    with pytest.raises(UnknownModelError, match="^unknown model 'nothing_here'; choose one of: default"):
        resolve_model_dir("nothing_here")


# --- the examples file -----------------------------------------------------------------------------------

def test_examples_round_trip_and_without(tmp_path):
    rng = np.random.default_rng(0)
    ex = Examples([rng.normal(size=(n, 4)).astype(np.float32) for n in (3, 5, 2)], ["a", "b", "a"],
                  ["1", "2", "1"], ["c1", "c2", "c3"], [{"name": "flow"}], 64)
    back = load_examples(save_examples(ex, tmp_path / EXAMPLES_FILE))
    assert (back.labels, back.groups, back.names, back.streams, back.cache_frames) == (
        ex.labels, ex.groups, ex.names, ex.streams, 64)
    assert [f.shape for f in back.features] == [(3, 4), (5, 4), (2, 4)]
    np.testing.assert_allclose(back.features[1], ex.features[1], atol=2e-3)  # stored as float16
    assert back.without({"a"}).names == ["c2"]
    with pytest.raises(ExamplesError, match="does not exist; a base model needs its training examples"):
        load_examples(tmp_path / "nope.safetensors")


def test_shipped_examples_match_the_shipped_streams():
    store = ModelStore()
    ex = load_examples(store.shipped / EXAMPLES_FILE)
    config = json.loads((store.shipped / "config.json").read_text())
    assert ex.streams == config["streams"] and ex.classes == config["classes"]
    assert len(ex.labels) == 360 and sorted(set(ex.groups)) == ["1", "2", "3", "4", "5", "6"]  # 120 clips, 240 framed
    assert all(f.shape[1] == config["feature_dim"] for f in ex.features)


# --- the rules of a request ------------------------------------------------------------------------------

def rules(req: TeachRequest) -> list[str]:
    with pytest.raises(TeachError) as e:
        check_request(req)
    return e.value.problems


def test_each_broken_rule_names_its_field():
    two = [TeachExample(Path("a"), "wave"), TeachExample(Path("b"), "wave")]
    assert rules(TeachRequest("m", two, "none")) == [
        "labels[]: only one label ('wave') with base=none; a model needs at least 2 labels to tell apart (add "
        "another label, or use base=default to add it to the shipped actions)"]
    check_request(TeachRequest("m", two, "default"))  # one new label on top of the shipped ones is fine
    assert rules(TeachRequest("m", two + [TeachExample(Path("c"), "clap")], "none")) == [
        "labels[]: each label needs at least 2 example videos; 'clap' has 1"]
    assert rules(TeachRequest("bad name!", two)) == [
        "name: name 'bad name!' is not allowed; use letters, digits, '_' and '-', 1 to 40 characters, starting "
        "with a letter or digit"]
    assert rules(TeachRequest("x" * 41, two))[0].startswith("name: name 'xxxx")
    assert rules(TeachRequest("default", two)) == ["name: name 'default' is the shipped model's; choose another"]
    assert rules(TeachRequest("m", two, "mine")) == [
        "base: must be 'default' (keep the shipped actions) or 'none'; got 'mine'"]
    assert rules(TeachRequest("m", [])) == ["videos[]: no example videos; send at least 2 per label"]


def test_folds_by_person_when_every_label_has_two_people_else_one_example_out():
    ex = [TeachExample(Path(), lab, g) for lab in "ab" for g in ("p1", "p1", "p2")]
    assert fold_of(ex) == ([0, 0, 1, 0, 0, 1], "leave-one-person-out")
    ex[2].group = "p1"  # label a: one person only
    assert fold_of(ex) == ([0, 1, 2, 0, 1, 2], "leave-one-example-out")
    many = [TeachExample(Path(), "a") for _ in range(12)]
    assert fold_of(many, max_folds=10) == ([*range(10), 0, 1], "10-fold")


def test_check_counts_unknown_answers_as_misses_and_says_when_it_is_optimistic():
    check = {"method": "leave-one-person-out", "people": 3, "optimistic": False, "top1": 0.75,
             "right": [True, True, True, False], "scores": [1.0, 2.0, 9.0, 1.0]}
    out = with_threshold(dict(check), threshold=5.0)
    assert (out["answered"], out["unknown"], out["top1"]) == (0.5, 0.25, 0.75)
    assert "right" not in out and "scores" not in out
    assert out["summary"] == ("On people it did not learn from (each of the 3 people left out in turn), 50% of the "
                              "examples were answered with the right action (25% 'I don't recognise this').")
    # a round with its own threshold (by person, no base) is judged by it, the others by the final model's
    own = with_threshold({**check, "thresholds": [0.5, float("nan"), 10.0, float("nan")]}, threshold=5.0)
    assert (own["answered"], own["unknown"]) == (0.5, 0.25)  # 1.0 > 0.5: unknown; 9.0 <= 10: answered, right
    assert "thresholds" not in own
    assert with_threshold({**check, "thresholds": [0.5] * 4}, threshold=None)["answered"] == 0.75  # no open set
    one = {"method": "leave-one-example-out", "people": 1, "optimistic": True, "answered": 1.0}
    assert summary(one).startswith("This cannot tell how well it works for other people: every example shows the "
                                   "same person. On other examples of the same people 100% were answered right — "
                                   "optimistic; expect less for someone new.")
    assert "no one said who is in the examples" in summary({**one, "people": 0})
    assert "not every label has examples of 2 or more people" in summary({**one, "people": 2})


def test_captions_in_a_request():
    assert parse_captions(["hello=A person is waving hello.", "no = shaking their  head"]) == {
        "hello": "A person is waving hello.", "no": "shaking their head"}
    with pytest.raises(TeachError) as e:
        parse_captions(["hello", "=x", "a=1", "a=2"], "--caption")
    assert e.value.problems == [
        "--caption: 'hello': expected LABEL=SENTENCE, e.g. 'hello=A person is waving hello.'",
        "--caption: '=x': expected LABEL=SENTENCE, e.g. 'hello=A person is waving hello.'",
        "--caption: two captions for 'a'; give one"]
    two = [TeachExample(Path(), lab) for lab in ("a", "a", "b", "b")]
    with pytest.raises(TeachError) as e:
        check_request(TeachRequest("m", two, "none", {"c": "A person is x.", "a": " "}))
    assert e.value.problems == [
        "captions[]: 'c' not among the labels (a, b); write LABEL=SENTENCE for a label you teach",
        "captions[]: the sentence for 'a' must be 1 to 200 characters, e.g. 'A person is waving hello.'"]


# --- the job queue ---------------------------------------------------------------------------------------

def wait_for(jobs: JobQueue, job_id: str, states: tuple[str, ...]) -> dict:
    """Poll a job until it reaches one of `states` (bounded: the test fails rather than hangs)."""
    for _ in range(2400):
        got = jobs.get(job_id).to_dict()
        if got["state"] in states:
            return got
        threading.Event().wait(0.05)
    pytest.fail(f"job {job_id} never reached {states}: {got}")


def test_job_lifecycle_queued_running_done_failed():
    release = threading.Event()
    started = threading.Event()
    cleaned = []

    def run(payload, progress):
        if payload == "fail":
            raise ValueError("videos[]: boom.webm could not be read")
        progress("training", 0.5)
        started.set()
        release.wait(60)
        return {"model": payload, "metrics": {"top1": 1.0}}

    jobs = JobQueue(run)
    first = jobs.submit("first", "first", cleanup=lambda: cleaned.append("first"))
    started.wait(60)
    second = jobs.submit("fail", "second")
    assert jobs.get(first.id).to_dict() == {"id": first.id, "state": "running", "progress": 0.5,
                                            "message": "training", "model": "first", "metrics": {},
                                            "warnings": []}
    assert jobs.get(second.id).state == "queued"  # one job at a time: it waits for the first
    release.set()
    assert wait_for(jobs, first.id, ("done", "failed")) == {
        "id": first.id, "state": "done", "progress": 1.0, "message": "model first is ready", "model": "first",
        "metrics": {"top1": 1.0}, "warnings": []}
    failed = wait_for(jobs, second.id, ("done", "failed"))
    assert (failed["state"], failed["message"]) == ("failed", "videos[]: boom.webm could not be read")
    assert cleaned == ["first"]
    with pytest.raises(UnknownJobError, match="^no job 'nope'"):
        jobs.get("nope")
    jobs.close()


# --- a whole job on synthetic videos -----------------------------------------------------------------------

def test_teach_base_none_saves_a_checked_model(tmp_path, clips, monkeypatch):
    import actcap.teach.check as check_module

    store = ModelStore(tmp_path / "home")
    stages, rounds = [], []
    real_round_threshold = check_module.round_threshold

    def spy(template, feats, labels, cfg, rule):  # each by-person round fits the taught rule on its own examples
        rounds.append((len(feats), rule.margin))
        return real_round_threshold(template, feats, labels, cfg, rule)

    monkeypatch.setattr(check_module, "round_threshold", spy)
    before = torch.get_num_threads()
    torch.set_num_threads(2)  # what the caller runs at; the job trains at one thread and gives it back
    try:
        result = teach(TeachRequest("arrows", examples_of(clips), "none", {"right": "A person slides right."}),
                       store, store.shipped, lambda stage, f: stages.append(stage))
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert [s for i, s in enumerate(stages) if i == 0 or stages[i - 1] != s] == [
        "extracting", "checking", "training", "saving"]
    m = result["metrics"]
    assert (m["method"], m["folds"], m["classes"], m["examples"], m["base_examples"]) == (
        "leave-one-person-out", 2, ["left", "right"], 6, 0)
    assert rounds == [(2, 7.0), (4, 7.0)]  # two rounds, each taught from the other person's examples (2 and 4)
    assert (m["people"], m["optimistic"], m["pessimistic"]) == (2, False, True) and 0 <= m["answered"] <= m["top1"]
    # a pose base (the shipped one) taught from two people: the few-people recipe, the tcn head with --augment
    assert (m["augmented"], m["head"]) == (True, "tcn")
    assert m["summary"].startswith("On people it did not learn from (each of the 2 people left out in turn), ")
    assert m["summary"].endswith(" Each round learned from one person only: the model, which learns from both, "
                                 "usually does better (docs/teaching.md).")
    assert sum(map(sum, m["confusion_matrix"])) == 6 and m["confusion_rows"] == ["left", "right"]
    assert {k: v["examples"] for k, v in m["per_label"].items()} == {"left": 3, "right": 3}
    info = store.get_info("arrows")
    assert info["classes"] == ["left", "right"] and info["metrics"]["top1"] == m["top1"]
    config = json.loads((store.get_path("arrows") / "config.json").read_text())
    assert config["open_set"]["score"] == TAUGHT_RULE.score == "mahalanobis"  # the measured rule (docs/teaching.md)
    assert config["open_set"]["rule"].startswith("7.0 × quantile 0.95 of held-out known clips' scores (clips held")
    assert config["captions"] == {"right": "A person slides right."}
    assert (config["head"], config["head_kwargs"]) == ("tcn", FEW_PEOPLE_RECIPE["head_kwargs"])
    assert config["head_kwargs"]["novelty"] == "shape"  # its open set reads the body's shape (docs/teaching.md)
    assert list((tmp_path / "home" / "staging").iterdir()) == []  # nothing half-built left behind
    out = Predictor.load(store.get_path("arrows")).predict_paths([clips["right"][0]])
    assert out["prediction"] in ("left", "right")
    assert Predictor.load(store.get_path("arrows")).captions.get("right").sentence == "A person slides right."


def test_teach_base_default_keeps_the_shipped_actions(tmp_path, clips):
    store = ModelStore(tmp_path / "home")
    ex = [e for e in examples_of(clips) if e.label == "right"]
    m = teach(TeachRequest("plus", ex, "default", allow_duplicates=True), store, store.shipped)["metrics"]
    assert m["classes"] == ["clap", "right", "swipe_left", "swipe_right", "throw", "wave"]
    assert (m["base_examples"], m["method"], list(m["per_label"])) == (360, "leave-one-person-out", ["right"])
    assert (m["augmented"], m["head"]) == (True, "tcn")  # six people: the shipped model's own training settings
    taught = json.loads((store.get_path("plus") / "config.json").read_text())["train"]
    assert (taught["head_kwargs"], taught["augment_held"], taught["epochs"]) == (
        {"width": 32, "novelty": "shape"}, 0.3, 60)
    assert (store.get_path("plus") / f"base-{EXAMPLES_FILE}").is_file()


def test_pose_models_taught_from_few_people_are_augmented(tmp_path):
    from actcap.teach.trainer import few_people

    def ex(*people):
        return [TeachExample(tmp_path / f"{i}.avi", "wave", p) for i, p in enumerate(people)]

    assert few_people(ex("ann", "bob", "ann"), None, ["pose"]) is True
    assert few_people(ex("", ""), None, ["pose"]) is True  # nobody said who is in them: assume few
    assert few_people(ex("ann", "bob", "cy", "di"), None, ["pose"]) is True
    assert few_people(ex("ann", "bob", "cy", "di", "ed"), None, ["pose"]) is False
    assert few_people(ex("ann"), None, ["flow"]) is False  # --augment perturbs pose features only
    base = Examples([np.zeros((4, 67), np.float32)] * 5, ["clap"] * 5, ["1", "2", "3", "4", ""],
                    ["a", "b", "c", "d", "e"], [], 64)
    assert few_people(ex("ann"), base, ["pose"]) is False  # ann + the base's four known people


def test_few_people_settings_fall_back_when_the_frames_cannot_be_split(caplog):
    from actcap.config import TrainConfig
    from actcap.teach.trainer import few_people_settings

    cfg = TrainConfig(out=Path("."), streams=["pose"], head="skeleton", num_slots=16, sampling="dense")
    taught = few_people_settings(cfg)
    assert (taught.head, taught.head_kwargs, taught.augment, taught.epochs, taught.lr) == (
        "tcn", {"width": 32, "novelty": "shape"}, True, 60, 2e-3)
    odd = few_people_settings(TrainConfig(out=Path("."), streams=["pose"], head="skeleton", num_slots=12,
                                          sampling="dense", head_kwargs={"segments": 4}))
    assert (odd.head, odd.head_kwargs, odd.augment, odd.num_slots) == ("skeleton", {"segments": 4}, True, 12)
    assert "the base model's 12 frames cannot be split into 8 segments" in caplog.text


def test_a_failed_job_keeps_the_store_as_it_was(tmp_path, clips):
    store = ModelStore(tmp_path / "home")
    broken = tmp_path / "broken.avi"
    broken.write_bytes(b"not a video at all")
    ex = examples_of(clips) + [TeachExample(broken, "left", "", "broken.avi")]
    with pytest.raises(ValueError) as e:
        teach(TeachRequest("arrows", ex, "none"), store, store.shipped)
    assert str(e.value).startswith("videos[]: 1 example video(s) could not be read: broken.avi: ")
    assert store.names() == [SHIPPED] and list((tmp_path / "home" / "staging").iterdir()) == []


# --- the command line --------------------------------------------------------------------------------------

def test_cli_teach_models_and_predict_by_name(tmp_path, clips, monkeypatch, capsys):
    from actcap.cli import main

    monkeypatch.setenv("ACTCAP_HOME", str(tmp_path / "home"))
    folder = clips["left"][0].parent
    assert main(["teach", "--name", "arrows", "--base", "none", "--group-by", r"_p(\d+)_", f"left={folder}",
                 *(f"right:{p.stem.split('_')[1][1:]}={p}" for p in clips["right"]),
                 "--caption", "right=A person slides to the right."]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["model"], out["path"], out["classes"], out["check"], out["people"], out["optimistic"]) == (
        "arrows", str(tmp_path / "home" / "models" / "arrows"), ["left", "right"], "leave-one-person-out", 2, False)
    config = json.loads((tmp_path / "home" / "models" / "arrows" / "config.json").read_text())
    assert config["captions"] == {"right": "A person slides to the right."}
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"models in {tmp_path / 'home'} (`--model NAME` uses one; * = what `actcap serve` starts with)"
    assert lines[1].split()[:2] == ["*", "default"] and lines[2].split()[0] == "arrows"
    assert main(["predict", "--model", "arrows", str(clips["right"][1])]) == 0
    assert json.loads(capsys.readouterr().out)["model"] == "arrows"
    assert main(["teach", "--name", "x", "--base", "none", f"left={folder}", f"up={tmp_path / 'nope'}"]) == 2
    assert capsys.readouterr().err == f"error: up={tmp_path / 'nope'}: no such file or folder\n"
    assert main(["teach", "--name", "x", "--base", "none", f"left={folder}", f"up={folder}", "--caption", "x"]) == 2
    assert capsys.readouterr().err == ("error: --caption: 'x': expected LABEL=SENTENCE, e.g. 'hello=A person is "
                                       "waving hello.'\n")


def test_a_label_that_duplicates_a_shipped_action_stops_the_job(tmp_path, clips, utd_root):
    store = ModelStore(tmp_path / "home")
    same_name = [TeachExample(e.path, "Wave", e.group, e.name) for e in examples_of(clips) if e.label == "right"]
    with pytest.raises(DuplicateLabelsError) as e:
        teach(TeachRequest("m", same_name, "default"), store, store.shipped)
    assert e.value.warnings == ["'Wave' is already an action of the base model ('wave'): your examples would be "
                                "added to its examples"]
    waves = sorted((utd_root / "wave").glob("a3_s1_*.avi"))
    hello = [TeachExample(p, "hello", "1", p.name) for p in waves]
    with pytest.raises(DuplicateLabelsError) as e:
        teach(TeachRequest("m", hello, "default"), store, store.shipped)
    assert e.value.warnings == [f"'hello' looks like the base model's 'wave': it already answers {len(waves)} of "
                                f"your {len(waves)} examples as 'wave', so the model would rarely say 'hello'"]
    assert str(e.value).endswith("Teach them anyway (allow_duplicates, --allow-duplicates), or start from nothing "
                                 "(base none: only your labels)")
    assert store.names() == [SHIPPED] and list((tmp_path / "home" / "staging").iterdir()) == []
