"""Real-world inputs the earlier rounds missed: phone photos in a folder, other containers, animated images."""

import io

import numpy as np
import pytest
from PIL import Image

from actcap.data.video import ImageListClip, decode_image_bytes, open_clip


def _photo(frame: np.ndarray, orientation: int, fmt: str = "PNG") -> bytes:
    """`frame` stored as a phone stores an upright shot: pixels turned, an EXIF orientation saying how to undo it."""
    turns = {1: 0, 3: 2, 6: 1, 8: 3}[orientation]  # the stored image, turned back by the orientation, is `frame`
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(np.rot90(frame, turns))).save(buf, fmt, exif=exif)
    return buf.getvalue()


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_exif_rotated_photos_in_a_folder_are_upright_like_uploads(tmp_path, make_frames, orientation):
    frames = make_frames(3, 40, 30, seed=orientation)  # portrait, as shot
    folder = tmp_path / "phone"
    folder.mkdir()
    for i, f in enumerate(frames):
        (folder / f"IMG_{i}.png").write_bytes(_photo(f, orientation))
    clip = open_clip(folder)
    assert clip.frame_size() == (30, 40)
    np.testing.assert_array_equal(clip.read_all(), frames)
    data = (folder / "IMG_0.png").read_bytes()
    np.testing.assert_array_equal(ImageListClip([folder / "IMG_0.png"]).read([0])[0],
                                  decode_image_bytes(data, "IMG_0.png", max_pixels=10_000))
