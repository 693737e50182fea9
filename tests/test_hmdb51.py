"""Official HMDB51 splits: parsing real-format split files and matching them to clips on disk."""

import logging

import pytest

from actcap.data.folders import DatasetError, scan_dataset
from actcap.data.hmdb51 import parse_split_file, read_splits, resolve_hmdb51

BRUSH = "Brushing_Her_Hair__[_NEW_AUDIO_]_UPDATED!!!!_brush_hair_h_cm_np1_fr_goo_0"
BOB = "Bob's_#1_hair_(take_2)_&_more_brush_hair_u_nm_np1_fr_med_0"
CHANTA = "Chanta!____THAT_IS_long_blonde_hair!_brush_hair_u_cm_np1_fr_goo_2"


def test_parse_split_file_trailing_spaces_blank_lines_and_odd_names(tmp_path):
    f = tmp_path / "x_test_split1.txt"
    f.write_text(f"{BOB}.avi 1 \n\n   \nGeena_und_die_Radschl_ge___;-)_x.avi 2 \r\n(Rad)Schlag!.avi 0")
    assert parse_split_file(f) == [(f"{BOB}.avi", 1), ("Geena_und_die_Radschl_ge___;-)_x.avi", 2),
                                   ("(Rad)Schlag!.avi", 0)]


def test_parse_split_file_reports_every_bad_line(tmp_path):
    f = tmp_path / "x_test_split1.txt"
    f.write_text("a.avi 1 \nb.avi\nc.avi 7 \n")
    with pytest.raises(DatasetError) as e:
        parse_split_file(f)
    assert str(e.value).splitlines() == [
        f"{f}:2: expected '<video name> <tag>' with tag 0, 1 or 2, got 'b.avi'",
        f"{f}:3: expected '<video name> <tag>' with tag 0, 1 or 2, got 'c.avi 7 '",
    ]


def test_read_splits_class_names_with_underscores(fake_hmdb):
    table = read_splits(fake_hmdb.splits_dir, 1)
    assert sorted(table) == ["brush_hair", "clap", "fall_floor"]
    assert table["brush_hair"][BOB] == 1 and table["brush_hair"][CHANTA] == 2
    assert read_splits(fake_hmdb.splits_dir, 2)["brush_hair"][CHANTA] == 1


def test_read_splits_missing_dir_and_bad_split(tmp_path):
    with pytest.raises(DatasetError) as e:
        read_splits(tmp_path / "splits", 1)
    assert str(e.value) == (f"HMDB51 splits folder {tmp_path / 'splits'} does not exist; pass the folder holding "
                            f"<class>_test_split1.txt … with `--splits-dir` (unpack test_train_splits.rar from the "
                            f"HMDB51 site; see docs/hmdb51.md)")
    with pytest.raises(DatasetError, match=r"^HMDB51 split must be 1, 2 or 3, got 4$"):
        read_splits(tmp_path, 4)
    with pytest.raises(DatasetError, match=r"^no files named <class>_test_split1.txt in "):
        read_splits(tmp_path, 1)


def test_resolve_split_1(fake_hmdb, caplog):
    records = scan_dataset(fake_hmdb.root)
    with caplog.at_level(logging.WARNING, logger="actcap.data.hmdb51"):
        result = resolve_hmdb51(records, fake_hmdb.splits_dir, 1)
    assert [r.name for r in result.train] == [
        BOB, BRUSH, "#20_Rhythm_clap_u_nm_np1_fr_goo_0", "that70_sshowslowclap_clap_u_nm_np1_fr_med_0",
        "(Rad)Schlag_die_Bank!_fall_floor_f_cm_np1_le_med_0", "Tom_&_Jerry_fall_floor_f_nm_np1_ri_bad_1"]
    assert [r.name for r in result.val] == [
        CHANTA, "slowclap_clap_u_nm_np1_fr_goo_0", "Geena_und_die_Radschl_ge___;-)_fall_floor_f_cm_np1_fr_med_2"]
    assert result.train[0].path.is_dir()  # the frame folder matched `<name>.avi` in the split file
    assert result.unused == 1
    assert result.missing == ["brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0"]
    assert result.not_in_split == ["clap/my_own_clap_recording"]
    assert result.report.splitlines() == [
        "HMDB51 split 1 over 3 classes: 6 train, 3 val (test), 1 unused (tag 0)",
        "1 clip named in the split files missing on disk: brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0",
        "1 clip on disk in no split file (not used): clap/my_own_clap_recording",
    ]
    assert [r.message for r in caplog.records] == result.report.splitlines()[1:]


def test_resolve_split_2_and_classes(fake_hmdb):
    records = scan_dataset(fake_hmdb.root)
    result = resolve_hmdb51(records, fake_hmdb.splits_dir, 2, classes=["brush_hair"])
    assert [r.name for r in result.train] == [BOB, CHANTA]
    assert [r.name for r in result.val] == [BRUSH, "can_somebody_just_brush_my_hair!_brush_hair_u_cm_np2_ri_med_0"]
    assert result.missing == [] and result.unused == 0 and result.not_in_split == []


def test_resolve_unknown_class(fake_hmdb):
    with pytest.raises(DatasetError) as e:
        resolve_hmdb51(scan_dataset(fake_hmdb.root), fake_hmdb.splits_dir, 1, classes=["clap", "brushhair"])
    assert str(e.value) == ("`--classes` names not in the HMDB51 split files: brushhair; "
                            "valid names: brush_hair, clap, fall_floor")


def test_resolve_nothing_matches(fake_hmdb, tmp_path):
    other = tmp_path / "other"
    (other / "clap").mkdir(parents=True)
    (other / "clap" / "renamed.avi").write_bytes(b"")
    with pytest.raises(DatasetError, match=r"^none of the 1 clip on disk is named in the HMDB51 split 1 files"):
        resolve_hmdb51(scan_dataset(other), fake_hmdb.splits_dir, 1)


def test_real_split_files(hmdb_splits_dir):
    table = read_splits(hmdb_splits_dir, 1)
    assert len(table) == 51 and "brush_hair" in table and "fall_floor" in table
    tags = [t for clips in table.values() for t in clips.values()]
    assert (tags.count(1), tags.count(2), tags.count(0)) == (3570, 1530, 1666)
    assert all(list(clips.values()).count(1) == 70 and list(clips.values()).count(2) == 30 for clips in table.values())
