"""Training objectives consistent with each backbone's sampling scheduler.

- Flow matching (Wan: UniPC with ``prediction_type="flow_prediction"``, or FlowMatchEuler):
  ``x_t = (1 - s) x0 + s eps`` (diffusers ``FlowMatchEulerDiscreteScheduler.scale_noise``:
  ``sigma * noise + (1 - sigma) * sample``), target ``eps - x0``: the Euler step
  ``x + (s_next - s) * v`` needs ``v = dx_t/ds = eps - x0``, and UniPC's ``flow_prediction``
  converts with ``x0 = x_t - s * v`` (``convert_model_output``), which gives the same ``v``.
  The transformer sees ``timestep = s * num_train_timesteps`` as in the samplers.
- v-prediction (CogVideoX's DDIM): ``scheduler.add_noise`` and ``scheduler.get_velocity``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def objective(scheduler) -> str:
    """'flow', 'v' or 'epsilon', from the scheduler's config."""
    cfg = scheduler.config
    if cfg.get("prediction_type") == "flow_prediction" or cfg.get("use_flow_sigmas") \
            or "FlowMatch" in type(scheduler).__name__:
        return "flow"
    if cfg.get("prediction_type") == "v_prediction":
        return "v"
    return "epsilon"


def sample_sigmas(batch: int, sampling: str, generator: torch.Generator) -> torch.Tensor:
    """(B,) flow times in (0, 1): uniform, or logit-normal (SD3's default, mean 0, std 1)."""
    if sampling == "logit_normal":
        return torch.sigmoid(torch.randn(batch, generator=generator))
    return torch.rand(batch, generator=generator).clamp(1e-4, 1.0 - 1e-4)


def noisy_inputs(scheduler, x0: torch.Tensor, sampling: str, generator: torch.Generator):
    """x0 (B, C, f, h, w) -> (x_t, timestep (B,), target) for the scheduler's objective."""
    b = x0.shape[0]
    noise = torch.randn(x0.shape, generator=generator).to(x0)
    kind = objective(scheduler)
    num_train = scheduler.config.num_train_timesteps
    if kind == "flow":
        sigma = sample_sigmas(b, sampling, generator).to(x0)
        s = sigma.view(b, 1, 1, 1, 1)
        return (1 - s) * x0 + s * noise, sigma * num_train, noise - x0
    t = torch.randint(0, num_train, (b,), generator=generator).to(x0.device)
    x_t = scheduler.add_noise(x0, noise, t)
    target = scheduler.get_velocity(x0, noise, t) if kind == "v" else noise
    return x_t, t, target


def diffusion_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error in float32."""
    return F.mse_loss(prediction.float(), target.float())
