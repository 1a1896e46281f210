"""Classifier-free guidance with separate text and identity scales.

With u = no text and no identity, t = text only, f = text and identity:
    prediction = u + text_scale * (t - u) + identity_scale * (f - t)
A row is skipped when its scale is 1: with text_scale 1 the text-only row stands in for u
(pure identity guidance); with identity_scale 1 the full row stands in for t, which gives
plain classifier-free guidance u + text_scale * (f - u) on the fully conditioned row.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class GuidanceRow:
    text: bool
    identity: bool


FULL, TEXT_ONLY, UNCONDITIONAL = GuidanceRow(True, True), GuidanceRow(True, False), GuidanceRow(False, False)


def guidance_rows(text_scale: float, identity_scale: float) -> list[GuidanceRow]:
    """The batch rows one denoising step needs, the fully conditioned row first."""
    rows = [FULL]
    if identity_scale != 1.0:
        rows.append(TEXT_ONLY)
    if text_scale != 1.0:
        rows.append(UNCONDITIONAL)
    return rows


def combine(
    predictions: torch.Tensor, rows: list[GuidanceRow], text_scale: float, identity_scale: float
) -> torch.Tensor:
    """predictions (len(rows) * B, ...) in the order of ``rows`` -> guided (B, ...)."""
    by_row = dict(zip(rows, predictions.chunk(len(rows))))
    full = by_row[FULL]
    text_only = by_row.get(TEXT_ONLY, full)
    unconditional = by_row.get(UNCONDITIONAL, text_only)
    return unconditional + text_scale * (text_only - unconditional) + identity_scale * (full - text_only)
