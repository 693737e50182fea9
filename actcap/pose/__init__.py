"""Body pose: one skeleton (skeleton.py) shared by the pose stream and keypoint datasets."""
