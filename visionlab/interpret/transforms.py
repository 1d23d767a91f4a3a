"""Small random shifts and rescales, to test whether an optimised image survives them."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class Jittered:
    images: torch.Tensor  # (N, 3, H, W)
    shifts: torch.Tensor  # (N, 2): (x, y) as fractions of the image size, positive = right / down
    scales: torch.Tensor  # (N,): > 1 zooms in


def shift_rescale(image: torch.Tensor, shifts: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """Copies of ``image`` (1, C, H, W) zoomed by ``scales`` about the centre, then moved by ``shifts``;
    borders are filled by reflection."""
    count = shifts.shape[0]
    # affine_grid maps output to input coordinates in [-1, 1]: a zoom by s reads the input at x / s,
    # and a move of f image sizes is 2f in those coordinates (read from the opposite side).
    theta = torch.zeros((count, 2, 3), dtype=image.dtype)
    theta[:, 0, 0] = 1 / scales
    theta[:, 1, 1] = 1 / scales
    theta[:, :, 2] = -2 * shifts
    theta = theta.to(image.device)
    batch = image.expand(count, -1, -1, -1)
    grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
    moved = F.grid_sample(batch, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    return moved.clamp(0, 1)


def random_shift_rescale(
    image: torch.Tensor, count: int, max_shift: float, max_scale: float, generator: torch.Generator
) -> Jittered:
    """``count`` copies of ``image``, each shifted by up to ``max_shift`` of its size in x and y and
    rescaled by a factor in [1 - max_scale, 1 + max_scale], drawn from ``generator``."""
    shifts = (torch.rand((count, 2), generator=generator) * 2 - 1) * max_shift
    scales = 1 + (torch.rand(count, generator=generator) * 2 - 1) * max_scale
    return Jittered(images=shift_rescale(image, shifts, scales), shifts=shifts, scales=scales)
