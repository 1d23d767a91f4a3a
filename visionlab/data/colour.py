"""The colour covariance of the training images, which feature visualisation decorrelates its colours with.

The stats stage writes it to ``data/colour.json`` (:class:`ColourStats`), a file apart from
``data/stats.json`` so that the train stages, which read that one, do not rerun for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np
from pydantic import Field

from visionlab.metrics.record import Count, Info

CHUNK = 1024  # images per float64 copy: bounded memory on the full 50,000
Row = Annotated[list[float], Field(min_length=3, max_length=3)]


@dataclass
class ColourStats(Info):
    covariance: Annotated[list[Row], Field(min_length=3, max_length=3)]  # red, green, blue; [0, 1] pixel units
    train_images: Count


def colour_covariance(images: np.ndarray) -> list[list[float]]:
    """The 3x3 covariance of the pixels' (red, green, blue) values of images (N, 3, H, W), in [0, 1] units."""
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"expected uint8 images (N, 3, H, W), got {images.dtype} {images.shape}")
    total, outer, count = np.zeros(3), np.zeros((3, 3)), 0
    for start in range(0, len(images), CHUNK):
        pixels = images[start : start + CHUNK].transpose(1, 0, 2, 3).reshape(3, -1).astype(np.float64) / 255
        total += pixels.sum(axis=1)
        outer += pixels @ pixels.T
        count += pixels.shape[1]
    mean = total / count
    return (outer / count - np.outer(mean, mean)).tolist()
