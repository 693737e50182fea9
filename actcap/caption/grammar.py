"""Label → words → verb phrase: the grammar behind captions for labels nobody wrote a sentence for.

A label is read as a verb followed by what it acts on: ``ride_bike``, ``RideBike``, ``ride-bike`` and
``RIDE BIKE`` all become the words ``ride bike``, then the phrase ``riding a bike`` ("A person is riding a
bike.") and the present tense ``rides a bike`` ("A person rides a bike, then …").

Rules, in the order they apply (docs/captions.md has the same list):
1. Words: split at anything that is not a letter, mark or digit, and at CamelCase humps; lowercase.
   No words at all (``""``, ``"__"``) → "doing something".
2. A few compound labels are idioms: ``JumpingJack`` → "doing jumping jacks", ``Pushups`` → "doing push-ups".
3. The first word is the verb, unless it holds a digit (``3d_print`` → "doing 3d print"), names a sport or
   discipline (``Basketball`` → "playing basketball", ``Archery`` → "doing archery"), or a later word is a
   gerund (``HorseRiding`` → "doing horse riding"). A first word already in -ing form is kept (``BrushingTeeth``).
   A first word that is not a known verb (words.py) is quoted, never conjugated: ``hello`` → "doing 'hello'".
4. Article: after the verb and any particles/prepositions (up, on, with, …), a noun phrase whose head is a
   singular countable noun gets "a"/"an" (``ride_bike`` → "riding a bike", ``walk_with_dog`` → "walking with a
   dog"). No article before plurals (``shake_hands``), mass nouns (``brush_hair``), numbers, determiners,
   adverbs (``run_fast``) or gerunds. The rule cannot know which verbs take no object: ``fall_floor`` would
   read "falling a floor", which is why the built-in table and captions files exist.
"""

from __future__ import annotations

import unicodedata
from typing import NamedTuple

from actcap.caption.words import (
    ADVERBS,
    DETERMINERS,
    INTERJECTIONS,
    IRREGULAR_PLURALS,
    LY_NOUNS,
    MASS_NOUNS,
    PARTICLES,
    is_verb,
)

VOWELS = frozenset("aeiou")

# Two-syllable verbs stressed on the last syllable double their final consonant (begin → beginning);
# all other multi-syllable verbs do not (visit → visiting, open → opening).
_STRESSED_LAST = frozenset(
    "abet acquit admit begin commit compel confer control defer deter embed equip expel forbid forget incur "
    "infer occur omit outrun overrun patrol permit prefer propel rebel recur refer regret rerun submit "
    "transfer transmit upset".split())
# Endings of multi-syllable stems that lost a silent e before -ing (creat|ing → create, decid|ing → decide).
_E_ENDINGS = ("at", "ir", "ur", "iz", "yz", "id", "ud", "od", "os", "ut", "in", "ag", "ib", "ar", "ap", "ad")

# Labels whose words, run together, are a fixed expression: compact label → (verb, rest).
IDIOMS: dict[str, tuple[str, str]] = {
    "jumpingjack": ("do", "jumping jacks"), "jumpingjacks": ("do", "jumping jacks"),
    "pushup": ("do", "push-ups"), "pushups": ("do", "push-ups"), "pullup": ("do", "pull-ups"),
    "pullups": ("do", "pull-ups"), "situp": ("do", "sit-ups"), "situps": ("do", "sit-ups"),
    "jumprope": ("jump", "rope"), "tug of war": ("play", "tug of war"),
}
# Verbs too light to stand alone as a short form: "doing" says nothing, "doing archery" does.
LIGHT_VERBS = frozenset("do doing play playing have having make making take taking go going get getting".split())

FALLBACK = ("do", "doing", "something")  # a label with no words at all


class VerbPhrase(NamedTuple):
    """A label read as a verb phrase: ``ride`` / ``riding`` / ``a bike``."""

    verb: str  # base form, "ride"
    ing: str  # -ing form, "riding"
    rest: str  # what follows the verb, "a bike" ("" when nothing does)

    @property
    def ing_phrase(self) -> str:
        return _join(self.ing, self.rest)

    @property
    def present(self) -> str:
        return _join(third_person(self.verb), self.rest)

    @property
    def short(self) -> str:
        return short_form(self.ing_phrase)


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)


# --- words ---------------------------------------------------------------------------------------------

def split_words(label: str) -> list[str]:
    """``"ApplyEyeMakeup"`` → ``["apply", "eye", "makeup"]``; ``"push-up"`` → ``["push", "up"]``."""
    words: list[str] = []
    run: list[str] = []
    for ch in label + " ":
        if unicodedata.category(ch)[0] in "LMN":  # letters, combining marks, digits
            run.append(ch)
        elif run:
            words += _split_camel("".join(run))
            run = []
    return [w.lower() for w in words]


def _split_camel(run: str) -> list[str]:
    """Split before an upper-case letter that follows a lower-case one (jumpJack) or starts a capitalised
    word after an acronym (HTTPRequest → HTTP Request)."""
    cuts = [0]
    for i in range(1, len(run)):
        prev, ch, nxt = run[i - 1], run[i], run[i + 1] if i + 1 < len(run) else ""
        if ch.isupper() and (prev.islower() or (prev.isupper() and nxt.islower())):
            cuts.append(i)
    cuts.append(len(run))
    return [run[a:b] for a, b in zip(cuts, cuts[1:])]


def label_key(label: str) -> str:
    """Separator- and case-insensitive key: ``"RideBike"``, ``"ride-bike"`` → ``"ride_bike"``."""
    return "_".join(split_words(label))


# --- verb forms ----------------------------------------------------------------------------------------

def _syllables(word: str) -> int:
    """Vowel groups; the u of "qu" is a consonant, and y is a vowel unless first or before a vowel (kayak)."""
    count, prev = 0, False
    for i, ch in enumerate(word):
        vowel = ch in VOWELS or (ch == "y" and i > 0 and word[i + 1:i + 2] not in VOWELS)
        if ch == "u" and i > 0 and word[i - 1] == "q":
            vowel = False
        count += vowel and not prev
        prev = vowel
    return count


def _doubles_final(word: str) -> bool:
    """Consonant-vowel-consonant ending on a stressed syllable: run → running, begin → beginning."""
    if len(word) < 2 or not word[-1].isascii() or not word[-1].isalpha() or word[-1] in VOWELS | set("wxyh"):
        return False
    if word[-2] not in VOWELS:
        return False
    if len(word) >= 3 and word[-3] in VOWELS and word[-4:-2] != "qu":  # a vowel pair: rain, look
        return False
    return _syllables(word) == 1 or word in _STRESSED_LAST


def ing_form(verb: str) -> str:
    """run → running, ride → riding, lie → lying, see → seeing, ski → skiing, panic → panicking,
    visit → visiting, open → opening, begin → beginning."""
    v = verb
    if v == "be":
        return "being"
    if v.endswith("ie") and len(v) > 2:
        return v[:-2] + "ying"
    if v.endswith(("ee", "oe", "ye")):
        return v + "ing"
    if v.endswith("e") and len(v) > 2:
        return v[:-1] + "ing"
    if v.endswith("ic") and _syllables(v) >= 2:
        return v + "king"
    if _doubles_final(v):
        return v + v[-1] + "ing"
    return v + "ing"


def third_person(verb: str) -> str:
    """catch → catches, push → pushes, fix → fixes, fly → flies, go → goes, do → does, kiss → kisses."""
    v = verb
    if v in ("be", "have"):
        return {"be": "is", "have": "has"}[v]
    if v.endswith("z") and _doubles_final(v):  # quiz → quizzes
        return v + "zes"
    if v.endswith(("s", "x", "z", "ch", "sh")):
        return v + "es"
    if len(v) > 1 and v[-1] == "o" and v[-2] not in VOWELS:
        return v + "es"
    if len(v) > 1 and v[-1] == "y" and v[-2] not in VOWELS:
        return v[:-1] + "ies"
    return v + "s"


def is_ing_form(word: str) -> bool:
    """True for running, lying, being; false for sing, bring, swing (no vowel before -ing)."""
    return len(word) > 4 and word.endswith("ing") and any(c in "aeiouy" for c in word[:-3])


def _needs_e(stem: str) -> bool:
    """Whether an -ing stem most likely lost a silent e: danc|ing, lov|ing, judg|ing, creat|ing."""
    if not stem or not stem[-1].isalpha():
        return False
    if stem[-1] in "vu":
        return True
    if len(stem) >= 2 and stem[-1] in "csg" and stem[-2] not in VOWELS and stem[-2] != stem[-1] \
            and stem[-2:] != "ng":
        return True
    return len(stem) >= 3 and _syllables(stem) >= 2 and stem.endswith(_E_ENDINGS) and stem[-3] not in VOWELS


def base_form(word: str) -> str:
    """The verb behind an -ing form: running → run, riding → ride, lying → lie, panicking → panic.
    A word that is not an -ing form comes back unchanged."""
    if not is_ing_form(word):
        return word
    stem = word[:-3]
    candidates = []
    if stem.endswith("ck"):
        candidates.append(stem[:-1])  # panicking → panic
    if len(stem) >= 2 and stem[-1] == stem[-2] and stem[-1] not in VOWELS | set("lsfz"):
        candidates.append(stem[:-1])  # running → run (but falling → fall, kissing → kiss)
    if len(stem) <= 2 and stem.endswith("y"):
        candidates.append(stem[:-1] + "ie")  # lying → lie
    candidates += [stem + "e", stem] if _needs_e(stem) else [stem, stem + "e"]
    return next((c for c in candidates if ing_form(c) == word), stem)


def present_from_ing(phrase: str) -> str:
    """``"clapping their hands"`` → ``"claps their hands"``; a phrase not starting with -ing is kept."""
    first, _, rest = phrase.partition(" ")
    if not is_ing_form(first):
        return phrase
    return _join(third_person(base_form(first)), rest)


def short_form(ing_phrase: str) -> str:
    """The -ing word alone, unless it is a light verb: "riding a bike" → "riding", "doing archery" stays."""
    first = ing_phrase.split(" ", 1)[0]
    return ing_phrase if first in LIGHT_VERBS else first


# --- articles ------------------------------------------------------------------------------------------

def article_for(word: str) -> str:
    """"an" before a vowel sound: an arrow, an hour, a unicycle, a one-man band."""
    w = unicodedata.normalize("NFD", word.lower())
    if w.startswith(("hour", "honest", "honor", "honour", "heir")):
        return "an"
    if w.startswith(("uni", "use", "usu", "uti", "ute", "ure", "eu", "ewe", "one", "once")):
        return "a"
    return "an" if w[:1] in VOWELS else "a"


def _is_plural(word: str) -> bool:
    return word in IRREGULAR_PLURALS or (len(word) > 3 and word.endswith("s")
                                        and not word.endswith(("ss", "us", "is", "ous")))


def _is_adverb(word: str) -> bool:
    return word in ADVERBS or (len(word) > 4 and word.endswith("ly") and word not in LY_NOUNS)


def _takes_article(np: list[str]) -> bool:
    first, head = np[0], np[-1]
    if first in DETERMINERS or first in INTERJECTIONS or any(c.isdigit() for c in first) or _is_adverb(first):
        return False
    return not (head in MASS_NOUNS or _is_plural(head) or is_ing_form(head) or _is_adverb(head))


def with_article(words: list[str]) -> str:
    """Object words after a verb, with "a"/"an" where natural: ["up", "ball"] → "up a ball"."""
    i = 0
    while i < len(words) and words[i] in PARTICLES:
        i += 1
    lead, np = words[:i], words[i:]
    if np and _takes_article(np):
        np = [article_for(np[0]), *np]
    return " ".join(lead + np)


# --- labels → phrases ----------------------------------------------------------------------------------

def _is_discipline(word: str) -> bool:
    """Nouns naming a sport or discipline, which read badly as verbs: basketball, archery, gymnastics."""
    return (len(word) > 4 and word.endswith("ball")) or (len(word) > 5 and word.endswith(("ery", "ics")))


def derive_phrase(label: str) -> VerbPhrase:
    """Read a label as a verb phrase (rules in the module docstring): ``ride_bike`` → riding / a bike."""
    words = split_words(label)
    if not words:
        return VerbPhrase(*FALLBACK)
    idiom = IDIOMS.get("".join(words)) or IDIOMS.get(" ".join(words))
    if idiom:
        return VerbPhrase(idiom[0], ing_form(idiom[0]), idiom[1])
    first, tail = words[0], words[1:]
    if any(c.isdigit() for c in first) or not any(c.isalpha() for c in first):
        return VerbPhrase("do", "doing", with_article(words))
    if is_ing_form(first):
        return VerbPhrase(base_form(first), first, with_article(tail))
    if any(is_ing_form(w) for w in tail):  # a noun-gerund compound: horse riding, ice dancing
        return VerbPhrase("do", "doing", " ".join(words))
    if _is_discipline(first):
        if not tail:
            verb = "play" if first.endswith("ball") else "do"
            return VerbPhrase(verb, ing_form(verb), first)
        return VerbPhrase("do", "doing", with_article(words))  # basketball dunk → doing a basketball dunk
    if not is_verb(first):  # a noun or an interjection: "helloing" is what conjugating it would say
        return VerbPhrase("do", "doing", f"'{' '.join(words)}'")
    return VerbPhrase(first, ing_form(first), with_article(tail))
