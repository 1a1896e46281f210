"""What nano takes from a prompt, and which of its words it does not use.

nano's motion model was trained on captions written from a fixed vocabulary
(:mod:`.captions`), and its scenes come from a fixed word list (:mod:`idvid.render.scene_text`).
A prompt's words either fall in those vocabularies, or are words every caption may hold (the
subject, articles, joins, adverbs), or are not understood: "plays the guitar" cannot move a
portrait, and the user is told so instead of the request being dropped silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cache
from itertools import product

from idvid.engines.nano.captions import (
    ADVERBS,
    CLAUSES,
    HELDOUT_PHRASES,
    IDLE_TEMPLATES,
    IDLE_VERBS,
    PHRASES,
    RETURN_SUFFIXES,
    SIZED_PHRASES,
    STYLES,
    SUBJECTS,
    conjugate,
)
from idvid.engines.output import understood_lines
from idvid.render.scene import SceneSpec
from idvid.render.scene_text import PLACES, backdrop_colours, light_phrases, scene_from_text, scene_words

# A negation up to two words before an action ("does not smile", "never really nods", "without
# smiling"), in the same clause.
NEGATED = re.compile(r"(?<![a-z'])(?:not|never|no|without|nor|cannot|(?:do|does|did|is|are|was|were|wo|ca)n'?t)"
                     r"(?:\s+[a-z\-']+){0,2}\s+$")
# Words any caption may hold without asking for anything: articles, joins, pronouns, filler.
_COMMON = frozenset("""
a an the and then while as before after with of to at in on into onto by for from up out over is are was
be being been it its this that there here his her their my your our one ones some very so just also again
she he they someone somebody person people woman women man men lady guy girl boy subject speaker astronaut
me him them who which what front behind do does did camera shot video clip footage scene view close closeup close-up portrait
cinematic frame frames gently softly little bit moment briefly back slowly quickly suddenly calmly
""".split())
# With the caption words the vocabularies use around the actions, and those of idle captions
# (the motion model's "no action": sway, breathing, blinks).
FILLER = (_COMMON | {w for s in STYLES for w in s.split()} | {w for s in RETURN_SUFFIXES for w in s.split()}
          | {w for ws in ADVERBS.values() for w in ws}
          | {w for t in IDLE_TEMPLATES for w in re.sub(r"\{\w+\}", " ", t).split()}
          | {conjugate(v, form) for v in IDLE_VERBS for form in ("3sg", "plural", "gerund")})


@dataclass(frozen=True)
class Understanding:
    """actions: the vocabulary's actions the prompt names, in order; negated: those it names
    after a negation ("does not smile"), which the motion is not asked for; motion_prompt: the
    prompt without them, for the motion model; scene: the SceneSpec it picks; colours: the
    backdrop colours it names; light: its light words; unused: its words in none of the
    vocabularies, in order."""

    actions: tuple[str, ...]
    scene: SceneSpec
    motion_prompt: str
    negated: tuple[str, ...] = field(default=())
    colours: tuple[str, ...] = field(default=())
    light: tuple[str, ...] = field(default=())
    unused: tuple[str, ...] = field(default=())
    backdrop: str | None = None  # the user's own background's name, when one replaces the scene

    @property
    def scene_name(self) -> str:
        """The scene in words: a place, a coloured or patterned backdrop, or the photo's own."""
        if self.backdrop is not None:
            return f"your background {self.backdrop}"
        # the prompt's own word for the time of day ("at dawn" is drawn as a sunset, and said as dawn)
        said = [p for p in self.light if self.scene.time and p in PLACES[self.scene.time]]
        time = f" at {(said or [self.scene.time])[0]}" if self.scene.time else ""
        weather = {"rain": ", in the rain", "snow": ", snowing", "fog": ", in fog", None: ""}[self.scene.weather]
        return self._place_name() + time + weather

    def _place_name(self) -> str:
        kind, colours = self.scene.kind, " and ".join(self.colours)
        if kind == "photo":
            return "the photo's own background"
        if kind == "solid":
            return f"{colours or 'plain'} backdrop"
        if kind in ("gradient", "stripes", "checker", "dots"):
            return f"{colours} {kind}".strip()
        return kind

    def lines(self) -> list[str]:
        """What nano took from the prompt, and what it did not use (when anything)."""
        return understood_lines("nano", self.as_dict())

    def driven(self, video_name: str) -> Understanding:
        """What is taken when a driving video sets the motion: its scene and light; the
        prompt's actions are named among the words not used."""
        left_out = tuple(f"{a.replace('_', ' ')} (the driving video sets the motion)" for a in self.actions)
        return replace(self, actions=(f"from the driving video {video_name}",), negated=(), motion_prompt="",
                       unused=self.unused + left_out)

    def speaking(self, sound_name: str) -> Understanding:
        """With the mouth moved by a sound file, after what the prompt asks."""
        return replace(self, actions=self.actions + (f"speaking {sound_name}",))

    def on_backdrop(self, name: str) -> Understanding:
        """What is taken when the user's own background is the scene: the prompt's scene,
        colour and light words are named among the words not used (the light comes from the
        background)."""
        words = list(dict.fromkeys(([self.scene_name] if self.scene.kind != "photo" else []) + list(self.light)))
        left_out = tuple(f"{w} (your background is the scene and sets the light)" for w in words)
        return replace(self, backdrop=name, light=("matched to your background",), colours=(),
                       unused=self.unused + left_out)

    def as_dict(self) -> dict:
        return {"actions": list(self.actions), "negated": list(self.negated), "scene": self.scene_name,
                "light": list(self.light), "unused": list(self.unused)}


def understand(prompt: str) -> Understanding:
    """The actions (asked and negated), scene, light and unused words of ``prompt``."""
    lowered = prompt.lower()
    text = " " + re.sub(r"[^a-z\- ]", " ", lowered) + " "  # one character for one: spans map back
    covered = [False] * len(text)
    found, negated, cuts = [], [], []
    for phrase, action in _surface_forms():
        if phrase not in text:  # most of the ~2000 forms are not in a prompt: compile only those that are
            continue
        for match in re.finditer(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", text):
            if any(covered[match.start():match.end()]):
                continue
            negation = NEGATED.search(lowered[:match.start() - 1])  # in the prompt itself: not across a comma
            if negation and covered[negation.start() + 1]:  # part of another action ("shakes her head no")
                negation = None
            start = match.start()
            (negated if negation else found).append((match.start(), action))
            if negation:
                start = negation.start() + 1
                cuts.append((start - 1, match.end() - 1))  # in the prompt, which lacks the leading space
            covered[start:match.end()] = [True] * (match.end() - start)
    other_sides = _the_other_side(text, found, covered)
    found += [(start, action) for start, _, action in other_sides]
    understood = scene_words(prompt) | FILLER
    words = re.finditer(r"[a-z][a-z\-]*", text)
    unused = [w.group() for w in words if not covered[w.start()] and w.group() not in understood]
    # the motion model is told the second side as a step of its own: "..., then turns to the right"
    edits = [(start, end, "") for start, end in cuts]
    edits += [(start - 1, end - 1, f", then {_step_phrase(action)}") for start, end, action in other_sides]
    motion_prompt = prompt
    for start, end, replacement in sorted(edits, reverse=True):
        motion_prompt = motion_prompt[:start] + replacement + motion_prompt[end:]
    if cuts and not found:  # only negated actions: what is left asks for nothing
        motion_prompt = ""
    return Understanding(_in_order(found), scene_from_text(prompt), " ".join(motion_prompt.split()),
                         _in_order(negated), tuple(backdrop_colours(prompt)), tuple(light_phrases(prompt)),
                         tuple(dict.fromkeys(unused)))


# "... left and right", "... to the left, then to the right": the second side of a sideways move
_OTHER_SIDE = re.compile(r"\s*(?:and\s+|then\s+|and\s+then\s+)+(?:to\s+)?(?:(?:the|his|her|their|its)\s+)?"
                         r"(left|right)(?![a-z])")
_SIDEWAYS = ("_left", "_right")
# "... left and right", "side to side", "up and down" after a shake or nod say how it swings
_SWING = re.compile(r"\s*(?:from\s+)?(?:left\s+(?:and|to)\s+right|right\s+(?:and|to)\s+left|side\s+to\s+side|"
                    r"up\s+and\s+down)(?![a-z])")


def _the_other_side(text: str, found: list[tuple[int, str]], covered: list[bool]) -> list[tuple[int, int, str]]:
    """(start, end, action) of what a sideways action's trailing "and right" asks for (the same
    move to that side), marked covered; after a shake or nod such a tail describes the swing,
    and is covered too."""
    added = []
    for start, action in list(found):
        end = start
        while end < len(text) and covered[end]:
            end += 1
        tail = _OTHER_SIDE.match(text, end) if action.endswith(_SIDEWAYS) else _SWING.match(text, end)
        if tail is None:
            continue
        covered[end:tail.end()] = [True] * (tail.end() - end)
        other = action.rsplit("_", 1)[0] + "_" + tail.group(1) if action.endswith(_SIDEWAYS) else action
        if other != action:
            added.append((end, tail.end(), other))
    return added


def _step_phrase(action: str) -> str:
    """The vocabulary's first phrase for ``action`` that needs no possessive, as a 3rd-person verb."""
    return conjugate(next(p for p in PHRASES[action] if "{pos}" not in p), "3sg")


def _in_order(found: list[tuple[int, str]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(action for _, action in sorted(found)))


@cache
def _surface_forms() -> list[tuple[str, str]]:
    """(phrase as it may appear, action) for every phrase of the vocabulary, in every verb form
    and possessive, longest first (so "turn her head to the left" wins over "turn")."""
    phrases = [(p, a) for a, ps in PHRASES.items() for p in ps]
    phrases += [(p, a) for (a, _), ps in SIZED_PHRASES.items() for p in ps]
    phrases += [(p, a) for a, ps in HELDOUT_PHRASES.items() for p in ps]
    forms = {(conjugate(p.replace("{pos}", s.pos), form), a)
             for (p, a), s, form in product(phrases, SUBJECTS, ("3sg", "plural", "gerund"))}
    forms |= {(clause, a) for a, pairs in CLAUSES.items() for pair in pairs for clause in pair}
    return sorted(forms, key=lambda f: (-len(f[0]), f))  # ties in a fixed order, whatever the hash seed

