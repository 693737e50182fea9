r"""Data stage: find clips on disk, read their frames, choose frame indices, split train/validation.

    records = scan_dataset("data/utd")                                   # folders.py
    result = resolve_split(records, group_by=r"_s(\d+)_", val_groups=["5", "6"])   # splits.py / hmdb51.py
    clip = open_clip(result.train[0].path)                               # video.py
    frames = clip.read(uniform_indices(len(clip), 16))                   # sampling.py; (16, H, W, 3) uint8 RGB

Only these light modules are imported here; `actcap.data.dataset` (torch) is imported where it is used.
"""

from actcap.data.folders import ClipRecord, DatasetError, check_trainable, class_names, scan_dataset, sort_records
from actcap.data.hmdb51 import HMDB51_SPLITS, SplitResult, parse_split_file, read_splits, resolve_hmdb51
from actcap.data.sampling import is_short, multi_clip_indices, segment_indices, uniform_indices
from actcap.data.splits import (
    SPLIT_MODES,
    get_groups,
    leave_groups_out_folds,
    resolve_split,
    split_by_fraction,
    split_by_groups,
    split_from_lists,
)
from actcap.data.video import (
    IMAGE_EXTENSIONS,
    VIDEO_EXTENSIONS,
    Clip,
    FrameFolderClip,
    ImageDecodeError,
    ImageListClip,
    VideoError,
    VideoFileClip,
    decode_image_bytes,
    natural_key,
    open_clip,
)

__all__ = [
    "IMAGE_EXTENSIONS", "VIDEO_EXTENSIONS", "HMDB51_SPLITS", "SPLIT_MODES",
    "Clip", "FrameFolderClip", "ImageListClip", "VideoFileClip", "VideoError", "ImageDecodeError",
    "open_clip", "decode_image_bytes", "natural_key",
    "uniform_indices", "segment_indices", "multi_clip_indices", "is_short",
    "ClipRecord", "DatasetError", "scan_dataset", "class_names", "check_trainable", "sort_records",
    "SplitResult", "parse_split_file", "read_splits", "resolve_hmdb51",
    "split_by_fraction", "split_by_groups", "split_from_lists", "leave_groups_out_folds", "get_groups",
    "resolve_split",
]
