"""What each rendered image scores: its activation, that activation under random transforms, its high frequencies."""

import torch

from visionlab.probe.objectives import Objective
from visionlab.visualize.transform import apply

HALF_NYQUIST = 0.25  # cycles per pixel
ROBUST_BATCH = 64  # transformed copies a forward pass (AlexNet at 224 px: about 2.7 MiB each)


def high_frequency(images: torch.Tensor) -> torch.Tensor:
    """Per image of (N, 3, H, W): the share of spectral energy (each channel's mean removed) at a radial
    frequency above half the Nyquist frequency. White noise puts about 80 % there."""
    size_y, size_x = images.shape[-2:]
    power = torch.fft.fft2(images - images.mean(dim=(-2, -1), keepdim=True)).abs() ** 2
    radius = (torch.fft.fftfreq(size_y)[:, None] ** 2 + torch.fft.fftfreq(size_x)[None, :] ** 2).sqrt()
    high = power[..., radius.to(images.device) > HALF_NYQUIST].sum(dim=(-2, -1))
    return high / power.sum(dim=(-3, -2, -1)).clamp(min=1e-20)


def robust_activation(objective: Objective, images: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
    """Per image of (N, 3, H, W): the mean objective over its copies through each of ``maps`` (T, 2, 3), about
    :data:`ROBUST_BATCH` copies a pass (at least one trial of every image), so memory does not grow with T."""
    count, trials = images.shape[0], maps.shape[0]
    step = max(1, ROBUST_BATCH // count)
    total = torch.zeros(count, device=images.device)
    with torch.no_grad():
        for chunk in maps.split(step):
            copies = apply(images.repeat_interleave(len(chunk), dim=0), chunk.repeat(count, 1, 1))
            total += objective(copies).view(count, len(chunk)).sum(dim=1)
    return total / trials
