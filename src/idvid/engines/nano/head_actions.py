"""The head-action vocabulary: what a prompt asks the head to do, read from its words.

This module is the single place that names head actions, their pose axis, direction and
size. The evaluation checks measured head poses against it (:mod:`idvid.engines.nano.motion_check`);
the motion model can use the same table to turn a prompt into a pose target.

Sign conventions follow :class:`idvid.face.HeadPose`:

- yaw > 0: the head turns to its own left (towards image right for a face looking at us);
- pitch > 0: the head tilts up (chin rises);
- roll > 0: the head tilts clockwise in the image, i.e. towards its own left shoulder.

"Left" and "right" in prompts are the subject's own (anatomical) sides: "she turns to her
left", "glances over his left shoulder" and "turns left" all mean yaw increases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class HeadAction(str, Enum):
    NONE = "none"
    TURN_LEFT = "turn_left"
    TURN_RIGHT = "turn_right"
    NOD = "nod"
    SHAKE = "shake"
    LOOK_UP = "look_up"
    LOOK_DOWN = "look_down"
    TILT_LEFT = "tilt_left"
    TILT_RIGHT = "tilt_right"


REACH_DEG = 10.0  # a turn / look / tilt must move the head this far from its first pose
OSCILLATION_DEG = 5.0  # each swing of a nod or shake must be at least this large


@dataclass(frozen=True)
class ActionSpec:
    """How one head action shows in the pose trajectory.

    axis: the HeadPose angle that moves ("yaw", "pitch" or "roll").
    kind: "reach" (the angle moves ``sign`` x at least ``degrees`` from the first frame) or
        "oscillate" (the angle swings back and forth, each swing >= ``degrees``).
    sign: +1 / -1 for reach actions (see the module's sign conventions), 0 for oscillations.
    """

    action: HeadAction
    axis: str
    kind: str
    sign: int
    degrees: float
    description: str


ACTIONS: dict[HeadAction, ActionSpec] = {
    spec.action: spec
    for spec in (
        ActionSpec(HeadAction.TURN_LEFT, "yaw", "reach", +1, REACH_DEG, "the head turns to its own left"),
        ActionSpec(HeadAction.TURN_RIGHT, "yaw", "reach", -1, REACH_DEG, "the head turns to its own right"),
        ActionSpec(HeadAction.LOOK_UP, "pitch", "reach", +1, REACH_DEG, "the head tilts up"),
        ActionSpec(HeadAction.LOOK_DOWN, "pitch", "reach", -1, REACH_DEG, "the head tilts down"),
        ActionSpec(HeadAction.TILT_LEFT, "roll", "reach", +1, REACH_DEG, "the head leans towards its left shoulder"),
        ActionSpec(HeadAction.TILT_RIGHT, "roll", "reach", -1, REACH_DEG, "the head leans towards its right shoulder"),
        ActionSpec(HeadAction.NOD, "pitch", "oscillate", 0, OSCILLATION_DEG, "the head nods: down, then up"),
        ActionSpec(HeadAction.SHAKE, "yaw", "oscillate", 0, OSCILLATION_DEG, "the head shakes: side to side"),
    )
}

# ---- phrases ---------------------------------------------------------------------------------
# Patterns run on the lower-cased prompt. A direction word must follow its verb within a few
# words; when two patterns end on the same direction word, the one whose verb is nearer wins
# ("turns and tilts her head to the left" is a tilt).

_POSS = r"(?:his|her|their|its|the|one's|my|your|a)"
_GAP = r"(?:\s+[\w']+){0,4}?"  # up to four words in between, as few as possible
_BODY = r"(?:hand|hands|arm|arms|leg|legs|foot|feet|knee|elbow|finger|fingers|palm|wrist|ear|eye|eyebrow|cheek|side\s+of)"
_LEFT = rf"(?:to\s+)?(?:{_POSS}\s+)?left(?:wards?)?\b(?!\s+{_BODY}\b)"
_RIGHT = (
    rf"(?:to\s+)?(?:{_POSS}\s+)?right(?:wards?)?\b"
    rf"(?!\s+(?:{_BODY}|now|away|there|here|at|into|in\s+front|through|before|after|then)\b)"
)
_TURN = (
    r"\b(?:turn|turns|turned|turning|look|looks|looked|looking|glanc\w*|gaz\w*|peek\w*|peer\w*|"
    r"swivel\w*|rotat\w*|whip\w*|twist\w*|face|faces|faced|facing)"
)
_TILT = r"\b(?:tilt\w*|cock|cocks|cocked|cocking|tip|tips|tipped|tipping|lean\w*|inclin\w*)"
_SEE = r"\b(?:look|looks|looked|looking|glanc\w*|gaz\w*|peer\w*|peek\w*|star\w*)"
_HEADWORD = rf"(?:{_POSS}\s+)?(?:head|chin|face|gaze|eyes)\b"

PHRASES: dict[HeadAction, tuple[str, ...]] = {
    HeadAction.TURN_LEFT: (rf"{_TURN}{_GAP}\s+{_LEFT}",),
    HeadAction.TURN_RIGHT: (rf"{_TURN}{_GAP}\s+{_RIGHT}",),
    HeadAction.TILT_LEFT: (rf"{_TILT}{_GAP}\s+{_LEFT}",),
    HeadAction.TILT_RIGHT: (rf"{_TILT}{_GAP}\s+{_RIGHT}",),
    HeadAction.LOOK_UP: (
        rf"{_SEE}(?:\s+(?:straight|directly|slowly|briefly|\w+ly))?\s+(?:up|upward|upwards|skyward|skywards|heavenward)\b",
        rf"{_SEE}\s+(?:at|to|towards?|into)\s+(?:the\s+)?(?:sky|ceiling|stars|clouds|sun|moon|heavens)\b",
        rf"\b(?:rais|lift)\w*\s+{_HEADWORD}",
        rf"{_TILT}\s+{_HEADWORD}\s+(?:up|upward|upwards|back|backwards?)\b",
        rf"\b(?:throw|throws|threw|throwing|tilts?)\s+{_HEADWORD}\s+back\b",
        r"\bchin\s+(?:up|raised|lifted)\b",
    ),
    HeadAction.LOOK_DOWN: (
        rf"{_SEE}(?:\s+(?:straight|directly|slowly|briefly|\w+ly))?\s+(?:down|downward|downwards)\b",
        rf"{_SEE}\s+(?:at|to|towards?)\s+(?:the\s+|{_POSS}\s+)?(?:floor|ground|feet|lap|shoes)\b",
        rf"\b(?:lower|lowers|lowered|lowering|bow|bows|bowed|bowing|drop|drops|dropped|dropping|hang|hangs|hung|hanging|duck|ducks|ducked|ducking)\s+{_HEADWORD}",
        rf"{_TILT}\s+{_HEADWORD}\s+(?:down|downward|downwards|forward|forwards)\b",
        r"\bhead\s+(?:bowed|lowered|down)\b",
    ),
    HeadAction.NOD: (
        r"\bnod(?:s|ded|ding)?\b",
        rf"\bbob(?:s|bed|bing)?\s+{_HEADWORD}",
    ),
    HeadAction.SHAKE: (
        rf"\b(?:shake|shakes|shook|shaking)\s+{_HEADWORD}",
        r"\bhead\s*-?\s*shak\w*\b",
    ),
}

_COMPILED = {action: tuple(re.compile(p) for p in patterns) for action, patterns in PHRASES.items()}


def classify_actions(prompt: str) -> list[HeadAction]:
    """Every head action a prompt asks for, in the order they appear (each once).

    An empty list means no head action (:data:`HeadAction.NONE`).
    """
    text = " ".join(str(prompt).lower().replace("\u2019", "'").split())
    matches = []  # (start, end, action)
    for action, patterns in _COMPILED.items():
        for pattern in patterns:
            matches.extend((m.start(), m.end(), action) for m in pattern.finditer(text))
    # Two directional matches ending on the same word: keep the one whose verb is nearest.
    by_end: dict[int, tuple[int, int, HeadAction]] = {}
    for start, end, action in matches:
        if end not in by_end or start > by_end[end][0]:
            by_end[end] = (start, end, action)
    ordered: list[HeadAction] = []
    for _, _, action in sorted(by_end.values()):
        if action not in ordered:
            ordered.append(action)
    return ordered


def classify_action(prompt: str) -> HeadAction:
    """The first head action in the prompt, or :data:`HeadAction.NONE`."""
    actions = classify_actions(prompt)
    return actions[0] if actions else HeadAction.NONE
