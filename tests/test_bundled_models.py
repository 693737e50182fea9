"""Named models shipped in the package (actcap/assets/models/<name>): listed, used, never deleted or taught over."""

from __future__ import annotations

import json
import shutil

import pytest

from actcap.models import store as store_module
from actcap.models.store import SHIPPED_DIR, ModelStore, bundled_models, name_problem


@pytest.fixture
def bundled(tmp_path, monkeypatch):
    folder = tmp_path / "assets-models"
    shutil.copytree(SHIPPED_DIR, folder / "everyday")
    monkeypatch.setattr(store_module, "BUNDLED_DIR", folder)
    return folder / "everyday"


def test_bundled_models_are_listed_and_found(bundled, tmp_path):
    store = ModelStore(tmp_path / "home")
    assert bundled_models() == {"everyday": bundled}
    assert store.names() == ["default", "everyday"]
    assert store.get_path("everyday") == bundled
    info = store.get_info("everyday")
    assert info["name"] == "everyday" and info["classes"] == json.loads((bundled / "config.json").read_text())[
        "classes"] and info["active"] is False
    store.activate("everyday")
    assert store.get_active() == "everyday"


def test_bundled_models_are_never_deleted_or_taught_over(bundled, tmp_path):
    store = ModelStore(tmp_path / "home")
    with pytest.raises(ValueError, match="the shipped model 'everyday' cannot be deleted"):
        store.delete("everyday")
    assert name_problem("Everyday") == "name 'Everyday' is a model shipped with actcap; choose another"
    assert bundled.is_dir()


def test_the_everyday_model_ships_with_its_vocabulary_and_captions():
    """`actcap predict --model everyday`: a pose model of ≥ 20 actions, the brief's clap, walk and run among them,
    each with a hand-written caption."""
    from actcap.caption.sentences import get_builtin
    from actcap.models.recognizer import Recognizer

    folder = SHIPPED_DIR.parent / "models" / "everyday"
    model = Recognizer.load(folder)
    classes = model.config.classes
    assert len(classes) >= 20 and {"clap", "walk", "run", "jumping_jacks", "golf"} <= set(classes)
    assert [s["name"] for s in model.config.streams] == ["pose"] and model.config.head == "tcn"
    assert model.config.head_kwargs["novelty"] == "shape"  # its open set reads the poses' description (model card)
    assert [c for c in classes if get_builtin(c) is None] == []
    assert get_builtin("jumping_jacks").sentence == "A person is doing jumping jacks."
    assert get_builtin("golf").sentence == "A person is swinging a golf club."
    assert model.config.calibration["temperature"] > 0 and model.config.open_set["threshold"] is not None


def test_the_everyday_model_claims_no_action_more_likely_wrong_than_right():
    """Its open set, fitted on annotated joints, lets most real video of other things through; the confidence
    floor (`--unknown-below 0.5`, docs/model-card-keypoints.md) answers an unsure reading `unknown`."""
    import numpy as np

    from actcap.honesty.judge import model_rules
    from actcap.models.recognizer import Recognizer

    rules = model_rules(Recognizer.load(SHIPPED_DIR.parent / "models" / "everyday"))
    assert rules.unknown_below == 0.5
    spread = np.full(33, 0.5 / 32)
    spread[0] = 0.49  # a familiar-looking input (score 0) read as no action in particular
    assert rules.decide(spread / spread.sum(), 0.0, 0.1).state == "unknown"
    spread[0] = 0.6
    assert rules.decide(spread / spread.sum(), 0.0, 0.1).state == "action"
