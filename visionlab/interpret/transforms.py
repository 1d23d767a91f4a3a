"""Small random shifts and rescales, to test whether an optimised image survives them."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class Jittered:
    images: torch.Tensor  # (N, 3, H, W)
    shifts: torch.Tensor  # (N, 2): (x, y) as fractions of the image size
    scales: torch.Tensor  # (N,): > 1 zooms in


def random_shift_rescale(
    image: torch.Tensor, count: int, max_shift: float, max_scale: float, generator: torch.Generator
) -> Jittered:
    """``count`` copies of ``image`` (1, 3, H, W), each shifted by up to ``max_shift`` of its size and
    rescaled by a factor in [1 - max_scale, 1 + max_scale]; borders are filled by reflection."""
    shifts = (torch.rand((count, 2), generator=generator) * 2 - 1) * max_shift
    scales = 1 + (torch.rand(count, generator=generator) * 2 - 1) * max_scale
    # affine_grid maps output to input coordinates in [-1, 1]: a zoom by s reads input at x / s,
    # and a shift of f image sizes is 2f in those coordinates.
    theta = torch.zeros((count, 2, 3))
    theta[:, 0, 0] = 1 / scales
    theta[:, 1, 1] = 1 / scales
    theta[:, :, 2] = -2 * shifts
    theta = theta.to(image.device, image.dtype)
    batch = image.expand(count, -1, -1, -1)
    grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
    moved = F.grid_sample(batch, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    return Jittered(images=moved.clamp(0, 1), shifts=shifts, scales=scales)
