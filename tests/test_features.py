"""Feature cache: keys, reuse, interruption, skipped files; streams' shapes and meaning."""

import json

import numpy as np
import pytest

from actcap.features.cache import CacheMismatchError, FeatureCache, kept_indices
from actcap.features.streams import create_stream, list_streams, parse_streams
from actcap.features.streams.flow import FlowStream


def test_stream_registry():
    assert list_streams() == ["appearance", "flow", "pose"]
    assert parse_streams("appearance+flow") == ["appearance", "flow"]
    assert parse_streams("pose+flow") == ["pose", "flow"]
    with pytest.raises(KeyError, match="unknown stream 'depth'; choose one of: appearance, flow, pose"):
        parse_streams("pose,depth")


def test_flow_sees_direction(make_frames):
    from conftest import _moving_square

    s = FlowStream(grid=2, width=64, bins=8)
    right = s.extract(_moving_square(8, +1, h=96, w=128, start=20, row=40))  # (8, 8 bins × 2 × 2 cells)
    left = s.extract(_moving_square(8, -1, h=96, w=128, start=90, row=40))
    assert right.shape == (8, 32) and left.shape == (8, 32)
    assert np.allclose(right[0], 0, atol=1e-2)  # the first frame is its own predecessor: no motion
    per_bin_right = right[1:].reshape(7, 8, 4).sum(axis=(0, 2))  # total votes per direction bin
    per_bin_left = left[1:].reshape(7, 8, 4).sum(axis=(0, 2))
    assert per_bin_right.argmax() == 0  # bin 0: rightward
    assert per_bin_left.argmax() == 4  # bin 4: leftward
    assert per_bin_right[0] > 5 * per_bin_right[4] and per_bin_left[4] > 5 * per_bin_left[0]


def test_flow_reuses_grayscale_of_consecutive_frames_with_identical_features(monkeypatch):
    from conftest import _moving_square

    import actcap.features.streams.flow as flow

    frames = _moving_square(10, +1, h=96, w=128, start=20, row=40)  # (10, H, W, 3)
    s = FlowStream(grid=2, width=64, bins=8)
    converted = []
    real = flow.to_gray_small
    monkeypatch.setattr(flow, "to_gray_small", lambda f, w: converted.append(len(f)) or real(f, w))
    before = np.concatenate([frames[:1], frames[:-1]])  # consecutive: each frame's predecessor is in `frames`
    consecutive = s.extract(frames, before)
    assert converted == [10]  # the predecessors were not converted a second time
    converted.clear()
    sparse_prev = before.copy()
    sparse_prev[5] = frames[9]  # not the frame before: must be converted, and must change frame 5's flow
    sparse = s.extract(frames, sparse_prev)
    assert converted == [10, 1]
    assert np.array_equal(consecutive, s.extract(frames))  # same as the predecessors taken implicitly
    assert np.array_equal(sparse[:5], consecutive[:5]) and np.array_equal(sparse[6:], consecutive[6:])
    assert not np.allclose(sparse[5], consecutive[5])
    monkeypatch.undo()
    reference = np.stack([s._pooled(*real(np.stack([p, c]), 64)) for p, c in zip(sparse_prev, frames)])
    np.testing.assert_array_equal(sparse, reference)  # the reuse never changes a number


def test_kept_indices():
    assert kept_indices(5, 64) == [0, 1, 2, 3, 4]
    assert kept_indices(100, 4) == [12, 37, 62, 87]


def test_previous_frames_are_decoded_only_for_streams_that_compare_frames(tmp_path, write_video, make_frames):
    from actcap.features.streams.base import Stream

    class Brightness(Stream):  # looks at each frame alone, like the appearance stream
        name, dim = "brightness", 1

        def __init__(self):
            self.previous_given = []

        def config(self):
            return {"name": self.name}

        def extract(self, frames, previous=None):
            self.previous_given.append(previous is not None)
            return frames.mean(axis=(1, 2, 3))[:, None].astype(np.float32)

    frames = make_frames(70, seed=3)  # longer than cache_frames: sampled, so predecessors are extra frames
    path = write_video(tmp_path / "v" / "c.avi", frames)
    alone, flow = Brightness(), FlowStream(grid=2, width=32)
    got, _ = FeatureCache(tmp_path / "a", [alone], cache_frames=16).extract([path], progress=False)
    assert alone.previous_given == [False]
    idx = kept_indices(70, 16)
    np.testing.assert_allclose(got[path].features[:, 0], frames[idx].mean(axis=(1, 2, 3)), rtol=1e-3)
    both = Brightness()
    FeatureCache(tmp_path / "b", [both, flow], cache_frames=16).extract([path], progress=False)
    assert both.previous_given == [True]  # decoded once for flow, handed to every stream


def test_cache_reuses_entries_and_survives_interruption(tmp_path, write_video, make_frames):
    paths = [write_video(tmp_path / "v" / f"c{i}.avi", make_frames(6, seed=i)) for i in range(4)]
    stream = FlowStream(grid=2, width=32)
    calls = []
    real = stream.extract

    def flaky(frames, previous=None):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C while the third clip is being processed
        return real(frames, previous)

    stream.extract = flaky
    cache = FeatureCache(tmp_path / "cache", [stream], cache_frames=64)
    with pytest.raises(KeyboardInterrupt):
        cache.extract(paths, progress=False)
    entries = sorted((tmp_path / "cache" / "features").glob("flow-*/*.npz"))
    assert len(entries) == 2  # finished clips kept, the interrupted one not half-written
    # a leftover temporary file from a kill -9 and a truncated entry must not break the resume
    entries[0].write_bytes(entries[0].read_bytes()[:20])
    (entries[0].parent / ".junk.123.tmp.npz").write_bytes(b"partial")

    stream.extract = real
    feats, skipped = FeatureCache(tmp_path / "cache", [stream], 64).extract(paths, progress=False)
    assert skipped == []
    clean, _ = FeatureCache(tmp_path / "clean", [FlowStream(grid=2, width=32)], 64).extract(paths, progress=False)
    for p in paths:
        assert feats[p].features.shape == (6, 32)
        np.testing.assert_allclose(feats[p].features, clean[p].features, atol=1e-2)  # float16 on disk


def test_cache_key_changes_with_config_and_manifest_is_readable(tmp_path):
    a = FeatureCache(tmp_path, [FlowStream(grid=2, width=32)], 64)
    b = FeatureCache(tmp_path, [FlowStream(grid=3, width=32)], 64)
    c = FeatureCache(tmp_path, [FlowStream(grid=2, width=32)], 32)
    assert len({a.dirs[0], b.dirs[0], c.dirs[0]}) == 3
    manifest = json.loads((a.dirs[0] / "manifest.json").read_text())
    assert manifest == {"stream": {"name": "flow", "grid": 2, "width": 32, "bins": 8, "cut": 1.0,
                                   "method": "farneback-hof-v2"},
                        "max_frames": 64, "format": 1}
    (a.dirs[0] / "manifest.json").write_text(json.dumps({**manifest, "max_frames": 8}))
    with pytest.raises(CacheMismatchError, match="delete the folder to rebuild it"):
        FeatureCache(tmp_path, [FlowStream(grid=2, width=32)], 64)


def test_cache_skips_unreadable_videos_and_lists_them(tmp_path, write_video, make_frames):
    good = write_video(tmp_path / "good.avi", make_frames(5))
    empty = tmp_path / "empty.avi"
    empty.write_bytes(b"")
    junk = tmp_path / "junk.avi"
    junk.write_bytes(b"this is not a video" * 50)
    feats, skipped = FeatureCache(tmp_path / "cache", [FlowStream(grid=2, width=32)], 64).extract(
        [good, empty, junk], progress=False)
    assert list(feats) == [good]
    assert [p for p, _ in skipped] == [str(empty), str(junk)]
    assert "empty" in skipped[0][1]
    listed = json.loads((tmp_path / "cache" / "skipped.json").read_text())
    assert set(listed) == {str(empty), str(junk)}


def test_frame_folder_and_lossless_video_give_identical_features(tmp_path, write_video, write_frame_folder,
                                                                  make_frames):
    frames = make_frames(12, 32, 32)
    video = write_video(tmp_path / "clip.avi", frames)
    folder = write_frame_folder(tmp_path / "clip", frames)
    stream = FlowStream(grid=2, width=32)
    feats, _ = FeatureCache(tmp_path / "cache", [stream], 8).extract([video, folder], progress=False)
    np.testing.assert_array_equal(feats[video].features, feats[folder].features)
    np.testing.assert_array_equal(feats[video].frame_indices, [0, 2, 3, 5, 6, 8, 9, 11])


def test_appearance_stream_shape(tmp_path):
    s = create_stream("appearance", backbone="efficientnet_lite0", engine="torch")
    FeatureCache(tmp_path, [s], 64)
    FeatureCache(tmp_path, [s], 64)  # the manifest (tuples in the config) reads back as equal
    frames = np.random.default_rng(0).integers(0, 255, (2, 40, 50, 3), dtype=np.uint8)
    f = s.extract(frames)
    assert f.shape == (2, 1280) and f.dtype == np.float32 and np.isfinite(f).all()
    assert s.config()["preprocessing"]["input_size"] == 224


def test_mirror_matches_mirrored_frames_and_swaps_labels():
    from conftest import _moving_square

    from actcap.features.labelled import LabelledFeatures, mirrored
    from actcap.features.streams.appearance import AppearanceStream

    s = FlowStream(grid=2, width=64)
    right = _moving_square(8, +1, h=96, w=128, start=20, row=40)
    np.testing.assert_allclose(s.mirror(s.extract(right)), s.extract(right[:, :, ::-1].copy()), atol=0.01)

    data = LabelledFeatures([s.extract(right)], [1], ["r"], [], [])
    out = mirrored(data, [s], ["move_left", "move_right"], [("move_left", "move_right")])
    assert out.labels == [1, 0]  # the mirrored rightward clip is a leftward clip
    assert mirrored(data, [s], ["move_left", "move_right"], []).labels == [1, 1]
    with pytest.raises(ValueError, match="`--mirror`: unknown class swipe_up; classes: move_left, move_right"):
        mirrored(data, [s], ["move_left", "move_right"], [("move_left", "swipe_up")])
    with pytest.raises(ValueError, match="`--mirror` needs streams whose features can be mirrored; appearance cannot"):
        mirrored(data, [AppearanceStream()], ["a", "b"], [])


def test_int8_features_never_share_the_fp32_cache_nor_another_calibrations(tmp_path, onnx_cache, calibration):
    from actcap.features.streams.appearance import AppearanceStream

    fp32 = FeatureCache(tmp_path, [AppearanceStream(engine="onnx")], 64).dirs[0]
    int8 = FeatureCache(tmp_path, [AppearanceStream(engine="onnx-int8")], 64).dirs[0]
    assert fp32 != int8
    stream = json.loads((int8 / "manifest.json").read_text())["stream"]
    assert stream["precision"] == "int8" and stream["int8_model"].startswith("efficientnet_lite0-int8-")
    from actcap.features.engine import create_engine

    other = AppearanceStream(engine="onnx-int8", engine_obj=create_engine("efficientnet_lite0", "onnx-int8",
                                                                          calibration=calibration[:4]))
    assert FeatureCache(tmp_path, [other], 64).dirs[0] not in (fp32, int8)


def test_flow_from_another_method_is_refused():
    with pytest.raises(ValueError, match="uses method 'farneback-v1', but this actcap computes 'farneback-hof-v2'"):
        create_stream("flow", method="farneback-v1")


def test_flow_treats_a_cut_as_no_motion(make_frames):
    from conftest import _moving_square

    s = FlowStream(grid=2, width=64)
    frames = _moving_square(6, +1, h=96, w=128, start=20, row=40)
    frames[3:] = make_frames(3, 96, 128, seed=5)  # the scene changes completely at frame 3
    f = s.extract(frames)
    assert np.all(f[3] == 0)  # the cut itself is not motion
    assert f[2].sum() > 1.0  # the square's motion before it is


def test_clips_whose_names_are_not_utf8_get_cache_ids_and_valid_names_keep_theirs(tmp_path, write_video, make_frames):
    import hashlib
    import os

    from actcap.features.cache import clip_id

    latin = tmp_path / os.fsdecode(b"caf\xe9_s1_t1.avi")  # Latin-1 bytes from an old camera card
    write_video(tmp_path / "tmp.avi", make_frames(4)).rename(latin)  # OpenCV itself can't write such a name
    plain = write_video(tmp_path / "cafe_s1_t1.avi", make_frames(4))
    a, b = clip_id(latin), clip_id(plain)  # raised UnicodeEncodeError for the Latin-1 name
    assert len(a) == 20 and a != b
    st = plain.stat()
    assert b == hashlib.sha1(f"{plain.resolve()}|{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:20]
