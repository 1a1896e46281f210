"""What the tests of ported models share: the weight recipe the reference fixtures were made with
(``tests/fixtures/*/README.md`` quote it) and the tolerance they are held to."""

import torch

TOLERANCE = 1e-5  # float32, on CPU


def recipe_weights(shapes: dict, seed: int) -> dict:
    """Deterministic weights for a state dict's (name -> shape); same names and shapes give the same tensors."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name in sorted(shapes):
        shape = tuple(shapes[name])
        if name.endswith("num_batches_tracked"):
            out[name] = torch.zeros(shape, dtype=torch.long)
        elif name.endswith("running_var"):
            out[name] = torch.rand(shape, generator=g) + 0.5
        elif name.endswith("weight") and len(shape) >= 2:
            fan_in = 1
            for s in shape[1:]:
                fan_in *= s
            out[name] = torch.randn(shape, generator=g) / fan_in ** 0.5
        elif name.endswith("weight"):
            out[name] = 1 + 0.1 * torch.randn(shape, generator=g)
        else:
            out[name] = 0.1 * torch.randn(shape, generator=g)
    return out


def max_difference(ours: torch.Tensor, reference: torch.Tensor) -> float:
    assert ours.shape == reference.shape
    return float((ours - reference).abs().max())
