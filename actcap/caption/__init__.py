"""Captions: a sentence for every label, honest about uncertainty, and a narrative for longer videos.

    caption_for([("clap", 0.82), ("wave", 0.10)])          → "A person is clapping their hands."
    build_timeline(scores, times, classes).narrative        → "A person waves, then claps their hands."

grammar.py (label → verb phrase) → sentences.py (built-in table) → files.py (user captions) → policy.py
(which form) → timeline.py (segments and narrative). Rules and the full table: docs/captions.md.
"""

from actcap.caption.files import CaptionFileError, Captions, load_captions, resolve_captions
from actcap.caption.grammar import derive_phrase, ing_form, split_words, third_person
from actcap.caption.policy import CaptionPolicy, caption_for, caption_of
from actcap.caption.sentences import (
    HMDB51_CLASSES,
    IDLE,
    NOBODY,
    UNCLEAR,
    UNKNOWN,
    UNKNOWN_PRESENT,
    UTD_MHAD_CLASSES,
    Caption,
    derive_caption,
    get_builtin,
    list_builtin,
)
from actcap.caption.timeline import (
    Segment,
    Timeline,
    build_timeline,
    merge_segments,
    narrate,
    narrate_segments,
    smooth_scores,
)

__all__ = [
    "HMDB51_CLASSES", "IDLE", "NOBODY", "UNCLEAR", "UNKNOWN", "UNKNOWN_PRESENT",
    "UTD_MHAD_CLASSES", "Caption", "CaptionFileError", "CaptionPolicy", "Captions",
    "Segment", "Timeline", "build_timeline", "caption_for", "caption_of", "derive_caption", "derive_phrase",
    "get_builtin", "ing_form", "list_builtin", "load_captions", "merge_segments", "narrate", "narrate_segments",
    "resolve_captions", "smooth_scores", "split_words", "third_person",
]
