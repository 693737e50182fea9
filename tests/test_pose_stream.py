"""The `pose` stream: registered like the others, features of the shared skeleton, mirroring, velocities across
chunks (live video), and "Nobody is in view." when a pose model sees nobody."""

import numpy as np
import pytest
import torch
from test_pose_runtime import read_frames

from actcap.data.video import open_clip
from actcap.features.streams import create_stream, create_streams, parse_streams
from actcap.features.streams.pose import PoseStream
from actcap.inference.predictor import Predictor
from actcap.models.recognizer import ModelConfig, Recognizer
from actcap.pose.skeleton import CENTRE, CONFIDENCES, FEATURE_DIM, POSITIONS


def test_pose_is_a_stream_that_fuses_with_the_others():
    assert parse_streams("pose+flow") == ["pose", "flow"] and parse_streams("appearance,pose") == ["appearance", "pose"]
    stream = create_stream("pose")
    assert stream.dim == FEATURE_DIM and not stream.uses_previous
    assert stream.config() == {"name": "pose", "method": PoseStream.METHOD}
    assert create_streams([stream.config()])[0].config() == stream.config()
    assert stream.cache_config()["models"] != ""  # the model files' hash keys the feature cache
    with pytest.raises(ValueError, match="uses method 'old'.*retrain"):
        create_stream("pose", method="old")
    still = create_stream("pose", centre=False)  # without the body centre's motion (skeleton.CENTRE)
    assert still.config() == {**stream.config(), "centre": False} and still.cache_config() != stream.cache_config()


def test_empty_frames_have_nobody_in_view():
    stream = PoseStream()
    frames = np.full((3, 120, 160, 3), 90, np.uint8)
    feats = stream.extract(frames)
    assert feats.shape == (3, FEATURE_DIM) and feats.dtype == np.float32 and not feats.any()
    assert not stream.in_view(feats)


@pytest.fixture
def wave(utd_root):
    return read_frames(utd_root / "wave" / "a3_s1_t1_color.avi")[:24]  # (24, 480, 640, 3)


def test_a_person_is_in_view_and_mirroring_swaps_joints(wave):
    stream = PoseStream()
    feats = stream.extract(wave)
    assert stream.in_view(feats) and feats[:, CONFIDENCES].min() > 0.5 and np.abs(feats[1:, CENTRE]).max() > 0
    np.testing.assert_array_equal(PoseStream(centre=False).extract(wave), np.where(
        np.isin(np.arange(FEATURE_DIM), np.arange(FEATURE_DIM)[CENTRE]), 0.0, feats))
    flipped = stream.extract(np.ascontiguousarray(wave[:, :, ::-1]))
    mirrored = stream.mirror(feats)
    # features of the flipped frames ≈ the mirrored features (positions in torso units)
    assert np.abs(flipped[:, POSITIONS] - mirrored[:, POSITIONS]).max() < 0.08
    assert np.abs(flipped[:, POSITIONS] - feats[:, POSITIONS]).max() > 0.3  # and mirroring changed them


def test_velocities_across_chunks_match_the_whole_clip(wave):
    """A live stream sends frames in chunks with the frame before each chunk: the features are the whole clip's."""
    whole = PoseStream().extract(wave)
    stream = PoseStream()
    parts = [stream.extract(wave[:10])]
    for a, b in ((10, 11), (11, 24)):
        parts.append(stream.extract(wave[a:b], wave[a - 1:b - 1]))
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-5)
    # a predecessor it never saw: detected afresh, so the crops (and the keypoints, by a few pixels) differ a little
    cold = PoseStream().extract(wave[10:], wave[9:-1])
    assert np.abs(cold - whole[10:]).max() < 0.1 and np.abs(cold[:, CONFIDENCES] - whole[10:, CONFIDENCES]).max() < 0.05


def test_nobody_in_view_is_idle_with_its_caption(tmp_path, wave, write_video):
    torch.manual_seed(0)
    stream = PoseStream()
    model = Recognizer(ModelConfig(classes=["clap", "wave"], streams=[stream.config()], feature_dim=stream.dim,
                                   num_slots=4, head="mean"))
    predictor = Predictor.from_dir(model.save(tmp_path / "pose-model"))
    rng = np.random.default_rng(0)
    empty = rng.integers(0, 256, (8, 240, 320, 3), dtype=np.uint8)  # moving noise: motion, but nobody
    out = predictor.predict_frames(empty)
    assert (out["state"], out["caption"]) == ("idle", "Nobody is in view.") and out["motion"] > 0.1
    # a timeline of nobody narrates it as the answer's caption does (not "Nobody is moving.")
    long = predictor.predict_timeline(open_clip(write_video(tmp_path / "empty.avi", rng.integers(
        0, 256, (30, 240, 320, 3), dtype=np.uint8))), window=0.5)
    assert (long["state"], long["caption"], long["narrative"]) == ("idle", "Nobody is in view.", "Nobody is in view.")
    person = predictor.predict_frames(wave[::3])
    assert person["state"] == "action" and person["caption"] != "Nobody is in view."
