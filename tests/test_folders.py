"""Scanning ROOT/<class>/<clip>: mixed videos and frame folders, ordering, and every kind of bad layout."""

from pathlib import Path

import pytest

from actcap.data.folders import ClipRecord, DatasetError, check_trainable, class_names, scan_dataset


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")  # scanning looks at names only, so placeholders are enough
    return path


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "data"
    for name in ("clip_10.avi", "clip_2.mp4", "clip_1.AVI", "notes.txt", ".hidden.avi"):
        _touch(r / "wave" / name)
    _touch(r / "clap" / "take_3" / "frame_1.jpg")
    _touch(r / "clap" / "take_12.mkv")
    (r / "clap" / "empty_dir").mkdir()
    (r / ".cache").mkdir()
    _touch(r / "README.md")
    return r


def test_scan_mixed_layout_sorted_by_class_then_natural_name(root):
    records = scan_dataset(root)
    assert [(r.label, r.name, r.path.name) for r in records] == [
        ("clap", "take_3", "take_3"),
        ("clap", "take_12", "take_12.mkv"),
        ("wave", "clip_1", "clip_1.AVI"),
        ("wave", "clip_2", "clip_2.mp4"),
        ("wave", "clip_10", "clip_10.avi"),
    ]
    assert records[0] == ClipRecord(root / "clap" / "take_3", "clap", "take_3")
    assert class_names(records) == ["clap", "wave"]


def test_classes_filter(root):
    assert {r.label for r in scan_dataset(root, classes=["wave"])} == {"wave"}


def test_unknown_class_lists_what_exists(root):
    with pytest.raises(DatasetError) as e:
        scan_dataset(root, classes=["wave", "jump", "kick"])
    assert str(e.value) == f"`--classes` names not found in {root}: jump, kick; class folders there: clap, wave"


def test_missing_root(tmp_path):
    with pytest.raises(DatasetError) as e:
        scan_dataset(tmp_path / "nope")
    assert str(e.value) == (f"data folder {tmp_path / 'nope'} does not exist; expected {tmp_path / 'nope'}/<class>/"
                            f"<clip>.avi or {tmp_path / 'nope'}/<class>/<clip>/<frame>.jpg")


def test_no_class_folders_hints_at_loose_videos(tmp_path):
    _touch(tmp_path / "a.avi")
    with pytest.raises(DatasetError) as e:
        scan_dataset(tmp_path)
    assert str(e.value).startswith(f"data folder {tmp_path} has no class folders; "
                                   f"expected {tmp_path}/<class>/<clip>.avi")
    assert str(e.value).endswith(f"(it holds 1 video files directly: move them into {tmp_path}/<class>/, "
                                 f"or point `--data` at their parent)")


def test_every_empty_class_folder_is_reported_at_once(tmp_path):
    _touch(tmp_path / "wave" / "a.avi")
    _touch(tmp_path / "clap" / "readme.txt")
    (tmp_path / "throw").mkdir()
    with pytest.raises(DatasetError) as e:
        scan_dataset(tmp_path)
    assert str(e.value).splitlines() == [
        f"class folder '{c}' ({tmp_path / c}) has no videos or frame folders; "
        f"expected {tmp_path / c}/<clip>.avi or {tmp_path / c}/<clip>/<frame>.jpg" for c in ("clap", "throw")
    ]


def test_duplicate_clip_names(tmp_path):
    _touch(tmp_path / "wave" / "a.avi")
    _touch(tmp_path / "wave" / "a" / "frame_1.png")
    with pytest.raises(DatasetError, match=r"^class folder 'wave' has two clips named 'a' \(a, a.avi\); keep one$"):
        scan_dataset(tmp_path)


def test_single_class_scans_but_is_not_trainable(tmp_path):
    _touch(tmp_path / "clap" / "a.avi")
    records = scan_dataset(tmp_path)
    assert len(records) == 1
    with pytest.raises(DatasetError) as e:
        check_trainable(records)
    assert str(e.value) == "found 1 class (clap); training needs at least 2"
    with pytest.raises(DatasetError, match=r"^found 0 classes \(\); training needs at least 2$"):
        check_trainable([])
    check_trainable(records + [ClipRecord(Path("x.avi"), "wave", "x")])


def test_real_utd_scan(utd_root):
    records = scan_dataset(utd_root)
    assert len(records) == 120 and class_names(records) == ["clap", "swipe_left", "swipe_right", "throw", "wave"]
    assert records[0].name == "a4_s1_t1_color" and records[1].name == "a4_s1_t2_color"
