"""idvid's DECA coarse encoder and FLAME against DECA's own code on the same random weights.

``tests/fixtures/fantasyid_prior/`` holds what the reference ``decalib`` computed (its README says
how): the full-size encoder on recipe weights, and FLAME on a small made-up model in FLAME 2020's
layout (not FLAME data). float32, at most 1e-5 apart.
"""

import json
from pathlib import Path

import numpy as np
import torch
from reference_helpers import TOLERANCE, max_difference, recipe_weights
from safetensors.torch import load_file

from idvid.engines.fantasyid.deca import CODE_LAYOUT, DecaEncoder
from idvid.engines.fantasyid.flame import Flame, flame_arrays
from idvid.engines.fantasyid.safe_pickle import Sparse

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "fantasyid_prior"


def reference_flame() -> Flame:
    """The made-up FLAME-layout model the reference read (kept as arrays, its J_regressor as the
    COO triplets of the scipy matrix it was)."""
    with np.load(FIXTURES / "generic_model_tiny.npz") as arrays:
        model = {k: arrays[k] for k in arrays.files if not k.startswith("J_regressor")}
        model["J_regressor"] = Sparse(*(arrays[f"J_regressor_{k}"] for k in ("row", "col", "value")),
                                      tuple(int(n) for n in arrays["J_regressor_shape"]))
    return Flame(flame_arrays(model))


@torch.no_grad()
def test_deca_encoder_keys_and_output():
    reference_keys = json.loads((FIXTURES / "deca_keys.json").read_text())
    model = DecaEncoder()
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert list(shapes) == list(reference_keys) and all(shapes[k] == tuple(reference_keys[k]["shape"]) for k in shapes)
    model.load_state_dict(recipe_weights(shapes, 11), strict=True)
    data = load_file(FIXTURES / "deca.safetensors")
    code = model.eval()(data["input"])
    assert max_difference(torch.cat([code[name] for name, _ in CODE_LAYOUT], dim=1), data["output"]) <= TOLERANCE


@torch.no_grad()
def test_flame_vertices():
    data = load_file(FIXTURES / "flame.safetensors")
    ours = reference_flame()(data["shape_params"], data["expression_params"], data["pose_params"])
    assert max_difference(ours, data["vertices"]) <= TOLERANCE


@torch.no_grad()
def test_encoder_codes_through_flame():
    data = load_file(FIXTURES / "flame.safetensors")
    deca = load_file(FIXTURES / "deca.safetensors")
    code = dict(zip((name for name, _ in CODE_LAYOUT), deca["output"].split([n for _, n in CODE_LAYOUT], dim=1)))
    ours = reference_flame()(code["shape"], code["exp"], code["pose"])
    assert max_difference(ours, data["chain_vertices"]) <= TOLERANCE
