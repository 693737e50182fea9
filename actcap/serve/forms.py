"""The POST /predict and POST /teach forms, declared once: each field's names, what it accepts, its schema.

`actcap.serve.uploads` (and `routes/teach.py`) check a request against these fields, the "accepted fields"
refusals are written from them, and the routes give FastAPI the request-body schema made from them
(`openapi_body`), so /docs shows what the checks accept.

Why not FastAPI's `File(...)`/`Form(...)` parameters: FastAPI parses the form before any dependency or the
route runs, so the byte limit and the upload slot would have to move into a custom route class; its
validation answers 422 with pydantic's error list, where the API promises 400/413 and one sentence naming
the field (tests/test_serve.py); and `order=as_sent` needs the parts in the order sent across both frame
field names, which separate parameters lose. So the body is parsed by `uploads.read_upload`, after the
guards, and this table is what validation, the message and /docs share.
"""

from __future__ import annotations

from dataclasses import dataclass

from actcap.config import TimelineConfig

BINARY = {"type": "string", "format": "binary"}
ORDERS = ("name", "as_sent")
TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off", "")


@dataclass(frozen=True)
class FormField:
    name: str
    """The name /docs shows; `aliases` are accepted too."""
    schema: dict
    """Its OpenAPI schema (without the description)."""
    accepts: str
    """What it takes, in a few words, for the refusal that lists the accepted fields."""
    description: str
    """The longer text /docs shows."""
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


FRAMES = FormField("frames[]", {"type": "array", "items": BINARY}, "image files",
                   "image files (JPEG, PNG, BMP, WebP; also accepted as 'frames')", aliases=("frames",))
VIDEO = FormField("video", BINARY, "one video file", "one video file instead of frames")
ORDER = FormField("order", {"type": "string", "enum": list(ORDERS), "default": "name"}, "'name' or 'as_sent'",
                  "'name': natural sort by file name (frame_2 before frame_10); 'as_sent': the order of the parts")
TIMELINE = FormField("timeline", {"type": "boolean", "default": False},
                     "true: segments and a narrative for a long video",
                     f"with a video: slide a {TimelineConfig().window:g} s window over it and answer with "
                     "`segments` and a `narrative` too (every frame is decoded: slower)")
POSE = FormField("pose", {"type": "boolean", "default": False}, "true: the person's keypoints too",
                 "true: the answer carries `pose`, the tracked person's 13 joints in each frame the model looked "
                 "at (x, y as fractions of the frame, confidence; docs/api.md). Costs about one body-pose run "
                 "per frame")
MODEL = FormField("model", {"type": "string"}, "a model name from GET /models",
                  "a model name from GET /models (default: the active one; also accepted as a query parameter)")
PREDICT_FORM = (FRAMES, VIDEO, ORDER, TIMELINE, POSE, MODEL)

TEXTS = {"type": "array", "items": {"type": "string"}}
NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"  # models/store.py's rule; 'default' is refused as well
LABEL_PATTERN = "^[A-Za-z0-9_ -]{1,40}$"  # teach/trainer.py's
TEACH_FORM = (
    FormField("name", {"type": "string", "pattern": NAME_PATTERN}, "",
              "the new model's name: letters, digits, '_' and '-', 1 to 40 characters, starting with a letter or "
              "digit; not 'default'"),
    FormField("base", {"type": "string", "enum": ["default", "none"], "default": "default"}, "",
              "'default': add the actions to the shipped model's; 'none': only these actions"),
    FormField("labels[]", {"type": "array", "items": {"type": "string", "pattern": LABEL_PATTERN}, "minItems": 2},
              "",
              "the action shown in each video, in the same order (each label at least twice)", aliases=("labels",)),
    FormField("videos[]", {"type": "array", "items": BINARY, "minItems": 2}, "",
              "the example videos (at most --max-teach-videos, 400 by default)", aliases=("videos",)),
    FormField("people[]", TEXTS, "", "optional: who is in each video (with 2 or more people per action, checks "
                                     "hold out one person at a time)", aliases=("people",)),
    FormField("captions[]", TEXTS, "", "optional: LABEL=SENTENCE, the sentence said for a label, e.g. 'hello=A person "
                                       "is waving hello.' (others get one made from the label)", aliases=("captions",)),
    FormField("allow_duplicates", {"type": "boolean", "default": False}, "",
              "with base 'default': train even when a new label looks like a shipped action (same name, or "
              "examples the shipped model answers as one of its actions); otherwise the job stops with `warnings`"),
)


def accepted_names(fields: tuple[FormField, ...]) -> tuple[str, ...]:
    return tuple(name for f in fields for name in f.names)


def accepted_message(fields: tuple[FormField, ...]) -> str:
    """"accepted fields: 'frames[]' or 'frames' (image files), 'video' (one video file), …"."""
    return "accepted fields: " + ", ".join(" or ".join(f"'{n}'" for n in f.names) + f" ({f.accepts})"
                                           for f in fields)


def openapi_body(fields: tuple[FormField, ...], required: tuple[str, ...] = (),
                 one_of: tuple[str, ...] = ()) -> dict:
    """`openapi_extra` for a route whose multipart body is these fields (`required`: those it must have;
    `one_of`: fields of which it must have exactly one)."""
    properties = {f.name: {**f.schema, "description": f.description} for f in fields}
    schema = {"type": "object", "properties": properties, **({"required": list(required)} if required else {})}
    if one_of:
        schema["oneOf"] = [{"required": [name]} for name in one_of]
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}
