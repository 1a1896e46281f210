"""Captions for motion programs: many templates and synonyms, plus held-out paraphrases.

A caption is written from a program's steps (which actions, in what order, "then" or "while",
speed / size modifiers) and never from its timing or amplitudes. Subjects carry no identity
attributes (no age, hair, skin, clothing): the photo decides who it is. Optional scene clauses
("on a beach at sunset") never change the motion.

Left and right are the subject's own sides (see :mod:`idvid.engines.nano.motion_programs`).

:data:`HELDOUT_PHRASES` are paraphrases the training sampler never writes (``heldout=False``);
the generalisation benchmark and tests use them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from idvid.engines.nano.motion_programs import Step


@dataclass(frozen=True)
class Subject:
    """noun: how the caption first names the subject; pronoun / pos: she, her; plural: verb agreement."""

    noun: str
    pronoun: str
    pos: str
    noun_plural: bool = False

    @property
    def pronoun_plural(self) -> bool:
        return self.pronoun == "they"


SUBJECTS = tuple(
    Subject(*row)
    for row in (
        ("a woman", "she", "her"), ("a man", "he", "his"), ("a person", "they", "their"),
        ("the woman", "she", "her"), ("the man", "he", "his"), ("the person", "they", "their"),
        ("someone", "they", "their"), ("she", "she", "her"), ("he", "he", "his"), ("they", "they", "their", True),
        ("the astronaut", "she", "her"), ("the astronaut", "he", "his"), ("the astronaut", "they", "their"),
        ("a lady", "she", "her"), ("a guy", "he", "his"), ("the subject", "they", "their"),
        ("the speaker", "she", "her"), ("the speaker", "he", "his"),
    )
)
_NOUN_FOR_PRONOUN = {"she": "a woman", "he": "a man", "they": "a person"}

SCENES = (
    "on a beach at sunset", "in a busy office", "in front of a brick wall", "in the rain",
    "on a city street at night", "in a forest", "in a cozy living room", "in a park", "on a mountain top",
    "in a library", "at a train station", "in a cafe", "in a garden full of flowers", "on a rooftop",
    "in a snowy landscape", "in outer space", "in a desert", "by a lake", "in a kitchen", "on a sailing boat",
    "in a neon-lit street", "in front of a plain grey backdrop", "at a concert", "in a classroom",
    "under cherry blossoms", "in a recording studio", "on a balcony", "in a museum hall",
)
STYLES = ("a video of", "close-up of", "a portrait video of", "a cinematic shot of", "footage of", "a clip of")
IDLE_TEMPLATES = (
    "{S}", "a portrait of {S}", "{S} {stand} still", "{S} {look} at the camera", "{S} {sit} quietly",
    "{S} {pose} for the camera", "{S} {wait} calmly", "{S} with a neutral expression", "a close-up of {S}",
    "{S} {breathe} calmly", "{S} {stay} relaxed", "",
)
IDLE_VERBS = ("stand", "look", "sit", "pose", "wait", "breathe", "stay")  # the templates' {verb} slots

# ---- phrases (base form: the first word is the verb; {pos}: her / his / their; {d}: left / right) ----

_TURN_VERBS = ("turn", "turn {pos} head", "turn {pos} face", "rotate {pos} head", "swivel {pos} head", "look",
               "glance", "swivel")
_TURN_DIRS = ("to the {d}", "{d}", "to {pos} {d}", "towards {pos} {d}", "toward the {d}", "{d}wards")
_TILT_VERBS = ("tilt {pos} head", "tilt", "lean {pos} head", "tip {pos} head", "incline {pos} head")
_TILT_DIRS = ("to the {d}", "to {pos} {d}", "{d}")


def _directional(verbs: Sequence[str], dirs: Sequence[str], extra: Sequence[str], d: str) -> tuple[str, ...]:
    phrases = [f"{v} {w}" for v, w in product(verbs, dirs)] + list(extra)
    return tuple(p.replace("{d}", d) for p in phrases)


def _turn(d: str) -> tuple[str, ...]:
    extra = ("look over {pos} {d} shoulder", "turn to look over {pos} {d} shoulder", "turn {pos} head over {pos} {d} shoulder")
    return _directional(_TURN_VERBS, _TURN_DIRS, extra, d)


def _tilt(d: str) -> tuple[str, ...]:
    return _directional(_TILT_VERBS, _TILT_DIRS, (), d)


PHRASES: dict[str, tuple[str, ...]] = {
    "turn_left": _turn("left"),
    "turn_right": _turn("right"),
    "face_camera": ("turn toward the camera", "turn towards the camera", "turn to face the camera",
                    "turn {pos} head toward the camera", "look back at the camera", "turn to the camera",
                    "face the camera", "turn back to the camera", "turn to look at the camera"),
    "look_up": ("look up", "look upward", "look upwards", "gaze upward", "gaze up", "glance up", "raise {pos} eyes",
                "raise {pos} head", "lift {pos} chin", "lift {pos} head", "tilt {pos} head back",
                "tilt {pos} head up", "tip {pos} head back", "look skyward", "raise {pos} gaze", "lift {pos} eyes",
                "glance upward", "tip {pos} chin up"),
    "look_down": ("look down", "look downward", "glance down", "gaze down", "lower {pos} head", "lower {pos} gaze",
                  "lower {pos} eyes", "drop {pos} gaze", "tilt {pos} head down", "tip {pos} head forward",
                  "look down at the floor", "look at the ground", "drop {pos} head", "lower {pos} chin",
                  "glance downward", "look downwards"),
    "nod": ("nod", "nod {pos} head", "nod in agreement", "nod along", "bob {pos} head", "nod yes",
            "nod a few times", "nod thoughtfully"),
    "shake": ("shake {pos} head", "shake {pos} head no", "shake {pos} head from side to side",
              "shake {pos} head sadly", "shake {pos} head side to side"),
    "tilt_left": _tilt("left"),
    "tilt_right": _tilt("right"),
    "look_around": ("look around", "glance around", "look around the room", "look around curiously", "look about",
                    "take a look around", "look from side to side"),
    "smile": ("smile", "smile warmly", "smile at the camera", "break into a smile", "give a warm smile", "grin",
              "beam"),
    "laugh": ("laugh", "burst out laughing", "laugh heartily", "chuckle", "laugh out loud", "giggle",
              "start laughing"),
    "talk": ("talk", "speak", "talk to the camera", "speak to someone off camera", "say something", "chat",
             "tell a story", "explain something", "speak calmly", "talk animatedly"),
    "open_mouth": ("open {pos} mouth", "open {pos} mouth wide", "drop {pos} jaw", "let {pos} mouth fall open"),
    "surprise": ("look surprised", "look astonished", "gasp in surprise", "react with surprise", "look shocked",
                 "widen {pos} eyes in surprise"),
    "frown": ("frown", "furrow {pos} brow", "scowl", "look annoyed", "frown in concentration", "knit {pos} brows"),
    "raise_brows": ("raise {pos} eyebrows", "lift {pos} eyebrows", "raise an eyebrow", "arch {pos} eyebrows",
                    "raise {pos} brows"),
    "blink": ("blink", "blink slowly", "blink a few times", "blink twice"),
    "lean_in": ("lean in", "lean in toward the camera", "lean closer", "lean forward", "move closer to the camera"),
    "lean_out": ("lean back", "lean away from the camera", "move back from the camera", "pull back"),
    "sway": ("sway gently", "sway from side to side", "sway to the music", "rock gently from side to side",
             "sway slowly"),
}
# Smile size modifiers replace the plain phrases.
SIZED_PHRASES = {
    ("smile", "big"): ("smile broadly", "give a big smile", "break into a wide grin", "beam broadly"),
    ("smile", "small"): ("smile slightly", "give a small smile", "smile faintly", "give a faint smile"),
}
# Camera and light actions are clauses with their own subject: (present, "with ...ing" form).
CLAUSES: dict[str, tuple[tuple[str, str], ...]] = {
    "zoom_in": (("the camera zooms in", "with the camera zooming in"),
                ("the camera slowly pushes in", "with the camera slowly pushing in"),
                ("the camera moves closer", "with the camera moving closer"),
                ("the shot tightens", "with the shot tightening")),
    "zoom_out": (("the camera zooms out", "with the camera zooming out"),
                 ("the camera pulls back", "with the camera pulling back"),
                 ("the shot widens", "with the shot widening")),
    "pan_left": (("the camera pans to the left", "with the camera panning to the left"),
                 ("the camera pans left", "with the camera panning left"),
                 ("the camera slides to the left", "with the camera sliding to the left")),
    "pan_right": (("the camera pans to the right", "with the camera panning to the right"),
                  ("the camera pans right", "with the camera panning right"),
                  ("the camera slides to the right", "with the camera sliding to the right")),
    "dim": (("the light dims", "with the light dimming"), ("the lights go down", "with the lights going down"),
            ("the scene grows darker", "with the scene growing darker")),
    "brighten": (("the light brightens", "with the light brightening"),
                 ("the lights come up", "with the lights coming up"),
                 ("the scene gets brighter", "with the scene getting brighter")),
    "warm": (("the light turns warm", "with the light turning warm"),
             ("the light grows warmer", "with the light growing warmer"),
             ("warm golden light fills the scene", "with warm golden light filling the scene")),
    "cool": (("the light turns cool and blue", "with the light turning cool and blue"),
             ("the light becomes colder", "with the light becoming colder"),
             ("a cool blue light fills the scene", "with a cool blue light filling the scene")),
    "light_shift": (("the light shifts across the room", "with the light shifting across the room"),
                    ("shadows move slowly across the room", "with shadows moving slowly across the room"),
                    ("the light moves across the scene", "with the light moving across the scene")),
}
# Paraphrases that the training sampler never writes (the generalisation test set).
HELDOUT_PHRASES: dict[str, tuple[str, ...]] = {
    "turn_left": ("glance over {pos} left shoulder", "whip {pos} head round to the left", "peek to {pos} left"),
    "turn_right": ("glance over {pos} right shoulder", "whip {pos} head round to the right", "peek to {pos} right"),
    "look_up": ("look up at the sky", "gaze up at the stars", "throw {pos} head back"),
    "look_down": ("bow {pos} head", "look down at {pos} feet", "hang {pos} head"),
    "nod": ("nod approvingly", "give an approving nod", "bob {pos} head up and down"),
    "shake": ("shake {pos} head in disagreement", "shake {pos} head in disbelief"),
    "tilt_left": ("cock {pos} head to the left", "tilt {pos} head toward {pos} left shoulder"),
    "tilt_right": ("cock {pos} head to the right", "tilt {pos} head toward {pos} right shoulder"),
    "smile": ("flash a bright smile",),
    "face_camera": ("swing round to meet the camera",),
}
# Joining a subject action to the sentence before it; "before" stays last (see _ends_with_right).
WHILE_JOINS = (" while {gerund}", " as {pronoun} {verb}", ", {gerund}")
THEN_JOINS = (", then {verb}", " and then {verb}", " and {verb}", ". Then {pronoun} {verb}", " before {gerund}")
RETURN_SUFFIXES = (" and back", " and back again", " for a moment", " briefly")
ADVERBS = {"slow": ("slowly",), "quick": ("quickly", "suddenly")}

# ---- verbs ---------------------------------------------------------------------------------------

_DOUBLED = {"nod": "nodding", "bob": "bobbing", "drop": "dropping", "tip": "tipping", "swivel": "swivelling",
            "knit": "knitting", "chat": "chatting", "grin": "grinning", "let": "letting", "whip": "whipping",
            "sit": "sitting"}


def conjugate(phrase: str, form: str) -> str:
    """Conjugate a base-form verb phrase's first word: form "3sg" (turns), "plural" (turn), "gerund" (turning)."""
    verb, _, rest = phrase.partition(" ")
    if form == "plural":
        word = verb
    elif form == "gerund":
        if verb in _DOUBLED:
            word = _DOUBLED[verb]
        elif verb.endswith("ie"):
            word = verb[:-2] + "ying"
        elif verb.endswith("e") and not verb.endswith(("ee", "ye", "oe")):
            word = verb[:-1] + "ing"
        else:
            word = verb + "ing"
    elif form == "3sg":
        if verb.endswith(("s", "sh", "ch", "x", "z", "o")):
            word = verb + "es"
        elif verb.endswith("y") and verb[-2:-1] not in "aeiou":
            word = verb[:-1] + "ies"
        else:
            word = verb + "s"
    else:
        raise ValueError(f"unknown verb form {form!r}")
    return f"{word} {rest}" if rest else word


def heldout_surface_forms(subjects: Sequence[Subject] = SUBJECTS) -> set[str]:
    """Every way a held-out phrase can appear in a caption (all possessives and verb forms)."""
    forms = set()
    for phrases in HELDOUT_PHRASES.values():
        for phrase, subject, form in product(phrases, subjects, ("3sg", "plural", "gerund")):
            forms.add(conjugate(phrase.replace("{pos}", subject.pos), form))
    return forms


# ---- writing -------------------------------------------------------------------------------------


def _pick(rng: np.random.Generator, options: Sequence):
    return options[int(rng.integers(len(options)))]


def _phrase(step: Step, subject: Subject, rng: np.random.Generator, form: str, heldout: bool) -> str:
    """A subject action as a conjugated verb phrase, e.g. 'slowly turns to her left and back'."""
    options = PHRASES[step.action]
    if (step.action, step.modifier) in SIZED_PHRASES:
        options = SIZED_PHRASES[step.action, step.modifier]
    if heldout and step.action in HELDOUT_PHRASES:
        options = HELDOUT_PHRASES[step.action]
    text = conjugate(_pick(rng, options), form)
    if step.returns and rng.random() < 0.5:
        text += _pick(rng, RETURN_SUFFIXES[2:] if " back" in text else RETURN_SUFFIXES)
    if step.modifier in ADVERBS:
        adverb = _pick(rng, ADVERBS[step.modifier])
        text = f"{adverb} {text}" if rng.random() < 0.6 else f"{text} {adverb}"
    return text.replace("{pos}", subject.pos)


def _clause(step: Step, subject: Subject, rng: np.random.Generator) -> tuple[str, str]:
    present, with_form = _pick(rng, CLAUSES[step.action])
    return present.replace("{pos}", subject.pos), with_form.replace("{pos}", subject.pos)


def _is_clause(step: Step) -> bool:
    return step.action in CLAUSES


def _sentence(steps: Sequence[Step], subject: Subject, rng: np.random.Generator, heldout: bool) -> str:
    """Steps joined into one sentence with connectors that match "then" / "while"."""
    noun_form = "plural" if subject.noun_plural else "3sg"
    pronoun_form = "plural" if subject.pronoun_plural else "3sg"
    named = False  # has the subject been named yet?
    form_now = noun_form  # verb form that agrees with the subject last named
    text = ""
    for i, step in enumerate(steps):
        # 1. Camera / light clauses carry their own subject.
        if _is_clause(step):
            present, with_form = _clause(step, subject, rng)
            if i == 0:
                text = present
            elif step.relation == "while":
                text += _pick(rng, (f" as {present}", f" while {present}", f", {with_form}"))
            else:
                options = (f", then {present}", f", and then {present}", f" before {present}")
                text += _pick(rng, options[:2] if _ends_with_right(text) else options)
            continue
        # 2. A subject action that needs its subject: the first one, or one after a clause.
        if i == 0 or _is_clause(steps[i - 1]):
            who, form_now = (subject.pronoun, pronoun_form) if named else (subject.noun, noun_form)
            phrase = f"{who} {_phrase(step, subject, rng, form_now, heldout)}"
            if i == 0:
                text = phrase
            elif step.relation == "while":
                text += f" as {phrase}"
            else:
                text += _pick(rng, (", then ", " and then ", ", after which ")) + phrase
            named = True
            continue
        # 3. A subject action continuing the sentence ("right before" reads as "just before").
        joins = WHILE_JOINS if step.relation == "while" else THEN_JOINS[: 4 if _ends_with_right(text) else 5]
        join = _pick(rng, joins)
        if "{gerund}" in join:
            text += join.format(gerund=_phrase(step, subject, rng, "gerund", heldout))
        elif "{pronoun}" in join:
            text += join.format(pronoun=subject.pronoun, verb=_phrase(step, subject, rng, pronoun_form, heldout))
        else:
            text += join.format(verb=_phrase(step, subject, rng, form_now, heldout))
    return text


def _ends_with_right(text: str) -> bool:
    """'right' directly followed by 'before' / 'at' / 'in front' reads as 'just before' etc."""
    return text.lower().rstrip().endswith(("right", "rightward", "rightwards"))


def _gerund_caption(steps: Sequence[Step], subject: Subject, rng: np.random.Generator, heldout: bool) -> str:
    """'close-up of a woman turning to the left, then smiling' (subject actions only)."""
    noun = _NOUN_FOR_PRONOUN.get(subject.noun, subject.noun)
    text = f"{_pick(rng, STYLES)} {noun} {_phrase(steps[0], subject, rng, 'gerund', heldout)}"
    for step in steps[1:]:
        joiner = " while " if step.relation == "while" else _pick(rng, (", then ", " and then ", " and "))
        text += joiner + _phrase(step, subject, rng, "gerund", heldout)
    return text


def _after_caption(steps: Sequence[Step], subject: Subject, rng: np.random.Generator, heldout: bool) -> str:
    """'after turning to the left, she smiles' / 'smiling, he nods' (two subject actions)."""
    first, second = steps
    lead = _phrase(first, subject, rng, "gerund", heldout)
    if second.relation == "then":
        lead = f"after {lead}"
    form = "plural" if subject.pronoun_plural else "3sg"
    return f"{lead}, {subject.pronoun} {_phrase(second, subject, rng, form, heldout)}"


def _idle_caption(subject: Subject, rng: np.random.Generator) -> str:
    template = _pick(rng, IDLE_TEMPLATES)
    form = "plural" if subject.noun_plural else "3sg"
    verbs = {v: conjugate(v, form) for v in IDLE_VERBS}
    # "a portrait of she" -> "a portrait of a woman": only a sentence's subject may be a pronoun.
    noun = subject.noun if template.startswith("{S}") else _NOUN_FOR_PRONOUN.get(subject.noun, subject.noun)
    return template.format(S=noun, **verbs)


def write_caption(steps: Sequence[Step], rng: np.random.Generator, heldout: bool = False) -> str:
    """A caption for a program's steps.

    Args:
        steps: the program's steps in time order; each has ``action``, ``modifier``, ``returns`` and
            ``relation`` ("then" or "while", relative to the step before).
        rng: randomness for the template choices.
        heldout: use :data:`HELDOUT_PHRASES` where an action has them (never in training).
    """
    subject = _pick(rng, SUBJECTS)
    subject_only = steps and not any(_is_clause(s) for s in steps)
    # 1. The motion sentence.
    style = rng.random()
    if not steps:
        text = _idle_caption(subject, rng)
    elif subject_only and style < 0.15:
        text = _gerund_caption(steps, subject, rng, heldout)
    elif subject_only and len(steps) == 2 and style < 0.27:
        text = _after_caption(steps, subject, rng, heldout)
    else:
        text = _sentence(steps, subject, rng, heldout)
    # 2. An optional scene clause, which never changes the motion.
    if rng.random() < 0.35:
        scene = _pick(rng, SCENES)
        where = rng.random()
        if not text:
            text = scene
        elif where < 0.3 and not text.startswith(STYLES):
            text = f"{scene}, {text}"
        elif where < 0.6 or _ends_with_right(text):
            text = f"{text}, {scene}"
        else:
            text = f"{text} {scene}"
    # 3. Surface variation: capital letter, full stop.
    if text and rng.random() < 0.5:
        text = text[0].upper() + text[1:]
    if text and rng.random() < 0.4:
        text += "."
    return text
