"""The starting image of every optimisation: seeded Gaussian noise around grey."""

from __future__ import annotations

import torch


def noise_image(size: int, mean: float, std: float, seed: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """A (1, 3, size, size) image of N(mean, std) pixels, clamped to [0, 1].

    Drawn on the CPU from its own generator so the same seed gives the same image on any device
    and regardless of what else consumed the global RNG.
    """
    generator = torch.Generator().manual_seed(seed)
    image = mean + std * torch.randn((1, 3, size, size), generator=generator)
    return image.clamp_(0, 1).to(device)
