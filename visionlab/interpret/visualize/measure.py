"""What each rendered image scores: its activation, that activation under random transforms, its high frequencies."""

from __future__ import annotations

import torch

from visionlab.interpret.objectives import Objective
from visionlab.interpret.visualize.transform import apply

HALF_NYQUIST = 0.25  # cycles per pixel


def high_frequency(images: torch.Tensor) -> torch.Tensor:
    """Per image of (N, 3, H, W): the share of spectral energy (each channel's mean removed) at a radial
    frequency above half the Nyquist frequency. White noise puts about 80 % there."""
    size_y, size_x = images.shape[-2:]
    power = torch.fft.fft2(images - images.mean(dim=(-2, -1), keepdim=True)).abs() ** 2
    radius = (torch.fft.fftfreq(size_y)[:, None] ** 2 + torch.fft.fftfreq(size_x)[None, :] ** 2).sqrt()
    high = power[..., radius.to(images.device) > HALF_NYQUIST].sum(dim=(-2, -1))
    return high / power.sum(dim=(-3, -2, -1)).clamp(min=1e-20)


def robust_activation(objective: Objective, images: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
    """Per image of (N, 3, H, W): the mean objective over its copies through each of ``maps`` (T, 2, 3)."""
    count, trials = images.shape[0], maps.shape[0]
    copies = apply(images.repeat_interleave(trials, dim=0), maps.repeat(count, 1, 1))
    with torch.no_grad():
        return objective(copies).view(count, trials).mean(dim=1)
