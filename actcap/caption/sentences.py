"""Built-in captions: every HMDB51 class and the shipped UTD-MHAD model's classes, in four forms.

    actcap caption --table hmdb51            # the Markdown table in docs/captions.md

A label missing from the table gets a caption derived from the label itself (``grammar.derive_phrase``).
"""

from __future__ import annotations

from dataclasses import dataclass

from actcap.caption.grammar import derive_phrase, label_key
from actcap.caption.policy import IDLE, NOBODY, UNCLEAR, UNKNOWN

__all__ = ["HMDB51_CLASSES", "IDLE", "NOBODY", "UNCLEAR", "UNKNOWN", "UNKNOWN_PRESENT", "UTD_MHAD_CLASSES",
           "Caption", "derive_caption", "get_builtin", "list_builtin"]
UNKNOWN_PRESENT = "does something I don't recognise"
"""An unknown stretch in a timeline: "A person waves, then does something I don't recognise."."""


@dataclass(frozen=True)
class Caption:
    """Every form one label can take in a caption."""

    sentence: str
    """The confident sentence: "A person is clapping their hands."."""
    verb: str
    """-ing verb phrase for the hedged form: "A person appears to be clapping their hands."."""
    short: str
    """Short -ing form for the either form: "A person is either waving or clapping."."""
    present: str
    """Third-person present for timelines: "A person waves, then claps their hands."."""

    def to_dict(self) -> dict[str, str]:
        return {"sentence": self.sentence, "verb": self.verb, "short": self.short, "present": self.present}


HMDB51_CLASSES: tuple[str, ...] = (
    "brush_hair", "cartwheel", "catch", "chew", "clap", "climb", "climb_stairs", "dive", "draw_sword", "dribble",
    "drink", "eat", "fall_floor", "fencing", "flic_flac", "golf", "handstand", "hit", "hug", "jump", "kick",
    "kick_ball", "kiss", "laugh", "pick", "pour", "pullup", "punch", "push", "pushup", "ride_bike", "ride_horse",
    "run", "shake_hands", "shoot_ball", "shoot_bow", "shoot_gun", "sit", "situp", "smile", "smoke", "somersault",
    "stand", "swing_baseball", "sword", "sword_exercise", "talk", "throw", "turn", "walk", "wave")
# The shipped model's classes, from UTD-MHAD: "right arm swipe to the left", "right arm swipe to the right",
# "right hand wave", "two hand front clap", "right arm throw".
UTD_MHAD_CLASSES: tuple[str, ...] = ("swipe_left", "swipe_right", "wave", "clap", "throw")
# The keypoint datasets' other classes (Penn Action, UTD-MHAD's 27, UTKinect; docs/data-formats.md).
KEYPOINT_CLASSES: tuple[str, ...] = (
    "jumping_jacks", "golf_swing", "baseball_swing", "baseball_pitch", "bench_press", "bowl", "clean_and_jerk",
    "jump_rope", "squat", "strum_guitar", "tennis_forehand", "tennis_serve", "tennis_swing", "pick_up", "sit_down",
    "stand_up", "arm_cross", "basketball_shoot", "draw_x", "draw_circle_cw", "draw_circle_ccw", "draw_triangle",
    "bowling", "boxing", "arm_curl", "knock", "pickup_throw", "jog", "sit_to_stand", "stand_to_sit", "lunge",
    "carry", "pull")
DATASETS = {"hmdb51": HMDB51_CLASSES, "utd_mhad": UTD_MHAD_CLASSES, "keypoints": KEYPOINT_CLASSES}

# label: (-ing verb phrase, short -ing form, present phrase). The sentence is "A person is <verb>." unless
# _SENTENCES says otherwise. Short forms are unique, so "either X or Y" never repeats itself.
_TABLE: dict[str, tuple[str, str, str]] = {
    "brush_hair": ("brushing their hair", "brushing hair", "brushes their hair"),
    "cartwheel": ("doing a cartwheel", "cartwheeling", "does a cartwheel"),
    "catch": ("catching a ball", "catching", "catches a ball"),
    "chew": ("chewing food", "chewing", "chews food"),
    "clap": ("clapping their hands", "clapping", "claps their hands"),
    "climb": ("climbing a wall", "climbing", "climbs a wall"),
    "climb_stairs": ("climbing the stairs", "climbing stairs", "climbs the stairs"),
    "dive": ("diving into water", "diving", "dives into water"),
    "draw_sword": ("drawing a sword", "drawing a sword", "draws a sword"),
    "dribble": ("dribbling a ball", "dribbling", "dribbles a ball"),
    "drink": ("drinking something", "drinking", "drinks something"),
    "eat": ("eating something", "eating", "eats something"),
    "fall_floor": ("falling to the floor", "falling", "falls to the floor"),
    "fencing": ("fencing with an opponent", "fencing", "fences with an opponent"),
    "flic_flac": ("doing a back handspring", "doing a handspring", "does a back handspring"),
    "golf": ("swinging a golf club", "golfing", "swings a golf club"),
    "handstand": ("doing a handstand", "doing a handstand", "does a handstand"),
    "hit": ("hitting something", "hitting", "hits something"),
    "hug": ("hugging someone", "hugging", "hugs someone"),
    "jump": ("jumping", "jumping", "jumps"),
    "kick": ("kicking", "kicking", "kicks"),
    "kick_ball": ("kicking a ball", "kicking a ball", "kicks a ball"),
    "kiss": ("kissing someone", "kissing", "kisses someone"),
    "laugh": ("laughing", "laughing", "laughs"),
    "pick": ("picking something up", "picking up", "picks something up"),
    "pour": ("pouring a drink", "pouring", "pours a drink"),
    "pullup": ("doing pull-ups", "doing pull-ups", "does pull-ups"),
    "punch": ("throwing a punch", "punching", "throws a punch"),
    "push": ("pushing something", "pushing", "pushes something"),
    "pushup": ("doing push-ups", "doing push-ups", "does push-ups"),
    "ride_bike": ("riding a bike", "riding a bike", "rides a bike"),
    "ride_horse": ("riding a horse", "riding a horse", "rides a horse"),
    "run": ("running quickly", "running", "runs quickly"),
    "shake_hands": ("shaking hands with someone", "shaking hands", "shakes hands with someone"),
    "shoot_ball": ("shooting a basketball", "shooting a ball", "shoots a basketball"),
    "shoot_bow": ("shooting an arrow with a bow", "shooting an arrow", "shoots an arrow with a bow"),
    "shoot_gun": ("shooting a gun", "shooting a gun", "shoots a gun"),
    "sit": ("sitting down", "sitting down", "sits down"),
    "situp": ("doing sit-ups", "doing sit-ups", "does sit-ups"),
    "smile": ("smiling", "smiling", "smiles"),
    "smoke": ("smoking a cigarette", "smoking", "smokes a cigarette"),
    "somersault": ("doing a somersault", "somersaulting", "does a somersault"),
    "stand": ("standing up", "standing up", "stands up"),
    "swing_baseball": ("swinging a baseball bat", "swinging a bat", "swings a baseball bat"),
    "sword": ("fighting with a sword", "sword fighting", "fights with a sword"),
    "sword_exercise": ("practicing sword moves", "practicing sword moves", "practices sword moves"),
    "talk": ("talking to someone", "talking", "talks to someone"),
    "throw": ("throwing something", "throwing", "throws something"),
    "turn": ("turning around", "turning around", "turns around"),
    "walk": ("walking forward", "walking", "walks forward"),
    "wave": ("waving their hand", "waving", "waves"),
    "swipe_left": ("swiping to the left", "swiping left", "swipes to the left"),
    "swipe_right": ("swiping to the right", "swiping right", "swipes to the right"),
    # keypoint datasets (docs/data-formats.md): Penn Action, UTD-MHAD's 27, UTKinect, the everyday vocabulary
    "jumping_jacks": ("doing jumping jacks", "doing jumping jacks", "does jumping jacks"),
    "golf_swing": ("hitting a golf shot", "hitting a golf shot", "hits a golf shot"),
    "baseball_swing": ("hitting a baseball with a bat", "batting", "hits a baseball with a bat"),
    "baseball_pitch": ("pitching a baseball", "pitching", "pitches a baseball"),
    "bench_press": ("doing a bench press", "bench pressing", "does a bench press"),
    "bowl": ("bowling", "bowling", "bowls"),
    "clean_and_jerk": ("lifting a barbell overhead", "lifting a barbell", "lifts a barbell overhead"),
    "jump_rope": ("skipping rope", "skipping rope", "skips rope"),
    "squat": ("doing squats", "squatting", "does squats"),
    "strum_guitar": ("strumming a guitar", "strumming", "strums a guitar"),
    "tennis_forehand": ("hitting a tennis forehand", "hitting a forehand", "hits a tennis forehand"),
    "tennis_serve": ("serving a tennis ball", "serving", "serves a tennis ball"),
    "tennis_swing": ("swinging a tennis racket", "swinging a racket", "swings a tennis racket"),
    "pick_up": ("picking up an object", "picking up an object", "picks up an object"),
    "sit_down": ("taking a seat", "taking a seat", "takes a seat"),
    "stand_up": ("getting up from a seat", "getting up", "gets up from a seat"),
    "arm_cross": ("crossing their arms", "crossing arms", "crosses their arms"),
    "basketball_shoot": ("shooting a basketball at a hoop", "shooting hoops", "shoots a basketball at a hoop"),
    "draw_x": ("drawing an X in the air", "drawing an X", "draws an X in the air"),
    "draw_circle_cw": ("drawing a circle clockwise", "drawing a clockwise circle", "draws a circle clockwise"),
    "draw_circle_ccw": ("drawing a circle counter-clockwise", "drawing a counter-clockwise circle",
                        "draws a circle counter-clockwise"),
    "draw_triangle": ("drawing a triangle in the air", "drawing a triangle", "draws a triangle in the air"),
    "bowling": ("rolling a bowling ball", "rolling a ball", "rolls a bowling ball"),
    "boxing": ("boxing", "boxing", "boxes"),
    "arm_curl": ("doing arm curls", "curling", "does arm curls"),
    "knock": ("knocking on a door", "knocking", "knocks on a door"),
    "pickup_throw": ("picking something up and throwing it", "picking up and throwing",
                     "picks something up and throws it"),
    "jog": ("jogging", "jogging", "jogs"),
    "sit_to_stand": ("rising from a chair", "rising from a chair", "rises from a chair"),
    "stand_to_sit": ("sitting down on a chair", "sitting on a chair", "sits down on a chair"),
    "lunge": ("doing lunges", "lunging", "does lunges"),
    "carry": ("carrying something", "carrying", "carries something"),
    "pull": ("pulling something", "pulling", "pulls something"),
}
_SENTENCES = {
    "swipe_left": "A person is swiping their right arm to the left.",
    "swipe_right": "A person is swiping their right arm to the right.",
}

BUILTIN: dict[str, Caption] = {
    label: Caption(_SENTENCES.get(label, f"A person is {verb}."), verb, short, present)
    for label, (verb, short, present) in _TABLE.items()
}
# Separator- and case-insensitive index: "RideBike", "ride-bike" and "push-up" find their rows.
_BY_KEY = {label_key(label): c for label, c in BUILTIN.items()} | {
    label_key(label).replace("_", ""): c for label, c in BUILTIN.items()}


def list_builtin() -> list[str]:
    """Labels with a hand-written caption."""
    return sorted(BUILTIN)


def get_builtin(label: str) -> Caption | None:
    """The hand-written caption for a label (any case or separator), or None."""
    if label in BUILTIN:
        return BUILTIN[label]
    key = label_key(label)
    return _BY_KEY.get(key) or _BY_KEY.get(key.replace("_", ""))


def derive_caption(label: str) -> Caption:
    """A caption built from the label alone: ``ride_bike`` → "A person is riding a bike."."""
    phrase = derive_phrase(label)
    return Caption(f"A person is {phrase.ing_phrase}.", phrase.ing_phrase, phrase.short, phrase.present)
