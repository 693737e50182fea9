"""Service settings through pydantic-settings: every field has an ACTCAP_<NAME> variable, flags win over
variables, and each bad value is refused with a message naming where it came from."""

from __future__ import annotations

import pytest

from actcap.cli import build_parser
from actcap.serve.forms import PREDICT_FORM, TEACH_FORM, accepted_message, openapi_body
from actcap.serve.settings import CLI_FLAGS, ServeSettings, resolve_settings


def from_cli(argv: list[str], env: dict) -> ServeSettings:
    args = build_parser().parse_args(["serve", *argv])
    return resolve_settings(env, **{name: getattr(args, name) for name in CLI_FLAGS})


def test_every_setting_has_a_variable_and_unset_flags_leave_it_in_charge():
    env = {"ACTCAP_PORT": "7000", "ACTCAP_HOST": "127.0.0.2", "ACTCAP_OPEN_SET": "off", "ACTCAP_WORKERS": "3",
           "ACTCAP_STREAM_EVERY": "5", "ACTCAP_MAX_TEACH_MB": "12.5", "ACTCAP_MODEL": "runs/x", "ACTCAP_CACHE": "/c"}
    s = from_cli([], env)
    assert (s.port, s.host, s.open_set, s.workers, s.stream_every, s.max_teach_mb) == (7000, "127.0.0.2", False,
                                                                                        3, 5, 12.5)
    assert str(s.model) == "runs/x"
    s = from_cli(["--port", "8000", "--open-set", "on", "--workers", "1"], env)  # a flag wins over its variable
    assert (s.port, s.open_set, s.workers, s.host) == (8000, True, 1, "127.0.0.2")
    assert from_cli([], {}) == ServeSettings()


def test_blank_variables_count_as_unset_and_names_match_any_case():
    assert resolve_settings({"ACTCAP_MAX_FRAMES": "  ", "actcap_max_streams": "2"}).max_streams == 2
    assert resolve_settings({"ACTCAP_MAX_FRAMES": "  "}).max_frames == 64


def test_construction_reads_no_environment(monkeypatch):
    monkeypatch.setenv("ACTCAP_MAX_FRAMES", "7")
    assert ServeSettings().max_frames == 64
    assert resolve_settings().max_frames == 7  # os.environ by default


@pytest.mark.parametrize("env, message", [
    ({"ACTCAP_MAX_UPLOAD_MB": "big"}, "ACTCAP_MAX_UPLOAD_MB='big' is not a decimal number"),
    ({"ACTCAP_OPEN_SET": "maybe"}, "ACTCAP_OPEN_SET='maybe' is not true or false"),
    ({"ACTCAP_MAX_FRAMES": "2.5"}, "ACTCAP_MAX_FRAMES='2.5' is not a number"),
    ({"ACTCAP_STREAM_EVERY": "0"}, "ACTCAP_STREAM_EVERY must be at least 1; got 0"),
    ({"ACTCAP_WORKERS": "0", "ACTCAP_PORT": "70000"},
     "--workers must be at least 1; got 0\n  --port must be between 0 and 65535; got 70000"),
    ({"ACTCAP_STREAM_MIN_INTERVAL_MS": "-1"}, "ACTCAP_STREAM_MIN_INTERVAL_MS must be 0 or more; got -1"),
])
def test_bad_variables_are_named(env, message):
    with pytest.raises(ValueError) as e:
        resolve_settings(env)
    assert str(e.value) == "invalid serve settings:\n  " + message


def test_unknown_settings_are_refused():
    with pytest.raises(TypeError) as e:
        resolve_settings({}, max_frame=3)
    assert str(e.value) == "unknown serve setting(s): max_frame"
    with pytest.raises(ValueError) as e:
        ServeSettings(max_frame=3)
    assert str(e.value) == "invalid serve settings:\n  unknown setting 'max_frame'"


def test_the_forms_are_declared_once():
    assert accepted_message(PREDICT_FORM) == (
        "accepted fields: 'frames[]' or 'frames' (image files), 'video' (one video file), 'order' ('name' or "
        "'as_sent'), 'timeline' (true: segments and a narrative for a long video), 'pose' (true: the person's "
        "keypoints too), 'model' (a model name from GET /models)")
    body = openapi_body(TEACH_FORM)["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert list(body["properties"]) == ["name", "base", "labels[]", "videos[]", "people[]", "captions[]",
                                        "allow_duplicates"]
    assert body["properties"]["base"]["enum"] == ["default", "none"]
