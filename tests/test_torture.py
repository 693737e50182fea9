"""Every real-format video gets an answer or a one-line refusal: the decode-torture corpus (tests/torture.py)
through the reader, the real CLI entry point and POST /predict."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest
from torture import CASES, TORTURE, scene

from actcap.cli import main
from actcap.data.video import VideoError, VideoFileClip, open_clip

CLASSES = ["clap", "swipe_left", "swipe_right", "throw", "wave"]  # the tiny model's (serve_fixtures)


def test_corpus_has_the_kinds_issue_10_asks_for():
    answered = [c for c in TORTURE if c.error is None]
    assert len(answered) >= 20 and len(TORTURE) >= 25
    for name in ("avi_mpeg4_header_plus_one", "avi_mpeg4_damaged_packet", "mp4_h264_phone_rotated_90",
                 "mp4_h264_vfr", "webm_vp8_mediarecorder", "webm_vp9_mediarecorder", "mkv_h264", "mov_h264",
                 "mp4_306x256", "mp4_452x256", "mkv_97x61_odd", "mp4_1280x720", "mp4_720x1280_portrait",
                 "mp4_3840x2160"):
        assert name in CASES


@pytest.mark.parametrize("case", TORTURE, ids=[c.name for c in TORTURE])
def test_reader(case, torture_corpus):
    path = torture_corpus[case.name]
    if case.error:
        with pytest.raises(VideoError) as e:
            open_clip(path)
        assert str(e.value) == f"{path}: {case.error}"
        return
    clip = open_clip(path)
    assert len(clip) == case.frames
    frames = clip.read(list(range(len(clip))))
    assert frames.shape == (case.frames, *case.size, 3) and frames.dtype == np.uint8
    assert list(clip.warnings) == ([f"{path}: {case.recovered}"] if case.recovered else [])
    np.testing.assert_array_equal(np.stack(list(clip.iter_frames())), frames)  # the timeline's reader agrees


@pytest.mark.parametrize("case", TORTURE, ids=[c.name for c in TORTURE])
def test_cli_predict(case, torture_corpus, tiny_model_dir, capsys):
    path = torture_corpus[case.name]
    rc = main(["predict", str(path), "--model", str(tiny_model_dir)])
    out, err = capsys.readouterr()
    if case.error:
        assert (rc, out, err) == (2, "", f"error: {path}: {case.error}\n")
        return
    assert rc == 0, err
    answer = json.loads(out)
    assert answer["prediction"] in CLASSES and answer["frames_received"] == case.frames
    if case.recovered:
        assert f"{path}: {case.recovered}" in answer["warnings"]
    if case.warning:
        assert any(case.warning in w for w in answer["warnings"]), answer["warnings"]


@pytest.mark.parametrize("case", TORTURE, ids=[c.name for c in TORTURE])
def test_service_predict(case, torture_corpus, client):
    path = torture_corpus[case.name]
    r = client.post("/predict", files={"video": (path.name, path.read_bytes(), "application/octet-stream")})
    if case.error:
        assert (r.status_code, r.json()) == (422, {"detail": f"{path.name}: {case.error}"})
        return
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["prediction"] in CLASSES and answer["frames_received"] == case.frames
    if case.recovered:  # the upload's name, never the server's temporary path
        assert answer["warnings"] == [f"{path.name}: {case.recovered}"]


def test_image_sent_as_video_is_refused_with_the_way_to_send_it(client, tmp_path):
    png = (tmp_path / "dot.png")
    CASES["png_named_mp4"].build(png)
    r = client.post("/predict", files={"video": ("dot.png", png.read_bytes(), "image/png")})
    assert (r.status_code, r.json()) == (422, {"detail": "dot.png: is a PNG image, not a video; send images as "
                                                         "frames (image files to `actcap predict`, or field "
                                                         "'frames[]' to POST /predict)"})


def test_cli_prints_one_line_and_no_decoder_noise(torture_corpus, tiny_model_dir):
    """The real console entry in a fresh process: FFmpeg's own log lines would also reach the terminal."""
    for name in ("mp4_truncated_no_moov", "avi_mpeg4_cut_short"):
        path = torture_corpus[name]
        run = subprocess.run([sys.executable, "-m", "actcap", "predict", str(path), "--model", str(tiny_model_dir)],
                             capture_output=True, text=True, timeout=300)
        assert (run.returncode, run.stdout, run.stderr) == (2, "", f"error: {path}: {CASES[name].error}\n")


def test_debug_shows_the_traceback(torture_corpus, tiny_model_dir):
    path = torture_corpus["png_named_mp4"]
    with pytest.raises(VideoError, match="is a PNG image, not a video"):
        main(["--debug", "predict", str(path), "--model", str(tiny_model_dir)])


def test_unexpected_error_is_one_line_with_exit_1(tiny_model_dir, torture_corpus, monkeypatch, capsys):
    def boom(self, clip):
        raise RuntimeError("something inside actcap broke")

    monkeypatch.setattr("actcap.inference.predictor.Predictor.predict_clip", boom)
    assert main(["predict", str(torture_corpus["mkv_h264"]), "--model", str(tiny_model_dir)]) == 1
    assert capsys.readouterr().err == ("error: RuntimeError: something inside actcap broke (an actcap bug? run "
                                       "again with --debug for the traceback and report it)\n")


def test_header_plus_one_reads_the_same_frames_as_the_intact_file(torture_corpus):
    intact = open_clip(torture_corpus["avi_mpeg4_hmdb"])
    patched = open_clip(torture_corpus["avi_mpeg4_header_plus_one"])
    np.testing.assert_array_equal(patched.read([0, 7, 23]), intact.read([0, 7, 23]))


def test_damaged_packet_keeps_the_frames_before_it_and_decodes_past_it(torture_corpus):
    intact, damaged = open_clip(torture_corpus["avi_mpeg4_hmdb"]), open_clip(torture_corpus["avi_mpeg4_damaged_packet"])
    np.testing.assert_array_equal(damaged.read(list(range(12))), intact.read(list(range(12))))
    assert damaged.read([22]).shape == (1, 240, 320, 3)  # the 23rd frame that decodes: frame 23 of the file


def test_rotated_video_is_upright_on_both_readers(torture_corpus, monkeypatch):
    """The packet reader turns frames as OpenCV's sequential reader does (a phone's -90: a quarter turn
    clockwise), bit for bit; the top-left of the picture as filmed ends up at the top-right."""
    path = torture_corpus["mp4_h264_phone_rotated_90"]
    fast = open_clip(path).read([0, 5, 15])
    monkeypatch.setattr("actcap.data.video_file.read_packets", lambda *a: None)
    np.testing.assert_array_equal(open_clip(path).read([0, 5, 15]), fast)
    filmed = scene(1, 240, 320)[0].astype(int)  # (240, 320, 3) as the encoder got it
    upright = fast[0].astype(int)  # (320, 240, 3)
    assert np.abs(upright - np.rot90(filmed, -1)).mean() < 4  # lossy H.264: near, not equal
    assert np.abs(upright - np.rot90(filmed, 1)).mean() > 40


def test_long_video_reads_only_the_packets_it_needs(torture_corpus, monkeypatch):
    clip = open_clip(torture_corpus["avi_mjpeg_long"])

    def no_sequential(self, wanted):
        raise AssertionError("decoded from frame 0")

    monkeypatch.setattr(VideoFileClip, "_read_sequential", no_sequential)
    assert clip.read([10, 200, 399]).shape == (3, 24, 32, 3)


@pytest.mark.parametrize("packets", [True, False], ids=["packet_reader", "sequential_reader"])
def test_4k_frames_are_reduced_as_they_are_decoded(torture_corpus, monkeypatch, packets):
    if not packets:
        monkeypatch.setattr("actcap.data.video_file.read_packets", lambda *a: None)
    clip = open_clip(torture_corpus["mp4_3840x2160"])
    assert clip.read([0, 1]).shape == (2, 360, 640, 3)
    assert next(clip.iter_frames()).shape == (360, 640, 3)


def test_large_images_in_a_folder_are_reduced(tmp_path, write_frame_folder):
    folder = write_frame_folder(tmp_path / "clip", scene(2, 800, 1000))
    assert open_clip(folder).read([0, 1]).shape == (2, 512, 640, 3)


def test_extraction_over_a_tree_skips_only_files_that_cannot_be_read(torture_corpus, tmp_path):
    from actcap.features.cache import FeatureCache
    from actcap.features.streams.flow import FlowStream

    names = ["avi_mpeg4_header_plus_one", "avi_mpeg4_damaged_packet", "webm_vp8_mediarecorder",
             "avi_mpeg4_cut_short", "png_named_mp4"]
    paths = [torture_corpus[n] for n in names]
    feats, skipped = FeatureCache(tmp_path / "cache", [FlowStream(grid=2, width=32)], 64).extract(
        paths, progress=False)
    assert list(feats) == paths[:3]
    assert [f.num_source_frames for f in feats.values()] == [24, 23, 20]
    assert skipped == [(str(paths[3]), CASES["avi_mpeg4_cut_short"].error),
                       (str(paths[4]), CASES["png_named_mp4"].error)]


@pytest.mark.parametrize("name", ["avi_mpeg4_damaged_packet", "mp4_one_frame", "mp4_h264_vfr", "mp4_3840x2160"])
def test_timeline_answers_and_keeps_the_warnings(name, torture_corpus, tiny_model_dir, capsys):
    path = torture_corpus[name]
    assert main(["predict", str(path), "--model", str(tiny_model_dir), "--timeline"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["frames_received"] == CASES[name].frames and answer["prediction"] in CLASSES
    recovered = CASES[name].recovered
    assert answer["warnings"] == ([f"{path}: {recovered}"] if recovered else [])


@pytest.mark.parametrize("kind", ["avi", "mp4"])
def test_last_frame_that_does_not_decode_is_left_out_not_refused(kind, torture_corpus):
    """Issue 19's UCF101 AVI: OpenCV's seek to the last frame lands short of it and grabs one anyway, so the
    header's count was believed and reading refused the clip at its last frame. The count is now checked by
    where the seek ended; the frames that decode are the clip."""
    damaged = open_clip(torture_corpus[f"{kind}_mpeg4_bframes_last_frame_damaged"])
    assert len(damaged) == 22 and damaged.read([0, 21]).shape == (2, 240, 320, 3)


def _believing_the_header(path, count):
    """The clip as if OpenCV's seek had vouched for `count` frames, read by the sequential readers (OpenCV first)."""
    clip = open_clip(path)
    clip._len, clip._scan, clip._packets_exact, clip._notes = count, None, lambda: False, []
    return clip


def test_opencv_running_out_before_its_count_falls_back_to_pyav(torture_corpus):
    """Were OpenCV to vouch for a count and then stop short when reading from frame 0 (it stops at the damaged
    packet 12; PyAV skips it and decodes 23), the tolerant reader takes over and serves the frames it decodes."""
    path = torture_corpus["avi_mpeg4_damaged_packet"]
    expected = open_clip(path).read(list(range(23)))
    np.testing.assert_array_equal(_believing_the_header(path, 23).read(list(range(23))), expected)
    np.testing.assert_array_equal(np.stack(list(_believing_the_header(path, 23).iter_frames())), expected)


def test_frames_past_what_decodes_are_the_last_that_does_with_a_warning(torture_corpus):
    """Were the count believed and fewer frames decode even for PyAV (22 of 24), the last frame that decodes stands
    in for the missing ones and the clip's warnings say so (the answer's warnings are read after reading)."""
    path = torture_corpus["avi_mpeg4_bframes_last_frame_damaged"]
    intact = open_clip(path).read([21])[0]
    clip = _believing_the_header(path, 24)
    frames = clip.read([0, 23])
    np.testing.assert_array_equal(frames[1], intact)
    note = f"{path}: the header reports 24 frames; 22 decode; frame 21 stands in for the 2 that do not"
    assert clip.warnings == [note]
    clip = _believing_the_header(path, 24)
    frames = np.stack(list(clip.iter_frames()))
    assert len(frames) == 24 and clip.warnings == [note]
    np.testing.assert_array_equal(frames[22:], np.stack([intact, intact]))


def test_too_few_frames_past_what_decodes_are_refused_naming_the_first_missing(torture_corpus):
    path = torture_corpus["mp4_one_frame"]  # 1 frame where 24 were vouched for: a file cut short
    refusal = f"^{re.escape(str(path))}: " + re.escape("frame 1 could not be decoded (file truncated?); the "
                                                       "container reports 24 frames") + "$"
    with pytest.raises(VideoError, match=refusal):
        _believing_the_header(path, 24).read([0, 23])
    with pytest.raises(VideoError, match=refusal):
        list(_believing_the_header(path, 24).iter_frames())


def test_a_late_warning_reaches_the_answer(torture_corpus, tiny_model_dir, monkeypatch):
    from actcap.inference.predictor import Predictor

    path = torture_corpus["avi_mpeg4_bframes_last_frame_damaged"]
    monkeypatch.setattr("actcap.inference.predictor.open_clip", lambda p: _believing_the_header(p, 24))
    answer = Predictor.load(tiny_model_dir).predict_paths([path])
    assert answer["warnings"] == [f"{path}: the header reports 24 frames; 22 decode; frame 21 stands in for the 2 "
                                  "that do not"]
