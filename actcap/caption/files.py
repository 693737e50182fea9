"""User captions: a JSON or YAML file (or a model config's "captions") layered over the built-in table.

    # captions.yaml
    wave: A person is waving goodbye.            # label → sentence
    clap:                                        # label → fields
      sentence: A person is applauding.
      verb: applauding                           # -ing phrase: hedged, either and timeline forms
    ride_bike: {short: cycling, present: cycles}

Every problem in a file is collected and reported in one error naming the file and the offending label.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

from actcap.caption.grammar import is_ing_form, label_key, present_from_ing, short_form
from actcap.caption.sentences import HMDB51_CLASSES, Caption, derive_caption, get_builtin

FIELDS = ("sentence", "verb", "short", "present")


class CaptionFileError(ValueError):
    """A captions file or mapping that cannot be used; ``issues`` lists every problem found."""

    def __init__(self, source: str, issues: list[str]):
        self.source, self.issues = source, issues
        super().__init__(f"{source}: " + "; ".join(issues))


def _kind(value) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", type(None): "nothing"}.get(
        type(value), f"a {type(value).__name__}")


def _tidy_sentence(text: str) -> str:
    """Capitalise the first letter and end with a full stop unless the sentence already ends in . ! or ?"""
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _check_entry(label: str, value) -> tuple[dict[str, str], list[str]]:
    if isinstance(value, str):
        value = {"sentence": value}
    if not isinstance(value, Mapping):
        return {}, [f"label {label!r}: expected a sentence or a mapping with fields {', '.join(FIELDS)}; "
                    f"got {_kind(value)}"]
    if not value:
        return {}, [f"label {label!r}: no fields; give at least a sentence or a verb"]
    entry, issues = {}, []
    for field, text in value.items():
        if field not in FIELDS:
            issues.append(f"label {label!r}: unknown field {field!r} (expected one of: {', '.join(FIELDS)})")
        elif not isinstance(text, str):
            issues.append(f"label {label!r}: {field} must be text, got {_kind(text)}")
        elif not " ".join(text.split()):
            issues.append(f"label {label!r}: {field} is empty")
        else:
            text = " ".join(text.split())
            if field == "verb" and not is_ing_form(text.split()[0].lower()):
                issues.append(f"label {label!r}: verb {text!r} must start with an -ing word, "
                              f"e.g. 'clapping their hands'")
            entry[field] = _tidy_sentence(text) if field == "sentence" else text
    return entry, issues


def _check_entries(data, source: str) -> dict[str, dict[str, str]]:
    if not isinstance(data, Mapping):
        raise CaptionFileError(source, [f"expected a mapping of label to sentence, got {_kind(data)}"])
    entries, issues = {}, []
    for label, value in data.items():
        if not isinstance(label, str):
            issues.append(f"label {label!r} is not text (quote it)")
        elif not label.strip():
            issues.append(f"label {label!r} is empty")
        else:
            entry, entry_issues = _check_entry(label, value)
            issues += entry_issues
            entries[label] = entry
    if issues:
        raise CaptionFileError(source, issues)
    return entries


class Captions:
    """Caption entries keyed by label, each overriding the built-in caption field by field.

    A label is looked up as written, then case- and separator-insensitively ("RideBike" finds "ride_bike").
    Missing fields come from the entry's own "verb" when it has one ("clapping their hands" → short
    "clapping", present "claps their hands"), otherwise from the built-in table or the label.
    """

    def __init__(self, entries: Mapping | None = None, source: str = "captions"):
        self.source = source
        self._entries = _check_entries(entries or {}, source)
        self._by_key = {label_key(k): v for k, v in self._entries.items()}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, label: str) -> bool:
        return self._find(label) is not None

    def __repr__(self) -> str:
        return f"Captions({len(self)} labels from {self.source})"

    def _find(self, label: str) -> dict[str, str] | None:
        return self._entries.get(label) or self._by_key.get(label_key(label))

    def get(self, label: str) -> Caption:
        """The caption for a label: this object's entry, else the built-in table, else derived from the label."""
        base = get_builtin(label) or derive_caption(label)
        entry = self._find(label)
        if not entry:
            return base
        # a label nobody wrote a caption for takes its other forms from its sentence (a taught label's)
        verb = entry.get("verb") or (None if get_builtin(label) else _verb_of(entry.get("sentence", "")))
        if verb:
            return Caption(entry.get("sentence", f"A person is {verb}."), verb,
                           entry.get("short", short_form(verb)), entry.get("present", present_from_ing(verb)))
        return Caption(entry.get("sentence", base.sentence), base.verb,
                       entry.get("short", base.short), entry.get("present", base.present))

    def to_dict(self) -> dict[str, dict[str, str]]:
        """The entries as given (tidied), for a model's JSON config; ``Captions(d)`` reads them back."""
        return {label: dict(entry) for label, entry in self._entries.items()}


_PERSON_IS = re.compile(r"(?:A|The) person is (\S+)(.*?)[.!]?")


def _verb_of(sentence: str) -> str | None:
    """The -ing phrase of a sentence written as "A person is waving hello." ("waving hello"), so that a caption
    given only as a sentence also hedges in its own words ("A person appears to be waving hello.")."""
    m = _PERSON_IS.fullmatch(sentence)
    return m.group(1) + m.group(2) if m and is_ing_form(m.group(1).lower()) else None


def resolve_captions(*layers: Captions | None) -> Captions:
    """Merge caption layers, later ones winning label by label: ``resolve_captions(model, override)``."""
    merged: dict[str, dict[str, str]] = {}
    for layer in layers:
        if layer is not None:
            merged.update(layer.to_dict())
    return Captions(merged, source=" + ".join(layer.source for layer in layers if layer is not None) or "captions")


# --- files ---------------------------------------------------------------------------------------------

class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that records duplicate keys instead of silently keeping the last one."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, str) and key in seen:
            loader.duplicates.append(f"label {key!r} appears twice (line {key_node.start_mark.line + 1})")
        seen.add(key if isinstance(key, str) else id(key_node))
    return yaml.SafeLoader.construct_mapping(loader, node, deep=True)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _parse_yaml(text: str, source: str):
    loader = _StrictLoader(text)
    loader.duplicates = []
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise CaptionFileError(source, [f"invalid YAML{where}: {e.problem or e.context}"]) from None
    except yaml.YAMLError as e:
        raise CaptionFileError(source, [f"invalid YAML: {e}"]) from None
    finally:
        loader.dispose()
    if loader.duplicates:
        raise CaptionFileError(source, loader.duplicates)
    return data


def _parse_json(text: str, source: str):
    duplicates: list[str] = []

    def pairs(items):
        keys = [k for k, _ in items]
        duplicates.extend(f"label {k!r} appears twice" for k in sorted({k for k in keys if keys.count(k) > 1}))
        return dict(items)

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as e:
        raise CaptionFileError(source, [f"invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}"]) from None
    if duplicates:
        raise CaptionFileError(source, duplicates)
    return data


_PARSERS = {".json": _parse_json, ".yaml": _parse_yaml, ".yml": _parse_yaml}


def load_captions(path: str | Path) -> Captions:
    """Read a JSON (.json) or YAML (.yaml, .yml) captions file; raises CaptionFileError naming every problem."""
    path = Path(path)
    source = str(path)
    parse = _PARSERS.get(path.suffix.lower())
    if parse is None:
        raise CaptionFileError(source, [f"unsupported file type {path.suffix or '(none)'!r}; "
                                        "use .json, .yaml or .yml"])
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CaptionFileError(source, ["file not found"]) from None
    except UnicodeDecodeError:
        raise CaptionFileError(source, ["not UTF-8 text"]) from None
    except OSError as e:
        raise CaptionFileError(source, [f"cannot read: {e.strerror}"]) from None
    data = parse(text, source)
    if data is None:
        raise CaptionFileError(source, ["file is empty; expected a mapping of label to sentence"])
    return Captions(data, source=source)


def markdown_table(labels: Sequence[str] = HMDB51_CLASSES, captions: Captions | None = None) -> str:
    """The docs table: label, sentence, either form, timeline form."""
    rows = ["| label | sentence | short (either) | present (timeline) |", "|---|---|---|---|"]
    for label in labels:
        c = captions.get(label) if captions is not None else (get_builtin(label) or derive_caption(label))
        rows.append(f"| `{label}` | {c.sentence} | {c.short} | {c.present} |")
    return "\n".join(rows)
