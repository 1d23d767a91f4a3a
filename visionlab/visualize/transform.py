"""Seeded random transformations of a batch, ours (not Lucent's ``standard_transforms``: docs/visualize.md,
"Transforms"): per image, a uniform whole-pixel shift of -shift..shift per axis, a uniform scale and rotation about the
centre, then a shift of -jitter..jitter, as one resampling at the image's own size (the seed's CNN takes exactly 32 px);
grey (0.5) comes in from outside, so every result stays in [0, 1]."""

import math

import torch
import torch.nn.functional as F

from visionlab.visualize.params import TransformParams

FILL = 0.5


def draw(count: int, settings: TransformParams, size: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` random affine maps (count, 2, 3) in ``affine_grid``'s coordinates, drawn from ``generator``."""

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(count, generator=generator)

    def shift(pixels: int) -> torch.Tensor:  # whole pixels, as Lucent's, in [-1, 1] coordinates
        return torch.randint(-pixels, pixels + 1, (count, 2), generator=generator) * (2 / size)

    first, scale = shift(settings.shift), uniform(settings.scale_min, settings.scale_max)
    angle = uniform(-settings.rotate, settings.rotate) * (math.pi / 180)
    second = shift(settings.jitter)
    # Content at x moves to y = s R (x + t1) + t2; affine_grid wants the inverse, x = (R^T y - R^T t2) / s - t1.
    cos, sin = angle.cos() / scale, angle.sin() / scale
    inverse = torch.stack([torch.stack([cos, sin], 1), torch.stack([-sin, cos], 1)], 1)  # R^T / s
    offset = -(inverse @ second[:, :, None])[:, :, 0] - first
    return torch.cat([inverse, offset[:, :, None]], dim=2)


def apply(images: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
    """Image i of (N, 3, H, W) through map i of (N, 2, 3); outside the image reads as grey."""
    grid = F.affine_grid(maps.to(images), list(images.shape), align_corners=False)
    moved = F.grid_sample(images - FILL, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return moved + FILL


def random_transform(images: torch.Tensor, settings: TransformParams, generator: torch.Generator) -> torch.Tensor:
    """Each image of the batch through its own random draw."""
    return apply(images, draw(images.shape[0], settings, images.shape[-1], generator))
