"""Train/validation splits: stratified fractions, groups (subjects), explicit lists, folds, CLI flag checks."""

import logging
from pathlib import Path

import pytest

from actcap.data.folders import ClipRecord, DatasetError, scan_dataset
from actcap.data.splits import (
    get_groups,
    leave_groups_out_folds,
    resolve_split,
    split_by_fraction,
    split_by_groups,
    split_from_lists,
)

SUBJECT = r"_s(\d+)_"
CLASSES = ["clap", "swipe_left", "throw"]


def _records(subjects=range(1, 7), trials=range(1, 5), classes=CLASSES):
    """UTD-MHAD-like records (no files needed): a<k>_s<subject>_t<trial>_color in each class."""
    return [ClipRecord(Path(f"/data/{c}/a{k}_s{s}_t{t}_color.avi"), c, f"a{k}_s{s}_t{t}_color")
            for k, c in enumerate(classes, 1) for s in subjects for t in trials]


def _subject(r):
    return r.name.split("_")[1]


def test_fraction_is_stratified_deterministic_and_disjoint():
    records = _records()  # 24 clips per class
    train, val = split_by_fraction(records, 0.25, None, seed=3)
    assert len(train) == 54 and len(val) == 18
    assert {c: sum(r.label == c for r in val) for c in CLASSES} == {c: 6 for c in CLASSES}
    assert set(train).isdisjoint(val) and set(train) | set(val) == set(records)
    assert (train, val) == split_by_fraction(records, 0.25, None, seed=3)
    assert val != split_by_fraction(records, 0.25, None, seed=4)[1]


def test_fraction_small_classes_keep_one_clip_on_each_side():
    records = _records(subjects=[1], trials=[1, 2])
    train, val = split_by_fraction(records, 0.1, None, seed=0)
    assert len(train) == 3 and len(val) == 3


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.2])
def test_fraction_must_be_inside_0_1(fraction):
    message = rf"^`--val-fraction` must be between 0 and 1 \(exclusive\), got {fraction}$"
    with pytest.raises(DatasetError, match=message):
        split_by_fraction(_records(), fraction, None, seed=0)


def test_fraction_by_group_keeps_each_subject_on_one_side():
    train, val = split_by_fraction(_records(), 0.2, SUBJECT, seed=0)  # round(6 * 0.2) = 1 subject held out
    assert len({_subject(r) for r in val}) == 1 and len(val) == 12
    assert {_subject(r) for r in train}.isdisjoint({_subject(r) for r in val})


def test_group_regex_must_match_every_clip():
    records = _records(subjects=[1, 2], trials=[1]) + [ClipRecord(Path("/data/clap/odd.avi"), "clap", "odd")]
    with pytest.raises(DatasetError) as e:
        split_by_fraction(records, 0.5, SUBJECT, seed=0)
    assert str(e.value) == r"clip 'odd' (clap) does not match `--group-by` '_s(\d+)_'"
    with pytest.raises(DatasetError, match=r"found 1 group \(1\); need at least 2"):
        split_by_fraction(_records(subjects=[1]), 0.5, SUBJECT, seed=0)


def test_split_by_groups_subjects():
    train, val = split_by_groups(_records(), SUBJECT, ["5", "6"])
    assert len(train) == 48 and len(val) == 24
    assert {_subject(r) for r in val} == {"s5", "s6"}
    assert split_by_groups(_records(), r"_(s\d+)_", ["s5", "s6"])[1] == val


def test_split_by_groups_unknown_group_and_class_without_training_clips():
    with pytest.raises(DatasetError) as e:
        split_by_groups(_records(), SUBJECT, ["5", "9"])
    assert str(e.value) == r"`--val-groups` 9 not found by `--group-by` '_s(\d+)_'; groups found: 1, 2, 3, 4, 5, 6"
    records = _records(subjects=[1, 2], classes=["clap"]) + _records(subjects=[2], classes=["throw"])
    message = r"^class 'throw' has no training clips: all its clips are in validation groups 2$"
    with pytest.raises(DatasetError, match=message):
        split_by_groups(records, SUBJECT, ["2"])


def test_leave_groups_out_folds_cover_every_group_once():
    records = _records()
    folds = leave_groups_out_folds(records, SUBJECT, 2)
    assert [held for held, _, _ in folds] == [["1", "2"], ["3", "4"], ["5", "6"]]
    for held, train, val in folds:
        assert {_subject(r)[1:] for r in val} == set(held) and set(train) | set(val) == set(records)
        assert set(train).isdisjoint(val)
    with pytest.raises(DatasetError, match=r"groups per fold must be between 1 and 5 .* got 6"):
        leave_groups_out_folds(records, SUBJECT, 6)


def test_split_from_lists(tmp_path):
    records = _records(subjects=[1], trials=[1, 2])
    (tmp_path / "train.txt").write_text("a1_s1_t1_color\nswipe_left/a2_s1_t1_color.avi\n\n a3_s1_t1_color.avi \n")
    (tmp_path / "val.txt").write_text("clap/a1_s1_t2_color\n")
    train, val = split_from_lists(records, tmp_path / "train.txt", tmp_path / "val.txt")
    assert [r.name for r in train] == ["a1_s1_t1_color", "a2_s1_t1_color", "a3_s1_t1_color"]
    assert [r.name for r in val] == ["a1_s1_t2_color"]


def test_split_from_lists_errors(tmp_path):
    records = _records(subjects=[1], trials=[1, 2])
    (tmp_path / "train.txt").write_text("a1_s1_t1_color\nnope\n")
    (tmp_path / "val.txt").write_text("a1_s1_t1_color\n")
    with pytest.raises(DatasetError) as e:
        split_from_lists(records, tmp_path / "train.txt", tmp_path / "val.txt")
    assert str(e.value).splitlines() == [
        f"{tmp_path / 'train.txt'}:2: no clip named 'nope' in the data folder "
        f"(write a clip name, its file name, or <class>/<clip>)",
        "clip 'clap/a1_s1_t1_color' is in both `--train-list` and `--val-list`",
    ]


def test_resolve_split_flag_conflicts_name_the_flags(tmp_path):
    r = _records()
    cases = [
        (dict(split="hmdb51:1"), "`--split hmdb51:1` needs `--splits-dir`"),
        (dict(val_fraction=0.2, train_list="t.txt", val_list="v.txt"),
         "can't combine `--val-fraction` with `--train-list`"),
        (dict(train_list="t.txt"), "`--train-list` needs `--val-list`"),
        (dict(val_groups=["5"]), "`--val-groups` needs `--group-by`"),
        (dict(split="groups", group_by=SUBJECT), "`--split groups` needs `--val-groups`"),
        (dict(splits_dir=tmp_path), "`--splits-dir` is only used with `--split hmdb51:1|2|3`"),
        (dict(split="hmdb51:all", splits_dir=tmp_path), "`--split hmdb51:all` means all three official splits"),
        (dict(split="subjects"), "unknown split 'subjects'; choose one of: fraction, groups, lists, hmdb51:1, "
                                 "hmdb51:2, hmdb51:3, hmdb51:all (evaluate)"),
    ]
    for kwargs, message in cases:
        with pytest.raises(DatasetError) as e:
            resolve_split(r, **kwargs)
        assert str(e.value).startswith(message), (kwargs, str(e.value))
    with pytest.raises(DatasetError) as e:
        resolve_split(r, split="hmdb51:2", val_fraction=0.1, group_by=SUBJECT)
    assert str(e.value).splitlines() == ["can't combine `--val-fraction` with `--split hmdb51:2`",
                                         "can't combine `--group-by` with `--split hmdb51:2`",
                                         "`--split hmdb51:2` needs `--splits-dir`"]


def test_resolve_split_default_warns_about_random_clip_split(caplog):
    with caplog.at_level(logging.WARNING, logger="actcap.data.splits"):
        result = resolve_split(_records(), seed=0)
    assert len(result.train) == 57 and len(result.val) == 15  # round(24 * 0.2) = 5 per class
    assert "overstates accuracy on unseen people; pass `--group-by`" in caplog.text
    assert result.report == "split by random 0.2 of clips per class, seed 0: 57 train, 15 val over 3 classes"
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="actcap.data.splits"):
        resolve_split(_records(), val_fraction=0.2, group_by=SUBJECT)
        everything = resolve_split(_records(), val_fraction=0)
    assert caplog.text == ""
    assert (len(everything.train), everything.val) == (72, [])


def test_resolve_split_groups_classes_and_hmdb(fake_hmdb):
    result = resolve_split(_records(), group_by=SUBJECT, val_groups="5,6", classes=["clap", "throw"])
    assert (len(result.train), len(result.val)) == (32, 16)
    message = r"^`--classes` names not found: jump; classes found: clap, swipe_left, throw$"
    with pytest.raises(DatasetError, match=message):
        resolve_split(_records(), classes=["jump"])
    hmdb = resolve_split(scan_dataset(fake_hmdb.root), split="hmdb51:1", splits_dir=fake_hmdb.splits_dir)
    assert (len(hmdb.train), len(hmdb.val), hmdb.unused) == (6, 3, 1)


def test_real_utd_subject_split(utd_root):
    result = resolve_split(scan_dataset(utd_root), split="groups", group_by=SUBJECT, val_groups=["5", "6"])
    assert (len(result.train), len(result.val)) == (80, 40)
    assert {r.name.split("_")[1] for r in result.val} == {"s5", "s6"}


def test_a_record_s_own_group_comes_before_the_pattern():
    records = [ClipRecord(Path("a.avi"), "wave", "a_s1_t1", group="ann"), ClipRecord(Path("b.avi"), "wave", "b_s2_t1")]
    assert get_groups(records, r"_s(\d+)_") == ["ann", "2"]
    assert get_groups(records[:1], None) == ["ann"]  # a taught example says who is in it; no pattern needed
    with pytest.raises(DatasetError, match=r"clip 'b_s2_t1' \(wave\) has no group and no `--group-by` was given"):
        get_groups(records, None)
