"""Training objectives consistent with each backbone's sampling scheduler.

- Flow matching, velocity (Wan: UniPC with ``prediction_type="flow_prediction"``, or FlowMatchEuler):
  ``x_t = (1 - s) x0 + s eps`` (diffusers ``FlowMatchEulerDiscreteScheduler.scale_noise``:
  ``sigma * noise + (1 - sigma) * sample``), target ``eps - x0``: the Euler step
  ``x + (s_next - s) * v`` needs ``v = dx_t/ds = eps - x0``, and UniPC's ``flow_prediction``
  converts with ``x0 = x_t - s * v`` (``convert_model_output``), which gives the same ``v``.
- Flow matching, clean sample (UniPC with ``use_flow_sigmas`` and ``prediction_type="sample"``):
  the same ``x_t``, the model outputs ``x0``. The loss is the velocity loss written in ``x0``:
  ``|v_hat - v|^2 = |x0_hat - x0|^2 / s^2`` (s clamped at :data:`MIN_FLOW_SIGMA`), which trains
  from-scratch pixel-space models far better than predicting ``v`` directly; or, with uniform
  weighting, plain ``|x0_hat - x0|^2``.
- v-prediction (CogVideoX's DDIM): ``scheduler.add_noise`` and ``scheduler.get_velocity``.

In every flow case the transformer sees ``timestep = s * num_train_timesteps`` as in the samplers.

Randomness is per batch row (one generator each), so a row's noise does not depend on which
other rows share its batch: a 2-process run with batch 1 draws what a 1-process run with batch 2
draws, which the distributed-equivalence test relies on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

MIN_FLOW_SIGMA = 0.05


def objective(scheduler) -> str:
    """'flow', 'flow_x0', 'v' or 'epsilon', from the scheduler's config."""
    cfg = scheduler.config
    flow = cfg.get("use_flow_sigmas") or "FlowMatch" in type(scheduler).__name__
    if cfg.get("prediction_type") == "flow_prediction" or (flow and cfg.get("prediction_type") != "sample"):
        return "flow"
    if flow:
        return "flow_x0"
    if cfg.get("prediction_type") == "v_prediction":
        return "v"
    return "epsilon"


def row_generators(seed: int, step: int, rows: Sequence[int]) -> list[torch.Generator]:
    """One CPU generator per global batch row, seeded from (seed, step, row)."""
    generators = []
    for row in rows:
        state = np.random.SeedSequence([int(seed), int(step), int(row)]).generate_state(2, np.uint32)
        generators.append(torch.Generator().manual_seed(int(state[0]) << 31 | int(state[1]) >> 1))
    return generators


def row_randn(shape: Sequence[int], generators: Sequence[torch.Generator]) -> torch.Tensor:
    """(B, *shape[1:]) standard normal, row b drawn from ``generators[b]``."""
    return torch.stack([torch.randn(tuple(shape[1:]), generator=g) for g in generators])


def sample_sigmas(generators: Sequence[torch.Generator], sampling: str, logit_mean: float = 0.0,
                  logit_std: float = 1.0) -> torch.Tensor:
    """(B,) flow times in (0, 1): uniform, or logit-normal ``sigmoid(N(logit_mean, logit_std))``
    (SD3's default is mean 0, std 1; a positive mean trains more at high noise)."""
    if sampling == "logit_normal":
        return torch.sigmoid(logit_mean + logit_std * torch.cat([torch.randn(1, generator=g) for g in generators]))
    return torch.cat([torch.rand(1, generator=g) for g in generators]).clamp(1e-4, 1.0 - 1e-4)


@dataclass(frozen=True)
class NoisedBatch:
    """x_t (B, C, f, h, w); timestep (B,) as the transformer sees it; target like x_t;
    weight (B,) per-row loss weight; sigma (B,) flow time, or None for DDPM-style schedulers."""

    x_t: torch.Tensor
    timestep: torch.Tensor
    target: torch.Tensor
    weight: torch.Tensor
    sigma: torch.Tensor | None


def noisy_inputs(scheduler, x0: torch.Tensor, sampling: str, generators: Sequence[torch.Generator],
                 logit_mean: float = 0.0, logit_std: float = 1.0, x0_weighting: str = "velocity") -> NoisedBatch:
    """x0 (B, C, f, h, w) -> the noised batch and the target of the scheduler's objective
    (``x0_weighting``: "velocity" or "uniform" loss weights for clean-sample objectives)."""
    b = x0.shape[0]
    noise = row_randn(x0.shape, generators).to(x0)
    kind = objective(scheduler)
    num_train = scheduler.config.num_train_timesteps
    if kind in ("flow", "flow_x0"):
        sigma = sample_sigmas(generators, sampling, logit_mean, logit_std).to(x0)
        s = sigma.view(b, 1, 1, 1, 1)
        x_t = (1 - s) * x0 + s * noise
        if kind == "flow":
            return NoisedBatch(x_t, sigma * num_train, noise - x0, torch.ones_like(sigma), sigma)
        weight = sigma.clamp(min=MIN_FLOW_SIGMA) ** -2 if x0_weighting == "velocity" else torch.ones_like(sigma)
        return NoisedBatch(x_t, sigma * num_train, x0, weight, sigma)
    t = torch.cat([torch.randint(0, num_train, (1,), generator=g) for g in generators]).to(x0.device)
    x_t = scheduler.add_noise(x0, noise, t)
    target = scheduler.get_velocity(x0, noise, t) if kind == "v" else noise
    return NoisedBatch(x_t, t, target, torch.ones(b, device=x0.device), None)


def predicted_clean(scheduler, noised: NoisedBatch, prediction: torch.Tensor) -> torch.Tensor:
    """The model's estimate of x0 (B, C, f, h, w) from its output in the scheduler's objective."""
    kind = objective(scheduler)
    shape = (-1,) + (1,) * (prediction.ndim - 1)
    if kind == "flow":
        return noised.x_t - noised.sigma.view(shape) * prediction
    if kind == "flow_x0":
        return prediction
    alpha_bar = scheduler.alphas_cumprod.to(prediction.device)[noised.timestep].view(shape).to(prediction.dtype)
    if kind == "v":
        return alpha_bar.sqrt() * noised.x_t - (1 - alpha_bar).sqrt() * prediction
    return (noised.x_t - (1 - alpha_bar).sqrt() * prediction) / alpha_bar.sqrt()


def diffusion_loss(prediction: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
                   region: torch.Tensor | None = None) -> torch.Tensor:
    """Per-row weighted mean squared error, in float32 -> scalar. region: (B, 1, f, h, w)
    per-cell weights (:func:`face_region_weights`); each row's error is their weighted mean."""
    error = (prediction.float() - target.float()).square()
    if region is None:
        per_row = error.flatten(1).mean(1)
    else:
        region = region.float()
        per_row = (error.mean(1, keepdim=True) * region).flatten(1).sum(1) / region.flatten(1).sum(1)
    return per_row.mean() if weight is None else (per_row * weight.float()).mean()


def latent_frame_groups(num_frames: int, latent_frames: int) -> list[np.ndarray]:
    """Which video frames each latent frame stands for: one each when the counts match, else the
    causal video VAEs' grouping (Wan, CogVideoX): frame 0 alone, then equal runs of the rest."""
    if latent_frames == 1:
        return [np.arange(num_frames)]
    return [np.array([0])] + np.array_split(np.arange(1, num_frames), latent_frames - 1)


def face_region_weights(boxes: torch.Tensor, latent_shape: Sequence[int], face_weight: float) -> torch.Tensor:
    """boxes: (B, T, 4) x, y, w, h of each video frame's face as fractions of the frame (zero
    size: no face) -> (B, 1, f, h, w) weights: ``face_weight`` on latent cells that any face box
    of the latent frame's video frames overlaps, 1 elsewhere."""
    b, _, f, h, w = latent_shape
    boxes = boxes.float().cpu()
    weights = torch.ones(b, 1, f, h, w)
    ys, xs = torch.arange(h) / h, torch.arange(w) / w  # cell starts; cells end 1/h, 1/w later
    for k, frames in enumerate(latent_frame_groups(boxes.shape[1], f)):
        for box in boxes[:, torch.as_tensor(frames)].unbind(1):  # (B, 4) per video frame
            x0, y0, bw, bh = box.unbind(1)
            rows = (ys[None] + 1 / h > y0[:, None]) & (ys[None] < (y0 + bh)[:, None]) & (bh[:, None] > 0)
            cols = (xs[None] + 1 / w > x0[:, None]) & (xs[None] < (x0 + bw)[:, None]) & (bw[:, None] > 0)
            inside = rows[:, :, None] & cols[:, None, :]
            weights[:, 0, k][inside] = face_weight
    return weights


def token_similarity_loss(tokens: torch.Tensor, embeddings: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """tokens: (B, K, D) identity tokens; embeddings: (B, E) each row's reference embedding;
    weight: (B,) 1 for rows with identity -> mean squared difference between the rows' pairwise
    cosines of the tokens (pooled over K) and of the embeddings (0 for fewer than two rows with
    identity). Uncentred on purpose: tokens that share one large part for everybody have
    cosines near 1 and pay for it, however their small remainder is arranged."""
    rows = weight > 0
    if int(rows.sum()) < 2:
        return tokens.sum() * 0.0
    pooled = F.normalize(tokens[rows].float().mean(1), dim=-1)
    faces = F.normalize(embeddings[rows].float(), dim=-1)
    off_diagonal = ~torch.eye(len(pooled), dtype=torch.bool, device=pooled.device)
    return (pooled @ pooled.T - faces @ faces.T)[off_diagonal].square().mean()
