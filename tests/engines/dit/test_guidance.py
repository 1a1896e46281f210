import pytest
import torch

from idvid.engines.dit.guidance import FULL, TEXT_ONLY, UNCONDITIONAL, combine, guidance_rows


@pytest.mark.parametrize(
    "text_scale, id_scale, expected",
    [(1.0, 1.0, [FULL]), (5.0, 1.0, [FULL, UNCONDITIONAL]), (1.0, 2.0, [FULL, TEXT_ONLY]),
     (5.0, 2.0, [FULL, TEXT_ONLY, UNCONDITIONAL])],
)
def test_rows_only_what_the_scales_need(text_scale, id_scale, expected):
    assert guidance_rows(text_scale, id_scale) == expected


def test_combine_matches_the_formula():
    full, text_only, uncond = torch.tensor([3.0]), torch.tensor([2.0]), torch.tensor([0.5])
    rows = [FULL, TEXT_ONLY, UNCONDITIONAL]
    guided = combine(torch.cat([full, text_only, uncond]), rows, text_scale=4.0, identity_scale=1.5)
    assert guided.item() == pytest.approx(0.5 + 4.0 * (2.0 - 0.5) + 1.5 * (3.0 - 2.0))


def test_dropped_rows_reduce_to_plain_cfg():
    full, uncond = torch.tensor([3.0]), torch.tensor([1.0])
    guided = combine(torch.cat([full, uncond]), [FULL, UNCONDITIONAL], text_scale=6.0, identity_scale=1.0)
    assert guided.item() == pytest.approx(1.0 + 6.0 * (3.0 - 1.0))
    only = combine(full, [FULL], text_scale=1.0, identity_scale=1.0)
    assert only.item() == 3.0
